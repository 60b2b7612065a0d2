// Issue 4 acceptance: the browser -> trunk call made by JsSIP running in Node, with
// werift as its RTCPeerConnection (no browser at all), to SIPp uas -rtp_echo. The
// adapters of ../sip/jssip-node.ts are API shims only (createOffer(null), the
// RTCSessionDescription constructor, loopback-only gathering): the gateway's SDP
// reaches werift untouched, so this test also shows that SDP needs no rewriting
// (INTEROP-NOTES: werift rejects `a=rtcp:PORT` without an address and drops RTP
// from SSRCs the SDP never signalled). No browser is needed to see that a gateway
// whose media ports are all taken refuses calls with 503, so that test lives here too.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { RtpHeader, RtpPacket, type RTCPeerConnection, type MediaStreamTrack } from 'werift';
import { loadJsSIP } from '../sip/jssip-node.js';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { CALLER, DOMAIN, assertReleasedAndStop, callEnd, sleep, startGateway, type TestGateway } from './harness.js';

const JsSIP = loadJsSIP();
type JsSipUA = InstanceType<typeof JsSIP.UA>;
const PORTS = { min: 17400, max: 17599 };

function once<T = unknown>(emitter: { once(ev: string, fn: (arg: T) => void): unknown }, ev: string, failEv?: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${ev}' within ${ms} ms`)), ms);
    emitter.once(ev, (a: T) => { clearTimeout(t); resolve(a); });
    if (failEv) emitter.once(failEv, (a: T) => { clearTimeout(t); reject(new Error(`'${failEv}': ${JSON.stringify((a as { cause?: unknown })?.cause)}`)); });
  });
}

