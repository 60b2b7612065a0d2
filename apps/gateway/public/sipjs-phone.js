// The demo softphone on SIP.js 0.21's SimpleUser: registers over WebSocket, calls or
// answers (?autoanswer=1), holds by re-INVITE, sends DTMF as SIP INFO. Query: user,
// password, target, autoanswer. Exposes window.sipjsPhone for automated tests.
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = { registered: false, callState: 'idle', holds: [], dtmfIn: [], user: null };
  window.sipjsPhone = state;
  function log(msg) { $('log').textContent += new Date().toISOString().slice(11, 23) + ' ' + msg + '\n'; }
  function setStatus(s) { state.callState = s; $('status').textContent = s; log(s); }

  fetch('/config.json').then((r) => r.json()).then((cfg) => {
    const user = params.get('user') || cfg.demoUser;
    const password = params.get('password') || cfg.demoPassword;
    if (params.get('target')) $('target').value = params.get('target');
    const su = new SIP.Web.SimpleUser(cfg.wsUrl, {
      aor: 'sip:' + user + '@' + cfg.domain,
      media: { constraints: { audio: true, video: false }, remote: { audio: $('remote') } },
      userAgentOptions: {
        // SIP.js's warnings and errors go to the page's log (what went wrong, for users and tests).
        logBuiltinEnabled: false,
        logConnector: (level, category, label, content) => { if (level === 'error' || level === 'warn') log(level + ' ' + category + ': ' + content); },
        authorizationUsername: user,
        authorizationPassword: password,
        sessionDescriptionHandlerFactoryOptions: {
          peerConnectionConfiguration: { iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' },
          iceGatheringTimeout: 500,
        },
      },
      delegate: {
        onRegistered: () => { state.registered = true; setStatus('registered'); },
        onCallReceived: () => {
          setStatus('incoming call');
          if (params.get('autoanswer')) su.answer().catch((e) => setStatus('answer failed: ' + e));
        },
        onCallAnswered: () => setStatus('in call'),
        onCallHangup: () => setStatus('ended'),
        onCallHold: (held) => { state.holds.push(held ? 'hold' : 'unhold'); log(held ? 'on hold' : 'resumed'); },
        onCallDTMFReceived: (tone, duration) => { state.dtmfIn.push({ tone, duration }); log('DTMF ' + tone); },
      },
    });
    state.user = su;
    state.call = () => su.call('sip:' + $('target').value.trim() + '@' + cfg.domain);
    state.hangup = () => su.hangup();
    state.hold = () => su.hold();
    state.unhold = () => su.unhold();
    state.dtmf = (tone) => su.sendDTMF(tone);
    state.stats = async () => {
      const pc = su.session && su.session.sessionDescriptionHandler && su.session.sessionDescriptionHandler.peerConnection;
      if (!pc) return null;
      const out = { packetsReceived: 0, packetsSent: 0, dtlsState: null };
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') out.packetsReceived += r.packetsReceived;
        if (r.type === 'outbound-rtp' && r.kind === 'audio') out.packetsSent += r.packetsSent;
        if (r.type === 'transport') out.dtlsState = r.dtlsState;
      });
      return out;
    };
    $('call').onclick = () => { state.call().catch((e) => setStatus('call failed: ' + e)); setStatus('calling'); };
    $('hangup').onclick = () => state.hangup().catch(() => undefined);
    $('hold').onclick = () => state.hold().catch((e) => log('hold failed: ' + e));
    $('resume').onclick = () => state.unhold().catch((e) => log('resume failed: ' + e));
    $('send-dtmf').onclick = () => state.dtmf($('dtmf').value).catch((e) => log('DTMF failed: ' + e));
    return su.connect().then(() => su.register());
  }).catch((e) => setStatus('failed: ' + e));
})();
