// Shared by the calls/*.test.ts files: the B2BUA primitive between real libs/sip user
// agents joined by the stack's in-memory loopback network (so every SIP message is
// serialized and parsed as on the wire, and the parties are scripted per test), with a
// real MediaEngine (one worker) binding real media ports. The SDP the parties send is
// scripted text: the real peers (Chromium, SIPp) are in test/src/gateway.

import assert from 'node:assert/strict';
import { MediaEngine } from '@trapezoid/media';
import { UserAgent, type IncomingRequest } from '@trapezoid/sip';
import { LoopbackNetwork, type LoopbackTransport } from '@trapezoid/sip/test-support';
import { configSchema, type GatewayConfig } from '../config/index.js';
import { createLogger } from '../logging.js';
import { CallRegistry, type Call, type CallEnd } from './call.js';
import { connectB2bua, type B2buaOptions } from './b2bua.js';

export const silent = createLogger('error', true);

/** A WebRTC offer as Chromium makes it (audio only, trimmed). */
export const BROWSER_OFFER = [
  'v=0', 'o=- 51091466011791847 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 110 126', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:rYds', 'a=ice-pwd:tKaHgiH93dnbbgiDEgQECZDn',
  'a=fingerprint:sha-256 C3:09:10:0C:FF:E6:0F:0A:45:44:EE:47:45:79:B8:96:A3:27:5E:95:B8:B0:AE:EA:00:27:90:A3:02:80:D0:85',
  'a=setup:actpass', 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000', 'a=rtpmap:110 telephone-event/48000', 'a=rtpmap:126 telephone-event/8000', 'a=ssrc:1566084482 cname:6qoqvgQE8Vl8+hvF', '',
].join('\r\n');

/** The browser's later offers: version `v`, a direction, other ICE credentials (ICE restart). */
export function browserOffer(o: { version: number; direction?: string; ufrag?: string; pwd?: string }): string {
  return BROWSER_OFFER.replace('o=- 51091466011791847 2 ', `o=- 51091466011791847 ${o.version} `)
    .replace('a=sendrecv', `a=${o.direction ?? 'sendrecv'}`)
    .replace('a=ice-ufrag:rYds', `a=ice-ufrag:${o.ufrag ?? 'rYds'}`)
    .replace('a=ice-pwd:tKaHgiH93dnbbgiDEgQECZDn', `a=ice-pwd:${o.pwd ?? 'tKaHgiH93dnbbgiDEgQECZDn'}`);
}

/** A WebRTC answer to the gateway's offer (the agent's browser). */
export const BROWSER_ANSWER = [
  'v=0', 'o=- 4632113346108298541 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 0 101', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:4lnq', 'a=ice-pwd:ZYh43K+5eEea5fKhCrbvLgLu',
  'a=fingerprint:sha-256 52:71:2E:D5:2B:D7:9D:09:72:FF:7E:58:BA:DD:40:15:5F:71:49:B5:46:3C:BB:CC:64:3A:1C:78:B2:32:AE:B5',
  'a=setup:active', 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000',
  'a=ssrc:1678413982 cname:wRHFKgb9QFFU5691', '',
].join('\r\n');

/** A trunk's RTP SDP (offer or answer) at `port`, `version` in o=, `direction` if given. */
export function trunkSdp(port: number, opts: { version?: number; address?: string; direction?: string; codecs?: string } = {}): string {
  const address = opts.address ?? '127.0.0.1';
  const codecs = opts.codecs ?? '0 101';
  const lines = ['v=0', `o=trunk 53655765 ${opts.version ?? 1} IN IP4 127.0.0.1`, 's=-', `c=IN IP4 ${address}`, 't=0 0', `m=audio ${port} RTP/AVP ${codecs}`];
  for (const pt of codecs.split(' ')) {
    lines.push(pt === '0' ? 'a=rtpmap:0 PCMU/8000' : pt === '8' ? 'a=rtpmap:8 PCMA/8000' : pt === '18' ? 'a=rtpmap:18 G729/8000' : `a=rtpmap:${pt} telephone-event/8000`);
  }
  if (opts.direction) lines.push(`a=${opts.direction}`);
  return lines.join('\r\n') + '\r\n';
}

