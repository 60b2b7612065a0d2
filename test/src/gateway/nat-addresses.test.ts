// Issue 9 item 8 acceptance: NAT and addresses. A UDP listener bound to 0.0.0.0 that
// advertises 127.0.20.30 puts that address in Via sent-by and Contact (SIPp's BYE
// then reaches the gateway through it); separate media interfaces put the browser
// side's address in the SDP toward the browser (127.0.20.31) and the trunk side's
// advertised address in the SDP toward the trunk (127.0.20.32), and RTP still flows
// both ways (JsSIP + werift in Node as the browser, SIPp -rtp_echo as the trunk).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RtpHeader, RtpPacket, type MediaStreamTrack, type RTCPeerConnection } from 'werift';
import { freePort, startSipp } from '../sip/sipp.js';
import { nextEvent } from '../sip/jssip-node.js';
import { CALLER, DOMAIN, GATEWAY_SCENARIOS, callEnd, sleep } from './harness.js';
import { TestRig } from './trunk-harness.js';

const PORTS = { min: 12700, max: 12799 };
const SIGNAL = '127.0.20.30';
const BROWSER_SIDE = '127.0.20.31';
const TRUNK_SIDE = '127.0.20.32';

describe('listeners[].advertise and media interfaces', { timeout: 120_000 }, () => {
  const rig = new TestRig();
  after(() => rig.tearDown());

  it('Via and Contact carry the advertised address; the browser SDP names the public side, the trunk SDP the private one; RTP both ways', { timeout: 90_000 }, () => rig.run(async () => {
    const trunkPort = await freePort();
    const sipp = rig.own(await startSipp({ port: trunkPort, args: ['-sf', join(GATEWAY_SCENARIOS, 'uas-bye-after-answer.xml'), '-rtp_echo', '-m', '1'], trace: true, timeoutSec: 40 }));
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 't1', address: '127.0.0.1', port: trunkPort }],
      extra: {
        listeners: [{ protocol: 'ws', address: '127.0.0.1', port: 0 }, { protocol: 'udp', address: '0.0.0.0', port: 0, advertise: SIGNAL }],
        media: { address: '127.0.0.1', portMin: PORTS.min, portMax: PORTS.max, workers: 1, interfaces: { browser: { address: BROWSER_SIDE }, trunk: { address: '0.0.0.0', advertise: TRUNK_SIDE } } },
      },
    });
    const udp = gw.listeningPoints().find((p) => p.protocol === 'udp')!;
    const ua = await rig.register(gw, CALLER);
    let pc: RTCPeerConnection | null = null;
    let received = 0;
    let browserSdp = '';
    const session = ua.call(`sip:1000@${DOMAIN}`, {
      mediaConstraints: { audio: false, video: false },
      eventHandlers: {
        peerconnection: (e) => {
          pc = e.peerconnection as unknown as RTCPeerConnection;
          pc.addTransceiver('audio', { direction: 'sendrecv' });
          pc.onTrack.subscribe((track: MediaStreamTrack) => { track.onReceiveRtp.subscribe(() => { received++; }); });
        },
        sdp: (e: { originator: string; sdp: string }) => { if (e.originator === 'remote') browserSdp = e.sdp; },
      },
    });
    await nextEvent(session, 'confirmed', 'failed', 30_000);
    assert.match(browserSdp, new RegExp(`c=IN IP4 ${BROWSER_SIDE.replace(/\./g, '\\.')}`), 'the browser is told the public side');
    assert.match(browserSdp, new RegExp(`a=candidate:\\S+ 1 udp \\d+ ${BROWSER_SIDE.replace(/\./g, '\\.')} `), 'its ICE candidate too');
    const conn: RTCPeerConnection = pc!;
    for (const until = Date.now() + 15_000; conn.connectionState !== 'connected' && Date.now() < until;) await sleep(20);
    assert.equal(conn.connectionState, 'connected', 'ICE and DTLS on the browser-side interface');
    const sender = conn.getTransceivers()[0]!.sender;
    for (let i = 0; i < 100 && received < 20; i++) {
      await sender.sendRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: i * 160, payloadType: 0, marker: i === 0 }), Buffer.alloc(160, 0xff)));
      await sleep(20);
    }
    assert.ok(received >= 20, `werift got ${received} packets echoed by SIPp through the trunk-side interface`);
    await nextEvent(session, 'ended', 'failed', 20_000); // SIPp hangs up after 3 s
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's BYE reached the gateway at its advertised Contact: ${r.stdout.slice(-1200)}`);
    const invite = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '))!;
    assert.match(invite.text, new RegExp(`^Via: SIP/2\\.0/UDP ${SIGNAL.replace(/\./g, '\\.')}:${udp.port};`, 'mi'));
    assert.match(invite.text, new RegExp(`^Contact: <sip:trapezoid@${SIGNAL.replace(/\./g, '\\.')}:${udp.port}>`, 'mi'));
    assert.match(invite.text, new RegExp(`^c=IN IP4 ${TRUNK_SIDE.replace(/\./g, '\\.')}`, 'm'), 'the trunk is told the private side');
    assert.equal((await callEnd(gw)).status, 200);
  }));
});
