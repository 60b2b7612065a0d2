// Demo softphone: registers with the gateway over WebSocket and calls through it, with
// hold, DTMF and blind transfer. JsSIP runs with its default settings (session timers
// on: it refreshes the call with an UPDATE at half the interval). Exposes
// window.softphone for automated tests (state, events, actions, last stats).
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = {
    registered: false, callState: 'idle', ended: null, session: null, incoming: 0,
    /** 'hold'/'unhold' events of the current call, each with who did it (local/remote). */
    holds: [],
    /** NOTIFY progress of the last transfer (sipfrag status lines, RFC 3515/3420). */
    refer: [],
    /** DTMF the far end sent as SIP INFO: tone and duration (ms). */
    dtmfIn: [],
  };
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

  // What a person wants to see during a call: how long it lasts, whether sound goes out
  // and comes in (level meters), packets and loss both ways, and how it is encrypted.
  // Read from getStats() four times a second while a call is up.
  let meterTimer = null;
  let confirmedAt = 0;
  function startMeters() {
    confirmedAt = Date.now();
    $('media').hidden = false;
    if (!meterTimer) meterTimer = setInterval(updateMeters, 250);
  }
  function stopMeters() {
    if (meterTimer) clearInterval(meterTimer);
    meterTimer = null;
  }
  async function updateMeters() {
    const m = await state.stats();
    if (!m) return;
    state.media = m;
    const secs = Math.floor((Date.now() - confirmedAt) / 1000);
    $('duration').textContent = String(Math.floor(secs / 60)).padStart(2, '0') + ':' + String(secs % 60).padStart(2, '0');
    $('level-out').value = m.inputLevel;
    $('level-out-value').textContent = m.inputLevel.toFixed(2);
    $('level-in').value = m.outputLevel;
    $('level-in-value').textContent = m.outputLevel.toFixed(2);
    $('packets-sent').textContent = String(m.packetsSent);
    $('packets-received').textContent = String(m.packetsReceived);
    $('lost-in').textContent = String(m.packetsLost);
    $('lost-out').textContent = m.remotePacketsLost === null ? '-' : String(m.remotePacketsLost);
    // getStats() gives the DTLS version as the record's hex code (FEFD is DTLS 1.2).
    const dtls = { FEFD: '1.2', FEFF: '1.0', FEFC: '1.3' }[String(m.tlsVersion).toUpperCase()] || m.tlsVersion;
    $('crypto').textContent = m.dtlsState === 'connected'
      ? ['DTLS' + (dtls ? ' ' + dtls : ''), m.dtlsCipher, m.srtpCipher || 'SRTP ?'].filter(Boolean).join(', ')
      : 'DTLS ' + (m.dtlsState || 'new');
  }

  function wireSession(session) {
    state.session = session;
    state.ended = null;
    $('hangup').disabled = false;
    session.on('peerconnection', () => attachMedia(session));
    session.on('progress', () => setStatus('ringing'));
    session.on('accepted', () => setStatus('answered'));
    session.on('confirmed', () => { setStatus('in call'); attachMedia(session); startMeters(); });
    session.on('newDTMF', (e) => { if (e.originator === 'remote') { state.dtmfIn.push({ tone: e.dtmf.tone, duration: e.dtmf.duration }); log('DTMF ' + e.dtmf.tone); } });
    session.on('hold', (e) => { state.holds.push({ type: 'hold', originator: e.originator, at: Date.now() }); log('on hold (' + e.originator + ')'); });
    session.on('unhold', (e) => { state.holds.push({ type: 'unhold', originator: e.originator, at: Date.now() }); log('resumed (' + e.originator + ')'); });
    session.on('ended', (e) => { state.ended = { cause: e.cause, originator: e.originator }; setStatus('ended: ' + e.cause); done(); });
    session.on('failed', (e) => { state.ended = { cause: e.cause, originator: e.originator, status: e.message && e.message.status_code }; setStatus('failed: ' + e.cause); done(); });
  }
  function done() {
    stopMeters();
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
  $('hold').onclick = () => { state.hold().then(() => log('hold done'), (e) => log('hold failed: ' + e)); };
  $('resume').onclick = () => { state.unhold().then(() => log('resume done'), (e) => log('resume failed: ' + e)); };
  $('send-dtmf').onclick = () => { state.dtmf($('dtmf').value); };
  $('transfer').onclick = () => { state.transfer($('transfer-to').value.trim()); };

  /** Hold by re-INVITE (or UPDATE with useUpdate); resolves when the far end accepted. */
  state.hold = (useUpdate = false) => new Promise((resolve, reject) => {
    const s = state.session;
    if (!s || !s.hold({ useUpdate }, resolve)) reject(new Error('cannot hold now'));
  });
  state.unhold = (useUpdate = false) => new Promise((resolve, reject) => {
    const s = state.session;
    if (!s || !s.unhold({ useUpdate }, resolve)) reject(new Error('cannot resume now'));
  });
  /** DTMF tones: SIP INFO by default (JsSIP's), or RFC 4733 with transportType 'RFC2833'. */
  state.dtmf = (tones, options = {}) => {
    if (state.session && tones) state.session.sendDTMF(tones, { duration: 160, interToneGap: 100, ...options });
  };
  /** Blind transfer (REFER, RFC 3515): NOTIFY progress lands in state.refer. */
  state.transfer = (target) => {
    if (!state.session || !target) return;
    state.refer = [];
    const note = (what) => (e) => { state.refer.push({ what, status: e && e.status_line ? e.status_line.status_code : undefined }); log('transfer ' + what); };
    state.session.refer('sip:' + target + '@' + cfg.domain, {
      eventHandlers: { requestSucceeded: note('accepted'), requestFailed: note('refused'), trying: note('trying'), progress: note('progress'), accepted: note('connected'), failed: note('failed') },
    });
  };

  /**
   * The current call's media as getStats() reports it: packets both ways, loss (ours of
   * what arrives; the far end's of what we send, from its RTCP reports), audio levels
   * (0..1) of the microphone and of what is played, and the DTLS/SRTP suite.
   */
  state.stats = async function () {
    const pc = state.session && state.session.connection;
    if (!pc) return null;
    const out = {
      packetsReceived: 0, packetsSent: 0, packetsLost: 0, remotePacketsLost: null,
      inputLevel: 0, outputLevel: 0, dtlsState: null, tlsVersion: null, dtlsCipher: null, srtpCipher: null,
    };
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        out.packetsReceived += r.packetsReceived;
        out.packetsLost += r.packetsLost || 0;
        out.outputLevel = r.audioLevel || 0;
      }
      if (r.type === 'outbound-rtp' && r.kind === 'audio') out.packetsSent += r.packetsSent;
      if (r.type === 'remote-inbound-rtp' && r.kind === 'audio') out.remotePacketsLost = r.packetsLost || 0;
      if (r.type === 'media-source' && r.kind === 'audio') out.inputLevel = r.audioLevel || 0;
      if (r.type === 'transport') {
        out.dtlsState = r.dtlsState;
        out.tlsVersion = r.tlsVersion || null;
        out.dtlsCipher = r.dtlsCipher || null;
        out.srtpCipher = r.srtpCipher || null;
      }
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
