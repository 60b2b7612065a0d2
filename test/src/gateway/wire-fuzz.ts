// Fuzzing the gateway's whole receive path over the wire (issue 8): mutated SIP goes
// to a running gateway over UDP and WebSocket from a stranger, and over UDP from its
// trunk's own address (which skips authentication and reaches call setup: an agent is
// registered and answers every INVITE, half the time with a mutated 200, so mutants
// become calls, media ports, answers, broken responses, ACK timeouts and the lifetime
// watchdogs). Checked: the process survives, every reply
// parses and validates, the gateway logs no error (an unexpected exception in a
// handler is one), and once the transaction timers (short ones here) have run, no
// transaction, dialog, call or media port is left. The bounded run is a test
// (fuzz-wire.test.ts), the long one a script (scripts/fuzz-sip-wire.mjs).

import { randomBytes } from 'node:crypto';
import {
  createAuthorization, parseMessage, validateRequest, validateResponse, type SipMessage, type SipRequest, type SipResponse,
} from '@trapezoid/sip';
import { CORPUS, fuzzCrashers, mutate, prng, tortureMessages } from '@trapezoid/sip/test-support';
import { AGENT, AGENT_NUMBER, CALLER, DOMAIN, sleep, startGateway, type TestGateway } from './harness.js';
import { RawSipClient, requestText, silentBrowserOffer } from './raw-sip.js';

export interface WireFuzzOptions {
  /** Mutants sent per phase: stranger over UDP, stranger over WebSocket, trunk over UDP. */
  iterations: number;
  seed: number;
  /** Media port range of the gateway under test. */
  ports: { min: number; max: number };
  /** Told every 1,000 mutants. */
  progress?: (phase: string, done: number) => void;
  /**
   * The last inputs sent (most recent last), kept in the caller's array: a run that takes
   * the process down (an uncaught exception) leaves the suspects there.
   */
  recent?: Buffer[];
}

export interface WireFuzzFailure {
  what: string;
  detail: string;
  /** The inputs sent just before (most recent last): the suspects. */
  recent: Buffer[];
}

export interface WireFuzzReport {
  sent: Record<'udp' | 'ws' | 'trunk', number>;
  replies: number;
  /** Replies that did not parse or validate, gateway error log lines. */
  failures: WireFuzzFailure[];
  wsReconnects: number;
  callsStarted: number;
  /** What was left once the timers had run (all 0 when nothing leaked). */
  left: { transactions: number; dialogs: number; liveCalls: number; portsInUse: number };
  seconds: number;
}

const RECENT = 8;
const T1 = 50;