describe('JsSIP in Node (werift peer connection) -> gateway -> SIPp trunk', { timeout: 90_000 }, () => {
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  let ua: JsSipUA | null = null;
  after(async () => {
    if (ua?.isConnected()) ua.stop();
    await sipp?.stop();
    await gw?.stop();
  });

  /** A JsSIP UA for CALLER over the gateway's WebSocket listener, once registered. */
  async function registerCaller(g: TestGateway, extra: { user_agent?: string } = {}): Promise<JsSipUA> {
    const ws = g.listeningPoints().find((p) => p.protocol === 'ws')!;
    const caller = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(`ws://127.0.0.1:${ws.port}`)],
      uri: `sip:${CALLER.username}@${DOMAIN}`, password: CALLER.password, register: true, ...extra,
    });
    // Known to after() before it starts, so a failed registration is still stopped.
    ua = caller;
    const registered = once(caller, 'registered', 'registrationFailed');
    caller.start();
    await registered;
    return caller;
  }
  /** Stops a UA and waits for its WebSocket to close. */
  async function disconnect(caller: JsSipUA): Promise<void> {
    const gone = once(caller, 'disconnected');
    caller.stop();
    await gone;
  }
  /** Stops the test's gateway, checking first that it released everything (unless the test failed). */
  async function releaseGateway(passed: boolean): Promise<void> {
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g, passed);
  }

  // Both media paths: the native fast path and OpenSSL DTLS (the default) and what a build
  // without a compiler falls back to, the TypeScript path and werift DTLS (media.native: false).
  for (const native of [true, false]) it(`registers, calls, RTP both ways through the gateway unaltered, BYE reaches SIPp (${native ? 'native fast path, OpenSSL DTLS' : 'TypeScript media path, werift DTLS'})`, { timeout: 60_000 }, async () => {
    let passed = false;
    try {
      const trunkPort = await freePort();
      sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', '1'], trace: true, timeoutSec: 40 });
      gw = await startGateway({ trunkPort, ports: PORTS, native });
      const started = gw.events.events.find((e) => e.event === 'media-started');
      assert.equal(started?.fastPath, native ? 'native' : 'typescript (media.native is false)');
      assert.match(String(started?.dtls), native ? /^native \(OpenSSL 3\./ : /^werift \(media\.native is false\)$/);
      ua = await registerCaller(gw, { user_agent: 'JsSIP in Node (trapezoid gateway test)' });

      let pc: RTCPeerConnection | null = null;
      let received = 0;
      const session = ua.call(`sip:1000@${DOMAIN}`, {
        mediaConstraints: { audio: false, video: false },
        eventHandlers: {
          peerconnection: (e) => {
            // JsSIP types it as the DOM's RTCPeerConnection; it is werift's (jssip-node.ts).
            pc = e.peerconnection as unknown as RTCPeerConnection;
            // A browser would add its microphone; werift gets a send-receive audio transceiver.
            pc.addTransceiver('audio', { direction: 'sendrecv' });
            pc.onTrack.subscribe((track: MediaStreamTrack) => {
              track.onReceiveRtp.subscribe(() => { received++; });
            });
          },
        },
      });
      await once(session, 'confirmed', 'failed');
      assert.ok(pc, 'JsSIP made its peer connection');
      const conn: RTCPeerConnection = pc;
      const confirmedAt = Date.now();
      for (const until = Date.now() + 10_000; conn.connectionState !== 'connected' && Date.now() < until;) await sleep(20);
      assert.equal(conn.connectionState, 'connected', 'ICE and DTLS with the gateway completed');
      console.log(`werift connected ${Date.now() - confirmedAt} ms after the call was confirmed`);

      // 20 ms of PCMU silence every 20 ms: SIPp echoes it back through the gateway.
      const sender = conn.getTransceivers()[0]!.sender;
      let sent = 0;
      for (; sent < 100 && received < 50; sent++) {
        const header = new RtpHeader({ sequenceNumber: sent, timestamp: sent * 160, payloadType: 0, marker: sent === 0 });
        await sender.sendRtp(new RtpPacket(header, Buffer.alloc(160, 0xff)));
        await sleep(20);
      }
      for (const until = Date.now() + 2_000; received < 50 && Date.now() < until;) await sleep(50);
      assert.ok(received >= 50, `werift received ${received} packets echoed by SIPp (sent ${sent})`);
      const stats = await gw.calls.list()[0]?.media?.stats();
      assert.ok(stats && stats.rtp.packetsOut! >= 50, `the RTP leg forwarded werift's audio to SIPp: ${JSON.stringify(stats?.rtp)}`);
      assert.deepEqual(stats.native, { toTrunk: native, toBrowser: native }, 'which path forwarded the media');
      assert.equal(stats.webrtc.packetsDropped, 0, 'every SRTP packet from werift authenticated');

      const ended = once(session, 'ended', 'failed');
      session.terminate();
      await ended;
      const r = await sipp.done;
      assert.equal(r.code, 0, `SIPp's call succeeded (INVITE, ACK, BYE): ${r.stdout.slice(-1500)}`);
      assert.ok(r.messages.some((m) => m.direction === 'received' && m.startLine.startsWith('BYE ')), 'SIPp received the BYE');
      const end = await callEnd(gw);
      assert.deepEqual([end.status, end.endedBy], [200, 'a'], JSON.stringify(end));

      await disconnect(ua);
      ua = null;
      passed = true;
    } finally {
      await releaseGateway(passed);
      await sipp?.stop();
      sipp = null;
    }
  });

  it('every media port taken: the call is refused 503, nothing is left allocated', { timeout: 30_000 }, async () => {
    const range = { min: 17590, max: 17599 };
    // Something else holds every port of the gateway's range.
    const squatters = await Promise.all(Array.from({ length: range.max - range.min + 1 }, (_, i) => new Promise<Socket>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(range.min + i, '127.0.0.1', () => resolve(s));
    })));
    let passed = false;
    try {
      gw = await startGateway({ trunkPort: await freePort(), ports: range });
      ua = await registerCaller(gw);
      const session = ua.call(`sip:1000@${DOMAIN}`, {
        mediaConstraints: { audio: false, video: false },
        eventHandlers: { peerconnection: (e) => { (e.peerconnection as unknown as RTCPeerConnection).addTransceiver('audio', { direction: 'sendrecv' }); } },
      });
      const failed = await once<{ message?: { status_code?: number } }>(session, 'failed');
      assert.equal(failed.message?.status_code, 503, 'Service Unavailable: the gateway is full, not broken');
      assert.equal(gw.counters().callsStarted, 1);
      await disconnect(ua);
      ua = null;
      passed = true;
    } finally {
      await releaseGateway(passed);
      for (const s of squatters) s.close();
    }
  });
});
