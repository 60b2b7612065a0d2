// Issue 2 acceptance 5: JsSIP (the browser library, run in Node over `ws`, with
// werift as its RTCPeerConnection) against the libs/sip UAS example over WebSocket
// (RFC 7118): REGISTER with digest (RFC 3261 §22), INVITE/200/ACK, BYE.
// Signalling only: the example answers with a valid SDP, no media flows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadJsSIP, nextEvent as once } from './jssip-node.js';
import { startUas, type UasProcess } from './uas-process.js';

const JsSIP = loadJsSIP();
type JsSipUA = InstanceType<typeof JsSIP.UA>;

describe('JsSIP over WebSocket -> libs/sip UAS example', { timeout: 40_000 }, () => {
  let uas: UasProcess;
  let ua: JsSipUA | undefined;
  before(async () => {
    // JsSIP 3.13 answers MD5 only, and of several WWW-Authenticate headers it keeps the
    // last (its parser overwrites): the RFC 8760 order, SHA-256 then MD5, suits it.
    uas = await startUas(['--ws', '0', '--auth', 'alice:wonderland', '--realm', 'trapezoid.test',
      '--auth-algorithms', 'SHA-256,MD5']);
  });
  after(async () => {
    if (ua && ua.isConnected()) {
      const gone = once(ua, 'disconnected').catch(() => undefined);
      ua.stop();
      await gone;
    }
    await uas.stop();
  });

  it('registers with digest, calls (confirmed), hangs up (ended)', async () => {
    const socket = new JsSIP.WebSocketInterface(`ws://127.0.0.1:${uas.port('ws')}`);
    ua = new JsSIP.UA({
      sockets: [socket], uri: 'sip:alice@trapezoid.test', password: 'wonderland', register: true,
      user_agent: 'JsSIP in Node (trapezoid test)',
    });
    const registered = once(ua, 'registered', 'registrationFailed');
    ua.start();
    await registered;

    const session = ua.call('sip:bob@trapezoid.test', {
      mediaConstraints: { audio: false, video: false },
      eventHandlers: {
        // Without a track or transceiver the offer has no m-line; a browser would add a mic.
        peerconnection: (e: { peerconnection: { addTransceiver(kind: string, init: object): unknown } }) => {
          e.peerconnection.addTransceiver('audio', { direction: 'sendrecv' });
        },
      },
    });
    await once(session, 'confirmed', 'failed');
    const ended = once(session, 'ended', 'failed');
    session.terminate();
    await ended;

    const unregistered = once(ua, 'unregistered');
    ua.unregister();
    await unregistered;

    const s = await uas.stats();
    assert.ok(s.challenged >= 2, 'REGISTER and INVITE were challenged first');
    assert.ok((s.authenticated.MD5 ?? 0) >= 2 && !s.authenticated['SHA-256'], 'JsSIP answered with MD5');
    assert.ok(s.wire.REGISTER! >= 3, 'REGISTER, REGISTER with credentials, un-REGISTER');
    assert.equal(s.answered, 1);
    assert.equal(s.acks, 1, 'the UAS saw the ACK for its 200');
    assert.equal(s.byes, 1, 'the UAS saw the BYE');
    for (const m of ['REGISTER', 'INVITE', 'ACK', 'BYE']) assert.ok((s.wire[m] ?? 0) > 0, `UAS saw ${m}`);
    assert.equal(s.ua.dialogs, 0);
  });
});