/** Gateway messages the corpora lack: what browsers and trunks send this gateway. */
function gatewaySeeds(): { stranger: Buffer[]; trunk: Buffer[] } {
  const via = 'SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bKseed;rport';
  const common = { from: `<sip:${CALLER.username}@${DOMAIN}>;tag=seedtag`, to: `<sip:1000@${DOMAIN}>`, callId: 'seed-call@client.invalid' };
  const offer = silentBrowserOffer();
  const auth = 'Proxy-Authorization: Digest username="alice", realm="trapezoid", nonce="bm9uY2U", uri="sip:1000@trapezoid.test", response="00112233445566778899aabbccddeeff", algorithm=MD5, qop=auth, nc=00000001, cnonce="c"';
  const stranger = [
    requestText({ method: 'INVITE', uri: `sip:1000@${DOMAIN}`, via, ...common, cseq: 1, body: offer, headers: ['Contact: <sip:alice@127.0.0.3:5060>', auth] }),
    requestText({ method: 'REGISTER', uri: `sip:${DOMAIN}`, via, from: common.from, to: `<sip:${CALLER.username}@${DOMAIN}>`, callId: common.callId, cseq: 2, headers: ['Contact: <sip:alice@127.0.0.3:5060>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>";reg-id=1', 'Expires: 600'] }),
    requestText({ method: 'OPTIONS', uri: `sip:${DOMAIN}`, via, ...common, cseq: 3 }),
    requestText({ method: 'BYE', uri: `sip:trapezoid@127.0.0.1`, via, ...common, to: `${common.to};tag=gw`, cseq: 4 }),
    requestText({ method: 'CANCEL', uri: `sip:1000@${DOMAIN}`, via, ...common, cseq: 1 }),
  ];
  const trunkVia = 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKseed';
  const trunkCall = { from: '<sip:+15550001@127.0.0.1>;tag=trunktag', to: `<sip:${AGENT_NUMBER}@${DOMAIN}>`, callId: 'seed-trunk@127.0.0.1' };
  const rtpOffer = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0 8 101',
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
  const trunk = [
    requestText({ method: 'INVITE', uri: `sip:${AGENT_NUMBER}@${DOMAIN}`, via: trunkVia, ...trunkCall, cseq: 1, body: rtpOffer, headers: ['Contact: <sip:trunk@127.0.0.1:5060>'] }),
    requestText({ method: 'INVITE', uri: `sip:${AGENT_NUMBER}@${DOMAIN}`, via: trunkVia, ...trunkCall, cseq: 1, body: rtpOffer, headers: ['Contact: <sip:trunk@127.0.0.1:5060>', 'Require: 100rel', 'Session-Expires: 90'] }),
    requestText({ method: 'ACK', uri: `sip:trapezoid@127.0.0.1`, via: trunkVia, ...trunkCall, to: `${trunkCall.to};tag=gw`, cseq: 1 }),
    requestText({ method: 'BYE', uri: `sip:trapezoid@127.0.0.1`, via: trunkVia, ...trunkCall, to: `${trunkCall.to};tag=gw`, cseq: 2 }),
    requestText({ method: 'CANCEL', uri: `sip:${AGENT_NUMBER}@${DOMAIN}`, via: trunkVia, ...trunkCall, cseq: 1 }),
    requestText({ method: 'OPTIONS', uri: `sip:${DOMAIN}`, via: trunkVia, ...trunkCall, cseq: 5 }),
  ];
  return { stranger: stranger.map((t) => Buffer.from(t, 'latin1')), trunk: trunk.map((t) => Buffer.from(t, 'latin1')) };
}

/**
 * A new transaction and Call-ID for each mutant (the seeds would otherwise be
 * retransmissions of one another and stop at the transaction layer), and the trunk's
 * own address in its seeds' Via.
 */
function fresh(seed: Buffer, n: number, sentBy?: string): Buffer {
  let text = seed.toString('latin1')
    .replace(/z9hG4bK/g, `z9hG4bK${n}x`)
    .replace(/^((?:call-id|i)\s*:\s*)/gim, `$1${n}-`);
  if (sentBy) text = text.replace(/^(Via: SIP\/2\.0\/UDP )127\.0\.0\.1:5060/m, `$1${sentBy}`);
  return Buffer.from(text, 'latin1');
}

/**
 * Registers AGENT over its own WebSocket and answers every INVITE at once (no ICE: the
 * watchdog ends those calls); `garble` mutates some of its answers, so the gateway's
 * client transactions and dialogs get broken responses too.
 */
