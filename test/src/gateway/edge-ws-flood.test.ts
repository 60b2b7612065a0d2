// Issue 8 acceptance, the WebSocket flood: 2,000 SIP WebSockets from 127.0.0.2, opened
// 200 at a time and held (a third sending garbage, a third CRLF keepalives, a third
// silent but answering pings). The per-address limit holds (never more than
// websocket.maxPerAddress open from it, the rest refused 429), every held connection
// is cut 1008 when it has not authenticated in time, and meanwhile JsSIP with werift on
// 127.0.0.3 registers and calls SIPp (uas, RTP echo) with audio both ways. Afterwards
// no transaction is left, the gateway's WebSocket count is back to its baseline and so is its heap, after GC,
// within 5 MiB. The flood and the caller run in their own processes
// (ws-flood-client.ts): this process's heap is the gateway's.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startSipp, type SippRun } from '../sip/sipp.js';
import { CALLER, DOMAIN, assertReleasedAndStop, sleep, startGateway, type TestGateway } from './harness.js';
import { ATTACKER, CLIENT, SuiteOutcome, party, type CallerResult } from './edge-attack.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const CLIENT_SCRIPT = fileURLToPath(new URL('./ws-flood-client.js', import.meta.url));
const MAX_PER_ADDRESS = 50;

interface FloodResult {
  attempted: number; admitted: number; refused: Record<string, number>; closed: Record<string, number>; ms: number;
  startedAt: number; endedAt: number;
}

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('a flood of 2,000 WebSockets from one address', { timeout: 150_000 }, () => {
  let gw: TestGateway;
  let sipp: SippRun | null = null;
  const outcome = new SuiteOutcome();
  before(async () => {
    gw = await startGateway({
      ports: { min: 19200, max: 19299 },
      edit: (raw) => {
        raw.websocket = { maxPerAddress: MAX_PER_ADDRESS, authTimeout: 6, pingInterval: 1 };
        // Short transaction timers (64*T1 = 3.2 s): "once the timers ran" is seconds away.
        raw.sip = { timers: { T1: 50 } };
        (raw.media as Record<string, unknown>).workers = 1;
      },
    });
    sipp = await startSipp({ port: gw.trunkPort, args: ['-sn', 'uas', '-rtp_echo'], timeoutSec: 140 });
  });
  after(async () => {
    await sipp?.stop();
    await assertReleasedAndStop(gw, outcome.passed);
  });

  it('the limits hold, the honest client calls with audio both ways, and the gateway comes back to its baseline', () => outcome.run(async () => {
    const url = `ws://127.0.0.1:${gw.listeningPoints().find((p) => p.protocol === 'ws')!.port}`;
    const call = (): Promise<CallerResult> => party<CallerResult>(CLIENT_SCRIPT, ['caller', url, CALLER.username, CALLER.password, CLIENT, '1000', DOMAIN], 60_000);
    // A first call warms every code path (and lazy module state) before the baseline.
    const warm = await call();
    assert.ok(warm.confirmed && warm.received >= 50, `warm-up call: ${JSON.stringify(warm)}`);
    for (let i = 0; i < 100 && (gw.counters().wsConnections > 0 || gw.counters().liveCalls > 0); i++) await sleep(50);
    const base = { ws: gw.counters().wsConnections, heap: heapAfterGc() };
    assert.equal(base.ws, 0);

    let most = 0;
    const sampler = setInterval(() => { most = Math.max(most, gw.wsAdmission.limits.openFrom(ATTACKER)); }, 20);
    const flooding = party<FloodResult>(CLIENT_SCRIPT, ['flood', url, '2000', ATTACKER], 90_000);
    await sleep(1_000);
    const during = await call();
    const flood = await flooding;
    clearInterval(sampler);
    console.log(`flood: ${JSON.stringify(flood)}; caller during it: ${JSON.stringify(during)}; most open from ${ATTACKER}: ${most}`);

    assert.equal(flood.attempted, 2000);
    assert.ok(most <= MAX_PER_ADDRESS, `never more than ${MAX_PER_ADDRESS} open from the attacker (saw ${most})`);
    assert.equal(flood.admitted + (flood.refused['429'] ?? 0), 2000, `admitted or refused 429: ${JSON.stringify(flood)}`);
    assert.ok(flood.admitted >= MAX_PER_ADDRESS && flood.admitted < 2000, `some held, most refused: ${flood.admitted}`);
    assert.deepEqual(Object.keys(flood.closed), ['1008'], 'every held connection was cut by policy (not authenticated in time)');
    assert.equal(flood.closed['1008'], flood.admitted);
    assert.ok(during.registered && during.confirmed, `the honest client registered and called during the flood: ${JSON.stringify(during)}`);
    assert.ok(during.received >= 50, `audio both ways: werift sent ${during.sent}, got ${during.received} back through SIPp's echo`);
    const inside = (t: number): boolean => t > flood.startedAt && t < flood.endedAt;
    assert.ok(inside(during.at.registered) && inside(during.at.confirmed) && inside(during.at.media),
      `registered, answered and heard its echo while the flood ran: ${JSON.stringify(during.at)} within ${flood.startedAt}-${flood.endedAt}`);
    const suppressed = gw.events.events.filter((e) => e.event === 'refusals-suppressed' && e.address === ATTACKER);
    const lines = gw.events.events.filter((e) => (e.event === 'ws-refused' || e.event === 'ws-closed') && String(e.source).startsWith(`${ATTACKER}:`));
    assert.ok(lines.length < 200, `the log was not flooded: ${lines.length} refusal lines`);
    gw.wsAdmission.flushRefusals();
    const counted = gw.events.events.filter((e) => e.event === 'refusals-suppressed' && e.address === ATTACKER)
      .reduce((n, e) => n + Number(e.count), 0);
    assert.equal(lines.length + counted, (flood.refused['429'] ?? 0) + flood.admitted, `every refusal logged or counted (${suppressed.length} summaries before the flush)`);

    for (let i = 0; i < 100 && (gw.counters().wsConnections > base.ws || gw.counters().transactions > 0); i++) await sleep(50);
    assert.equal(gw.counters().transactions, 0, 'no transaction left once the timers ran');
    const afterFlood = { ws: gw.counters().wsConnections, heap: heapAfterGc() };
    console.log(`baseline heap ${(base.heap / 2 ** 20).toFixed(1)} MiB, after ${(afterFlood.heap / 2 ** 20).toFixed(1)} MiB`);
    assert.equal(afterFlood.ws, base.ws, 'the WebSocket count is back at its baseline');
    assert.ok(afterFlood.heap - base.heap < 5 * 2 ** 20, `heap within 5 MiB of the baseline: +${((afterFlood.heap - base.heap) / 2 ** 20).toFixed(2)} MiB`);
    assert.equal(gw.wsAdmission.limits.open, 0);
  }));
});
