// Issue 11 acceptance, SIP capture: for one call (JsSIP in Node over WebSocket ->
// gateway -> SIPp over UDP), the HEPv3 packets a collector decodes are the SIP messages
// on the wire, both legs, each once, with the addresses they travelled between and one
// correlation id; and no key or credential (digest response, ICE password, a token in
// the Request-URI or a header) is in any of them, nor in the gateway's log. The wire is
// read independently: every WebSocket frame the client sent or received, and SIPp's own
// message trace.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startSipp, type SippRun } from '../sip/sipp.js';
import { assertReleasedAndStop, startGateway, type TestGateway } from '../gateway/harness.js';
import { closePeerConnections, confirmed, hangUp, placeCall, registerCaller, scrape, stopUa, until, value, type JsSipUA } from './ops-harness.js';
import { startHepReceiver, type HepReceiver } from './hep-receiver.js';

const PORTS = { min: 14400, max: 14599 };
const URI_TOKEN = 'uriTok3nValue';
const HEADER_TOKEN = 'hdrTok3nValue';
const AGENT_ID = 4242;

/** Every frame of the client's WebSocket, both ways, as the client saw it. */
const frames: { direction: 'sent' | 'received'; text: string }[] = [];
class RecordingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    this.on('message', (d: Buffer) => frames.push({ direction: 'received', text: d.toString('utf8') }));
  }
  override send(data: unknown, ...rest: unknown[]): void {
    frames.push({ direction: 'sent', text: String(data) });
    (super.send as (...a: unknown[]) => void)(data, ...rest);
  }
}

/** The message with its secret-bearing parts replaced by placeholders (both sides alike). */
function mask(text: string): string {
  return text.replace(/\r/g, '').trim()
    .replace(/^(Proxy-Authorization|Authorization):.*$/gim, '$1: *')
    .replace(/^X-Auth-Token:.*$/gim, 'X-Auth-Token: *')
    .replace(/^a=ice-pwd:.*$/gm, 'a=ice-pwd:*')
    .replace(/;token=[^;>\s]+/g, ';token=*')
    .replace(/^(Content-Length|l):.*$/gim, 'Content-Length: *');
}