async function agent(gw: TestGateway, garble: (answer: Buffer) => Buffer): Promise<RawSipClient> {
  const wsPort = gw.listeningPoints().find((p) => p.protocol === 'ws')!.port;
  const c = await RawSipClient.open('ws', wsPort, { localAddress: '127.0.0.4' });
  const uri = `sip:${DOMAIN}`;
  const contact = `Contact: <sip:${AGENT.username}@${c.sentBy};transport=ws>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-00000000a9e7>";reg-id=1`;
  const from = `<sip:${AGENT.username}@${DOMAIN}>;tag=${randomBytes(4).toString('hex')}`;
  const to = `<sip:${AGENT.username}@${DOMAIN}>`;
  const callId = `${randomBytes(6).toString('hex')}@agent.invalid`;
  c.send(requestText({ method: 'REGISTER', uri, via: c.viaHeader(), from, to, callId, cseq: 1, headers: [contact, 'Expires: 600'] }));
  const challenge = await c.response('1 REGISTER', (s) => s >= 200);
  const auth = `Authorization: ${createAuthorization(challenge.headers.get('www-authenticate')!, { method: 'REGISTER', uri }, AGENT)}`;
  c.send(requestText({ method: 'REGISTER', uri, via: c.viaHeader(), from, to, callId, cseq: 2, headers: [contact, 'Expires: 600', auth] }));
  const ok = await c.response('2 REGISTER', (s) => s >= 200);
  if (ok.status !== 200) throw new Error(`agent registration failed: ${ok.status} ${ok.reason}`);
  c.keep = false;
  const answer = silentBrowserOffer().replace('a=setup:actpass', 'a=setup:active');
  c.onMessage = (m) => {
    if (!m.isRequest) return;
    const req = m as SipRequest;
    if (req.method === 'ACK') return;
    const h = req.headers;
    const to = /;\s*tag=/i.test(h.get('to') ?? '') ? h.get('to')! : `${h.get('to') ?? ''};tag=agent${randomBytes(3).toString('hex')}`;
    const body = req.method === 'INVITE' ? answer : '';
    const res = Buffer.from([
      'SIP/2.0 200 OK', ...h.getAll('via').map((v) => `Via: ${v}`), `From: ${h.get('from') ?? ''}`, `To: ${to}`,
      `Call-ID: ${h.get('call-id') ?? ''}`, `CSeq: ${h.get('cseq') ?? ''}`,
      ...(req.method === 'INVITE' ? [`Contact: <sip:${AGENT.username}@${c.sentBy};transport=ws>`, 'Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n'), 'latin1');
    c.send(req.method === 'INVITE' ? garble(res) : res);
  };
  return c;
}

const SOUND: Record<string, string> = {
  via: 'SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bKsound', from: '<sip:a@example.com>;tag=a', to: '<sip:b@example.com>;tag=b',
  'call-id': 'sound@example.com', cseq: '1 OPTIONS',
};

/** The response with the fields it copied from the request replaced by sound ones. */
function withSoundCopiedFields(res: SipResponse): SipResponse {
  const copy = parseMessage(res.toBuffer()) as SipResponse;
  for (const [name, value] of Object.entries(SOUND)) copy.headers.set(name, value);
  return copy;
}

export async function runWireFuzz(opts: WireFuzzOptions): Promise<WireFuzzReport> {
  const started = performance.now();
  const gw = await startGateway({
    ports: opts.ports,
    edit: (raw) => {
      // Short timers so the "nothing left" check comes seconds after the last mutant.
      raw.sip = { timers: { T1, T2: 8 * T1, T4: 10 * T1 } };
      raw.lifetime = { flowGrace: 1, mediaTimeout: 2, holdTimeout: 2, iceTimeout: 1 };
      raw.security = { rateLimit: { exempt: ['127.0.0.0/8'] } };
    },
  });
  const report: WireFuzzReport = {
    sent: { udp: 0, ws: 0, trunk: 0 }, replies: 0, failures: [], wsReconnects: 0, callsStarted: 0,
    left: { transactions: 0, dialogs: 0, liveCalls: 0, portsInUse: 0 }, seconds: 0,
  };
  const recent: Buffer[] = opts.recent ?? [];
  const remember = (input: Buffer): void => {
    recent.push(input);
    if (recent.length > RECENT) recent.shift();
  };
  const fail = (what: string, detail: string): void => {
    if (report.failures.length < 50) report.failures.push({ what, detail, recent: [...recent] });
  };
  let errorsSeen = 0;
  const checkErrors = (): void => {
    const errors = gw.events.events.filter((e) => e.level === 'error');
    for (const e of errors.slice(errorsSeen)) fail('gateway error', JSON.stringify(e).slice(0, 2000));
    errorsSeen = errors.length;
  };
  /**
   * Every reply must parse (RawSipClient keeps what does not) and validate. A response
   * copies Via, From, To, Call-ID and CSeq from the request (RFC 3261 §8.2.6.1; RFC 4475
   * wants badinv01's broken Via answered 400): those may be the sender's garbage, so
   * they are swapped for sound values before the rest is judged.
   */
  const watch = (c: RawSipClient): void => {
    c.keep = false;
    c.onMessage = (m: SipMessage) => {
      report.replies++;
      try {
        if (m.isRequest) validateRequest(m as SipRequest);
        else validateResponse(withSoundCopiedFields(m as SipResponse));
      } catch (err) {
        fail('invalid reply', `${String(err)}: ${m.toString().slice(0, 1500)}`);
      }
    };
  };
  const garbage = (c: RawSipClient): void => {
    for (const g of c.garbage.splice(0)) fail('unparseable reply', JSON.stringify(g.toString('latin1').slice(0, 1500)));
  };
  const clients: RawSipClient[] = [];
  const rnd = prng(opts.seed);
  try {
    // Half the agent's answers to the gateway's INVITEs are mutated.
    clients.push(await agent(gw, (answer) => {
      const out = rnd() < 0.5 ? mutate(answer, [answer], rnd) : answer;
      remember(out);
      return out;
    }));
    const lp = gw.listeningPoints();
    const udpPort = lp.find((p) => p.protocol === 'udp')!.port;
    const wsPort = lp.find((p) => p.protocol === 'ws')!.port;
    const stranger = await RawSipClient.open('udp', udpPort, { localAddress: '127.0.0.3', localPort: 5060 });
    const trunk = await RawSipClient.open('udp', udpPort, { localAddress: '127.0.0.1', localPort: gw.trunkPort });
    clients.push(stranger, trunk);
    watch(stranger);
    watch(trunk);
    const seeds = gatewaySeeds();
    const strangerSeeds = [...tortureMessages().values(), ...fuzzCrashers().values(), ...Object.values(CORPUS).map((t) => Buffer.from(t, 'utf8')), ...seeds.stranger];
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
    const mutant = (seedList: readonly Buffer[], n: number, sentBy?: string): Buffer => {
      let m = fresh(pick(seedList), n, sentBy);
      // One in five goes unmutated: the valid paths get exercised too.
      if (rnd() < 0.8) for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) m = mutate(m, seedList, rnd);
      return m;
    };
    const send = async (c: RawSipClient, input: Buffer, n: number): Promise<void> => {
      remember(input);
      c.send(input);
      // Paced: a burst would only measure the socket buffers.
      if (n % 16 === 15) await sleep(2);
      else await new Promise((resolve) => setImmediate(resolve));
    };

    let n = 0;
    // What a long run once failed on goes first, as it was saved, over both transports.
    const crashers = [...fuzzCrashers().values()];
    const replayWs = crashers.length > 0 ? await RawSipClient.open('ws', wsPort, { localAddress: '127.0.0.3' }) : null;
    if (replayWs) {
      watch(replayWs);
      clients.push(replayWs);
    }
    for (const input of crashers) {
      await send(stranger, input, n++);
      if (replayWs && replayWs.closeCode === null) await send(replayWs, input, n++);
    }
    for (let i = 0; i < opts.iterations; i++, n++) {
      await send(stranger, mutant(strangerSeeds, n), n);
      report.sent.udp++;
      if (i % 1000 === 999) { opts.progress?.('udp', i + 1); checkErrors(); garbage(stranger); }
    }
    let ws: RawSipClient | null = null;
    for (let i = 0; i < opts.iterations; i++, n++) {
      if (ws === null || ws.closeCode !== null) {
        // The gateway closes a WebSocket for cause (a message over the size limit: 1009,
        // no authentication in time: 1008); a browser would reconnect.
        if (ws !== null) { garbage(ws); ws.close(); report.wsReconnects++; }
        ws = await RawSipClient.open('ws', wsPort, { localAddress: '127.0.0.3' });
        watch(ws);
        clients.push(ws);
      }
      const input = mutant(strangerSeeds, n);
      // A WebSocket message is a whole SIP message: a mutant too big for a frame is moot.
      await send(ws, input, n);
      report.sent.ws++;
      if (i % 1000 === 999) { opts.progress?.('ws', i + 1); checkErrors(); }
    }
    const trunkSeeds = seeds.trunk;
    const sentBy = `127.0.0.1:${gw.trunkPort}`;
    for (let i = 0; i < opts.iterations; i++, n++) {
      await send(trunk, mutant(trunkSeeds, n, sentBy), n);
      report.sent.trunk++;
      if (i % 1000 === 999) { opts.progress?.('trunk', i + 1); checkErrors(); garbage(trunk); }
    }
    // Every timer runs out: 64*T1 for transactions and ACKs, the lifetime limits for calls.
    const until = Date.now() + 64 * T1 + 6_000;
    let c = gw.counters();
    while (Date.now() < until && (c.transactions !== 0 || c.dialogs !== 0 || c.liveCalls !== 0 || c.portsInUse !== 0)) {
      await sleep(100);
      c = gw.counters();
    }
    report.left = { transactions: c.transactions, dialogs: c.dialogs, liveCalls: c.liveCalls, portsInUse: c.portsInUse };
    report.callsStarted = c.callsStarted;
    checkErrors();
    for (const cl of clients) garbage(cl);
  } finally {
    for (const cl of clients) cl.close();
    await gw.stop();
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

