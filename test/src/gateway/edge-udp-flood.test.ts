// Issue 8 acceptance, the UDP flood: 20,000 INVITEs (half a scanner's, without
// credentials; half with a browser offer and made-up credentials for a real user), with
// the gateway's default edge limits, from two kinds of attacker:
// - one address, 127.0.0.2: the rate limit (60 requests in 2 s) bans it; the first 60
//   are challenged once each, the other 19,940 are dropped unanswered;
// - 500 addresses (127.2.0.1-127.2.1.244) sending 40 each, as a spoofed flood looks:
//   none reaches the rate limit, so every INVITE is answered, but statelessly (RFC 3261
//   §8.2.7): one 407 each, never retransmitted, no transaction kept; the made-up
//   credentials are banned per (address, user) after 5.
// During each, JsSIP with werift on 127.0.0.3 registers and calls SIPp (uas, RTP echo)
// with audio both ways. Afterwards, once the (short) transaction timers ran, no
// transaction is left, and the WebSocket count and the heap (after GC, within 5 MiB)
// are back at their baseline. The flooder and the caller run in their own processes
// (udp-flood-client.ts, ws-flood-client.ts): this process's heap is the gateway's.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startSipp, type SippRun } from '../sip/sipp.js';
import { CALLER, DOMAIN, assertReleasedAndStop, sleep, startGateway, udpPort, type TestGateway } from './harness.js';
import { ATTACKER, CLIENT, SuiteOutcome, party, type CallerResult } from './edge-attack.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const FLOODER = fileURLToPath(new URL('./udp-flood-client.js', import.meta.url));
const CALLER_SCRIPT = fileURLToPath(new URL('./ws-flood-client.js', import.meta.url));
const COUNT = 20_000;
/**
 * Seconds each flood lasts (~2,500 INVITEs a second at least): long enough for a whole
 * call inside it, twice what the (slower, first) warm-up call took: a loaded machine takes longer.
 */
let floodSeconds = 8;
/** Short transaction timers so that "after the timers ran" is seconds away (64*T1 = 3.2 s). */
const T1 = 50;
/** The default security.rateLimit.requests: what one address gets answered before its ban. */
const RATE_LIMIT = 60;

