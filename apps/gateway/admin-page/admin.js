// The live calls page: polls the admin API every second (the session cookie set at
// sign-in authenticates it) and shows each call's legs and media health.
(function () {
  const $ = (id) => document.getElementById(id);
  const DIRS = ['browser->gateway', 'gateway->trunk', 'trunk->gateway', 'gateway->browser'];

  function text(tag, content, cls) {
    const el = document.createElement(tag);
    el.textContent = content;
    if (cls) el.className = cls;
    return el;
  }

  /** One leg's figures: in = what the gateway received from it, out = what it sent it. */
  function legCell(call, kind) {
    const inDir = kind === 'browser' ? 'browser->gateway' : 'trunk->gateway';
    const outDir = kind === 'browser' ? 'gateway->browser' : 'gateway->trunk';
    const d = call.media.directions;
    const leg = call.legs.find((l) => l.kind === kind) || {};
    const td = document.createElement('td');
    td.className = 'leg';
    td.dataset.leg = kind;
    td.append(
      text('div', (leg.transport || '-') + ' ' + (leg.peer || '') + (leg.sdpDirection && leg.sdpDirection !== 'sendrecv' ? ' (' + leg.sdpDirection + ')' : '')),
      text('div', 'in ' + d[inDir].packets + ' pkts, lost ' + (d[inDir].lost || 0) + ', jitter ' + (d[inDir].jitterMs || 0) + ' ms', 'in'),
      text('div', 'out ' + d[outDir].packets + ' pkts', 'out'),
    );
    if (kind === 'browser') {
      const w = call.media.webrtc;
      td.append(text('div', 'ICE ' + w.ice + ', DTLS ' + w.dtls + (w.srtpProfile ? ' (' + w.srtpProfile + ')' : '')));
    }
    return td;
  }

  function row(call) {
    const tr = document.createElement('tr');
    tr.dataset.callId = call.id;
    tr.append(
      text('td', call.id.slice(0, 8)),
      text('td', call.state, 'state'),
      text('td', call.from + ' → ' + call.to),
      text('td', call.trunk || '-'),
      text('td', call.durationSeconds.toFixed(0) + ' s', 'duration'),
      legCell(call, 'browser'),
      legCell(call, 'trunk'),
    );
    const health = document.createElement('td');
    health.append(text('span', call.media.health, 'health ' + call.media.health));
    for (const s of call.media.silent) health.append(text('div', s.direction + ' silent ' + (s.silentMs / 1000).toFixed(1) + ' s', 'silent'));
    tr.append(health);
    return tr;
  }

  async function refresh() {
    try {
      const [calls, trunks, ready] = await Promise.all([
        fetch('/api/v1/calls').then((r) => { if (r.status === 401) location.reload(); return r.json(); }),
        fetch('/api/v1/trunks').then((r) => r.json()),
        fetch('/readyz').then((r) => r.json()),
      ]);
      const body = $('calls').tBodies[0];
      body.replaceChildren(...calls.calls.map(row));
      $('calls').hidden = calls.calls.length === 0;
      $('empty').hidden = calls.calls.length > 0;
      $('count').textContent = String(calls.calls.length);
      $('trunks').replaceChildren(...trunks.trunks.map((t) => text('li', t.name + ' ' + t.address + ':' + t.port + ' ' + t.transport + ': ' + t.state + (t.registration ? ', ' + t.registration : '') + ', ' + t.activeCalls + ' calls')));
      $('readiness').textContent = ready.status;
      $('readiness').className = 'pill ' + ready.status;
      $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      window.adminPage = { calls: calls.calls, updatedAt: Date.now(), directions: DIRS };
    } catch (e) {
      $('updated').textContent = 'update failed: ' + e;
    }
  }
  refresh();
  setInterval(refresh, 1000);
})();
