// Demo softphone: registers with the gateway over WebSocket and calls through it.
// Exposes window.softphone for automated tests (state, last stats).
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = { registered: false, callState: 'idle', ended: null, session: null, incoming: 0 };
  window.softphone = state;

  function log(msg) {
    const line = new Date().toISOString().slice(11, 23) + ' ' + msg + '\n';
    $('log').textContent += line;
    $('log').scrollTop = $('log').scrollHeight;
  }
  function setStatus(s) { state.callState = s; $('status').textContent = s; }

  let ua = null;
  let cfg = null;

  function attachMedia(session) {
    const pc = session.connection;
    if (!pc) return;
    pc.addEventListener('track', (ev) => { $('remote').srcObject = ev.streams[0] || new MediaStream([ev.track]); });
  }

  function wireSession(session) {
    state.session = session;
    state.ended = null;
    $('hangup').disabled = false;
    session.on('peerconnection', () => attachMedia(session));
    session.on('progress', () => setStatus('ringing'));
    session.on('accepted', () => setStatus('answered'));
    session.on('confirmed', () => { setStatus('in call'); attachMedia(session); });
    session.on('ended', (e) => { state.ended = { cause: e.cause, originator: e.originator }; setStatus('ended: ' + e.cause); done(); });
    session.on('failed', (e) => { state.ended = { cause: e.cause, originator: e.originator, status: e.message && e.message.status_code }; setStatus('failed: ' + e.cause); done(); });
  }
  function done() {
    $('hangup').disabled = true;
    $('answer').disabled = true;
  }

  function register() {
    if (ua) ua.stop();
    const user = $('user').value.trim();
    const uri = 'sip:' + user + '@' + cfg.domain;
    ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(cfg.wsUrl)],
      uri,
      password: $('password').value,
      register: true,
      session_timers: false,
    });
    ua.on('registered', () => { state.registered = true; log('registered as ' + uri); setStatus('registered'); $('call').disabled = false; });
    ua.on('registrationFailed', (e) => { state.registered = false; log('registration failed: ' + e.cause); setStatus('registration failed: ' + e.cause); });
    ua.on('disconnected', () => log('websocket disconnected'));
    ua.on('newRTCSession', (e) => {
      if (e.originator !== 'remote') return;
      state.incoming++;
      const session = e.session;
      log('incoming call from ' + session.remote_identity.uri.toString());
      wireSession(session);
      setStatus('incoming call');
      // reject=486 (any 4xx-6xx): a busy agent, for tests and demos of the failure path.
      const reject = Number(params.get('reject'));
      if (reject >= 400 && reject < 700) session.terminate({ status_code: reject });
      else if ($('autoanswer').checked) session.answer({ mediaConstraints: { audio: true, video: false } });
      else $('answer').disabled = false;
    });
    ua.start();
  }

  function call() {
    const target = $('target').value.trim();
    const session = ua.call('sip:' + target + '@' + cfg.domain, {
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' },
    });
    wireSession(session);
    attachMedia(session);
    setStatus('calling ' + target);
    log('calling ' + target);
  }

  $('register').onclick = register;
  $('call').onclick = call;
  $('answer').onclick = () => { if (state.session) state.session.answer({ mediaConstraints: { audio: true, video: false } }); $('answer').disabled = true; };
  $('hangup').onclick = () => { if (state.session && !state.session.isEnded()) state.session.terminate(); };

  /** Packets received/sent by the current call's peer connection (for tests and curious users). */
  state.stats = async function () {
    const pc = state.session && state.session.connection;
    if (!pc) return null;
    const out = { packetsReceived: 0, packetsSent: 0, dtlsState: null };
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') out.packetsReceived += r.packetsReceived;
      if (r.type === 'outbound-rtp' && r.kind === 'audio') out.packetsSent += r.packetsSent;
      if (r.type === 'transport') out.dtlsState = r.dtlsState;
    });
    return out;
  };

  fetch('/config.json').then((r) => r.json()).then((c) => {
    cfg = c;
    $('user').value = params.get('user') || c.demoUser || '';
    $('password').value = params.get('password') || c.demoPassword || '';
    if (params.get('target')) $('target').value = params.get('target');
    if (params.get('autoanswer')) $('autoanswer').checked = true;
    setStatus('ready: ' + c.wsUrl);
    if (params.get('register') !== '0') register();
  }).catch((e) => setStatus('cannot load config: ' + e));
})();