interface FloodResult {
  sent: number; replies: number; distinct: number; statuses: Record<string, number>;
  bytesSent: number; bytesReceived: number; startedAt: number; endedAt: number;
}

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('a flood of 20,000 UDP INVITEs', { timeout: 150_000 }, () => {
  let gw: TestGateway;
  let sipp: SippRun | null = null;
  const outcome = new SuiteOutcome();
  let base = { ws: 0, heap: 0 };
  let lastFloodEnd = 0;
  before(async () => {
    // Default edge limits (security.*, auth.ban); only the timers are short.
    gw = await startGateway({ ports: { min: 19300, max: 19319 }, workers: 1, edit: (raw) => { raw.sip = { timers: { T1 } }; } });
    sipp = await startSipp({ port: gw.trunkPort, args: ['-sn', 'uas', '-rtp_echo'], timeoutSec: 140 });
  });
  after(async () => {
    await sipp?.stop();
    await assertReleasedAndStop(gw, outcome.passed);
  });

  const wsUrl = (): string => `ws://127.0.0.1:${gw.listeningPoints().find((p) => p.protocol === 'ws')!.port}`;
  const call = (): Promise<CallerResult> => party<CallerResult>(CALLER_SCRIPT, ['caller', wsUrl(), CALLER.username, CALLER.password, CLIENT, '1000', DOMAIN], 60_000);

  /** Floods from `sources` while the honest client calls; the flood's and the call's results, and the most transactions seen. */
  async function floodWithCall(sources: string[]): Promise<{ flood: FloodResult; during: CallerResult; mostTransactions: number }> {
    let mostTransactions = 0;
    const sampler = setInterval(() => { mostTransactions = Math.max(mostTransactions, gw.counters().transactions); }, 10);
    try {
      const flooding = party<FloodResult>(FLOODER, [String(udpPort(gw)), String(COUNT), String(floodSeconds), ...sources], 60_000);
      await sleep(300);
      const during = await call();
      const flood = await flooding;
      lastFloodEnd = flood.endedAt;
      console.log(`# flood from ${sources.join(' ')}: ${JSON.stringify(flood)}; caller: ${JSON.stringify(during)}; most transactions: ${mostTransactions}`);
      assert.equal(flood.sent, COUNT);
      assert.ok(during.registered && during.confirmed && during.received >= 50,
        `the honest client registered and called with audio both ways (werift sent ${during.sent}, got ${during.received} back through SIPp's echo)`);
      const inside = (t: number): boolean => t > flood.startedAt && t < flood.endedAt;
      assert.ok(inside(during.at.registered) && inside(during.at.confirmed) && inside(during.at.media),
        `registered, answered and heard its echo while the flood ran: ${JSON.stringify(during.at)} within ${flood.startedAt}-${flood.endedAt}`);
      assert.equal(flood.replies, flood.distinct, 'no INVITE was answered twice: nothing retransmitted toward the flood\'s sources');
      assert.ok(flood.bytesReceived < flood.bytesSent, `no amplification: ${flood.bytesReceived} bytes back for ${flood.bytesSent} sent`);
      return { flood, during, mostTransactions };
    } finally {
      clearInterval(sampler);
    }
  }

  it('a warm-up call, then the baseline', () => outcome.run(async () => {
    // A first call warms every code path (and lazy module state) before the baseline.
    const t0 = Date.now();
    const warm = await call();
    floodSeconds = Math.min(20, Math.max(8, Math.ceil((2 * (Date.now() - t0)) / 1000)));
    assert.ok(warm.confirmed && warm.received >= 50, `warm-up call: ${JSON.stringify(warm)}`);
    for (let i = 0; i < 100 && (gw.counters().wsConnections > 0 || gw.counters().liveCalls > 0 || gw.counters().transactions > 0); i++) await sleep(50);
    gw.events.events.length = 0;
    base = { ws: gw.counters().wsConnections, heap: heapAfterGc() };
    assert.equal(base.ws, 0);
  }));

  it('from one address (127.0.0.2): 60 challenged once each, then banned and 19,940 dropped unanswered; the honest client calls meanwhile', () => outcome.run(async () => {
    const before = gw.counters();
    const { flood, mostTransactions } = await floodWithCall([ATTACKER]);
    assert.deepEqual(flood.statuses, { 407: RATE_LIMIT }, 'the first 60 got their one challenge, the rest nothing');
    const c = gw.counters();
    assert.equal(c.screenedDrops - before.screenedDrops, COUNT - RATE_LIMIT, 'every INVITE past the limit was dropped before any transaction');
    assert.equal(c.bannedAddresses, 1);
    const bans = gw.events.events.filter((e) => e.event === 'flood-banned');
    assert.deepEqual(bans.map((e) => [e.address, e.level]), [[ATTACKER, 'warn']], 'one ban, logged once');
    assert.ok(mostTransactions <= 10, `the flood kept no transactions: at most ${mostTransactions} open (the honest call's)`);
  }));

  it('from 500 addresses (40 each, under the rate limit): each INVITE that arrives challenged once, statelessly; the honest client calls meanwhile', () => outcome.run(async () => {
    const before = gw.counters();
    const { flood, mostTransactions } = await floodWithCall(['127.2.0.1+500']);
    // Over UDP a loaded machine may lose datagrams (the socket's receive buffer): what
    // arrives must be answered, once, and most must arrive.
    assert.deepEqual(Object.keys(flood.statuses), ['407'], `only challenges: ${JSON.stringify(flood.statuses)}`);
    assert.ok(flood.replies >= COUNT / 2, `answered: ${flood.replies} of ${COUNT}`);
    const c = gw.counters();
    assert.equal(c.screenedDrops, before.screenedDrops, 'no address reached the rate limit');
    // The scanner-style half never opens a transaction; the forged credentials must be
    // checked in one, and it ends with its single challenge.
    const transactions = c.serverTransactionsCreated - before.serverTransactionsCreated;
    const stateless = c.statelessResponses - before.statelessResponses;
    assert.ok(transactions <= COUNT / 2 + 20, `transactions only for the credentials to check: ${transactions}`);
    assert.ok(stateless >= flood.replies - transactions, `the rest answered statelessly: ${stateless} of ${flood.replies} replies`);
    assert.ok(mostTransactions <= 10, `no transactions piled up: at most ${mostTransactions} open`);
    const banned = new Set(gw.events.events.filter((e) => e.event === 'auth-banned' && String(e.source).startsWith('127.2.'))
      .map((e) => String(e.source).split(':')[0]));
    assert.equal(banned.size, 500, `the made-up credentials got each address banned for alice (per address, user): ${banned.size}`);
  }));

  it('afterwards: no transaction left, WebSocket count and heap back at their baseline', () => outcome.run(async () => {
    // The timers: transactions' (64*T1 here), and the monitor's wait for an INVITE's call (5 s).
    await sleep(Math.max(0, lastFloodEnd + 6_500 - Date.now()));
    for (let i = 0; i < 200 && (gw.counters().transactions > 0 || gw.counters().wsConnections > base.ws); i++) await sleep(50);
    const c = gw.counters();
    assert.equal(c.transactions, 0, 'every transaction ended once its timers ran');
    assert.equal(c.dialogs, 0);
    assert.equal(c.wsConnections, base.ws, 'the WebSocket count is back at its baseline');
    // The test's own copy of the gateway's log lines is not the gateway's memory.
    gw.events.events.length = 0;
    const heap = heapAfterGc();
    console.log(`# baseline heap ${(base.heap / 2 ** 20).toFixed(1)} MiB, after ${(heap / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(heap - base.heap < 5 * 2 ** 20, `heap within 5 MiB of the baseline: +${((heap - base.heap) / 2 ** 20).toFixed(2)} MiB`);
  }));
});