export interface Bench {
  net: LoopbackNetwork;
  gwTransport: LoopbackTransport;
  gw: UserAgent;
  /** The calling party (leg a) and up to two called parties. */
  a: UserAgent;
  b: UserAgent;
  b2: UserAgent;
  engine: MediaEngine;
  config: GatewayConfig;
  calls: CallRegistry;
  /** The calls the gateway set up, in order. */
  started: Call[];
  /** Resolves with how the n-th call ended. */
  ended(n?: number): Promise<CallEnd>;
  /** What the next INVITE to the gateway becomes: the B2BUA options past call, req and ctx. */
  route: (req: IncomingRequest) => Omit<B2buaOptions, 'call' | 'req'>;
  /** B2BUA `send` that INVITEs each of `targets` from the gateway's UA. */
  invite(targets: Array<{ uri: string; destination: typeof B | typeof B2 }>): B2buaOptions['send'];
  close(): Promise<void>;
}

export const GW = { address: '127.0.0.1', port: 5060 } as const;
export const B = { protocol: 'udp', address: '127.0.0.1', port: 5080 } as const;
export const B2 = { protocol: 'udp', address: '127.0.0.1', port: 5090 } as const;

/** Gateway UA, three parties and one media worker on `ports`. */
export async function bench(ports: { min: number; max: number }): Promise<Bench> {
  const net = new LoopbackNetwork();
  const gwTransport = net.endpoint({ port: GW.port });
  const gw = new UserAgent({ transport: gwTransport, contactUser: 'trapezoid', userAgentName: 'trapezoid', supported: ['timer'] });
  const a = new UserAgent({ transport: net.endpoint({ port: 5070 }), contactUser: 'a' });
  const b = new UserAgent({ transport: net.endpoint({ port: B.port }), contactUser: 'b' });
  const b2 = new UserAgent({ transport: net.endpoint({ port: B2.port }), contactUser: 'b2' });
  const engine = await MediaEngine.start({ workers: 1, portMin: ports.min, portMax: ports.max, address: '127.0.0.1' });
  const config = configSchema.parse({ media: { portMin: ports.min, portMax: ports.max } });
  const calls = new CallRegistry(silent);
  const started: Call[] = [];
  const ends: Array<Promise<CallEnd>> = [];
  const self: Bench = {
    net, gwTransport, gw, a, b, b2, engine, config, calls, started,
    ended: (n = 0) => {
      const e = ends[n];
      assert.ok(e, `call ${n} was started`);
      return e;
    },
    route: () => { throw new Error('no route set'); },
    invite: (targets) => (sdp, headers) => targets.map((x) => gw.request('INVITE', x.uri, {
      from: '<sip:caller@gw.test>', to: `<${x.uri}>`, destination: x.destination, body: sdp, contentType: 'application/sdp', headers,
    })),
    async close() {
      await calls.endAll('test over');
      for (const ua of [a, b, b2, gw]) await ua.close();
      await engine.close();
    },
  };
  gw.onRequest('INVITE', (req) => {
    const options = self.route(req);
    // The browser's side is the caller's on outbound calls, the called party's on inbound ones.
    const direction = options.profiles.a === 'webrtc' ? 'outbound' : 'inbound';
    const call = calls.create({ direction, aCallId: req.message.callId, from: 'sip:caller@trunk.test', to: '2000' });
    started.push(call);
    ends.push(new Promise((resolve) => call.once('ended', resolve)));
    return connectB2bua({ ua: gw, engine, config }, { call, req, ...options });
  });
  return self;
}

/** Everything released: no live call, no dialog on the gateway, no media port. */
export async function assertReleased(t: Bench): Promise<void> {
  for (let i = 0; i < 50 && (t.calls.live !== 0 || t.engine.portsInUse !== 0 || t.gw.dialogs.size !== 0); i++) await sleep(20);
  assert.equal(t.calls.live, 0, 'no live call');
  assert.equal(t.gw.dialogs.size, 0, 'no dialog left on the gateway');
  assert.equal(t.engine.portsInUse, 0, 'every media port released');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the next request of `method` that reaches `ua` outside a dialog. */
export function nextRequest(ua: UserAgent, method: string): Promise<IncomingRequest> {
  return new Promise((resolve) => ua.onRequest(method, resolve));
}