describe('SIP capture (HEPv3)', { timeout: 60_000 }, () => {
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  let ua: JsSipUA | null = null;
  let hep: HepReceiver | null = null;
  after(async () => {
    if (ua) await stopUa(ua).catch(() => undefined);
    await closePeerConnections();
    await sipp?.stop();
    await gw?.stop();
    await hep?.close();
  });

  it('for one call, the HEP packets decoded are the SIP messages on the wire, both legs, with no key or credential', async () => {
    let passed = false;
    try {
      hep = await startHepReceiver();
      const started = Math.floor(Date.now() / 1000);
      const g = gw = await startGateway({
        ports: PORTS,
        edit: (raw) => { raw.hep = { address: '127.0.0.1', port: hep!.port, agentId: AGENT_ID }; },
      });
      sipp = await startSipp({ port: g.trunkPort, args: ['-sn', 'uas', '-m', '1'], trace: true, timeoutSec: 30 });
      (globalThis as { WebSocket?: unknown }).WebSocket = RecordingWebSocket;
      ua = await registerCaller(g, {}, false);
      const call = placeCall(ua, '1000', { uriParams: `;token=${URI_TOKEN}`, extraHeaders: [`X-Auth-Token: ${HEADER_TOKEN}`] });
      await confirmed(call, false);
      await hangUp(call);
      const trunkSide = await sipp.done;
      assert.equal(trunkSide.code, 0, 'the trunk saw a complete call');
      await until(() => g.calls.live === 0);
      await stopUa(ua);
      ua = null;

      const aCallId = /^Call-ID:\s*(\S+)/im.exec(frames.find((f) => f.direction === 'sent' && f.text.startsWith('INVITE'))!.text)![1]!;
      // Every packet is flushed a turn after its message: wait for the count to settle.
      const wire = frames.length + trunkSide.messages.length;
      await until(() => hep!.packets.filter((p) => p.correlationId === aCallId).length >= wire, 3_000);
      assert.deepEqual(hep.errors, [], 'every datagram decoded as HEPv3');
      const counted = await scrape(g);
      assert.equal(value(counted, 'trapezoid_hep_packets_total', { result: 'sent' }), hep.packets.length, 'the metric counts what the collector got');
      assert.equal(value(counted, 'trapezoid_hep_packets_total', { result: 'dropped' }), 0);
      const ofCall = hep.packets.filter((p) => p.correlationId === aCallId);
      const aLeg = ofCall.filter((p) => p.protocol === 6);
      const bLeg = ofCall.filter((p) => p.protocol === 17);
      assert.equal(ofCall.length, aLeg.length + bLeg.length);

      // Leg A: the client's frames, each once (WebSocket rides on TCP: IP protocol 6).
      assert.equal(aLeg.length, frames.length, `A leg: ${aLeg.length} HEP packets for ${frames.length} frames`);
      assert.deepEqual(aLeg.map((p) => mask(p.payload)).sort(), frames.map((f) => mask(f.text)).sort(), 'A leg: the same messages');
      const wsPort = g.listeningPoints().find((p) => p.protocol === 'ws')!.port;
      for (const p of aLeg) {
        const fromGateway = p.srcPort === wsPort;
        assert.ok(fromGateway || p.dstPort === wsPort, `an A-leg packet between the client and the WebSocket listener: ${p.srcPort} -> ${p.dstPort}`);
        assert.equal(p.srcIp, '127.0.0.1');
        assert.equal(p.dstIp, '127.0.0.1');
      }
      // What the gateway sent the client is what the client received, and the reverse.
      const sentByGateway = aLeg.filter((p) => p.srcPort === wsPort).map((p) => mask(p.payload)).sort();
      assert.deepEqual(sentByGateway, frames.filter((f) => f.direction === 'received').map((f) => mask(f.text)).sort(), 'directions match');

      // Leg B: SIPp's trace (UDP: IP protocol 17).
      assert.equal(bLeg.length, trunkSide.messages.length, `B leg: ${bLeg.length} HEP packets for ${trunkSide.messages.length} messages in SIPp's trace`);
      assert.deepEqual(bLeg.map((p) => mask(p.payload)).sort(), trunkSide.messages.map((m) => mask(m.text)).sort(), 'B leg: the same messages');
      const udpPort = g.listeningPoints().find((p) => p.protocol === 'udp')!.port;
      for (const p of bLeg) {
        assert.deepEqual([p.srcPort, p.dstPort].sort(), [udpPort, g.trunkPort].sort(), 'between the gateway\'s UDP listener and the trunk');
      }
      const toTrunk = bLeg.filter((p) => p.dstPort === g.trunkPort).map((p) => mask(p.payload)).sort();
      assert.deepEqual(toTrunk, trunkSide.messages.filter((m) => m.direction === 'received').map((m) => mask(m.text)).sort(), 'what SIPp received is what the capture says the gateway sent it');

      for (const p of ofCall) {
        assert.equal(p.agentId, AGENT_ID);
        assert.equal(p.protoType, 1, 'SIP');
        assert.equal(p.family, 2, 'IPv4');
        assert.ok(p.seconds >= started && p.seconds <= Date.now() / 1000 + 1 && p.micros < 1_000_000, 'capture time');
      }
      assert.ok(bLeg.some((p) => /^INVITE /.test(p.payload)) && aLeg.some((p) => /^INVITE /.test(p.payload)), 'both INVITEs are there');

      // The secrets the wire carried: none is in any packet or in the gateway's log.
      const secrets = [URI_TOKEN, HEADER_TOKEN];
      for (const f of frames) {
        const response = /response="([0-9a-f]+)"/.exec(f.text)?.[1];
        if (response) secrets.push(response);
        for (const m of f.text.matchAll(/^a=ice-pwd:(\S+)/gm)) secrets.push(m[1]!);
      }
      assert.ok(secrets.length >= 5, `the wire carried a digest response and ICE passwords: ${secrets.length}`);
      const captured = hep.packets.map((p) => p.payload).join('\n');
      for (const s of secrets) assert.ok(!captured.includes(s), `the capture does not carry ${s}`);
      assert.ok(frames.some((f) => f.text.includes(URI_TOKEN)), 'the token was on the wire');
      assert.match(captured, /;token=\[redacted\]/, 'the capture says where the token was');
      const logged = JSON.stringify(g.events.events);
      for (const s of secrets) assert.ok(!logged.includes(s), `the log does not carry ${s}`);
      passed = true;
    } finally {
      // The caller first, as on success: a JsSIP UA that outlives its gateway keeps retrying
      // the WebSocket, and the test process never exits.
      if (ua) await stopUa(ua).catch(() => undefined);
      ua = null;
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
    }
  });
});
