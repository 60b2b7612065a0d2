// Issue 2 acceptance, RFC 3261 timers in real time against SIPp on loopback, with
// T1 = 50 ms so 64*T1 = 3.2 s:
// 3. a UAS that never answers: the INVITE ends with 408 (Timer B) and nothing is left
//    behind (transactions, dialogs, handles);
// 4. retransmissions counted on SIPp's side follow Timer A (INVITE request), Timer G
//    (non-2xx final response, capped at T2) and the 2xx retransmission of §13.3.1.4.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TransportLayer, UserAgent, type SipResponse } from '@trapezoid/sip';
import { SIPP_SCENARIOS, startSipp, type SippResult, type SippRun } from './sipp.js';
import { startUas, type UasProcess } from './uas-process.js';

const T1 = 50;
/** 64*T1 = 3200 is 150 ms past the last nominal copy (3050) at this cap: room for timer lateness. */
const T2 = 300;
/**
 * Measurement slack: copies are timed where SIPp logs them, so either process being
 * busy for a moment shifts one reading; timers firing late is common on a shared
 * 2-core machine, early only by such reading noise.
 */
const LATE_MS = 150;
const EARLY_MS = 10;

function resourceCounts(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

function extraResources(base: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [k, n] of resourceCounts()) {
    const extra = n - (base.get(k) ?? 0);
    for (let i = 0; i < extra; i++) out.push(k);
  }
  return out;
}

/** Send times (ms after the first) of a message retransmitted T1, 2T1, ... capped at cap, before limit. */
function schedule(cap: number, limit: number): number[] {
  const out: number[] = [];
  let t = 0;
  let interval = T1;
  while (t + interval < limit) {
    t += interval;
    out.push(t);
    interval = Math.min(2 * interval, cap);
  }
  return out;
}

/**
 * Checks copies of one message seen on the wire (absolute ms): copy i goes out at its
 * nominal time (the sum of the intervals T1, 2*T1, ... capped at `cap`, counted from the
 * first copy: the stack schedules against deadlines, so one late firing does not delay
 * the next), never early, at most LATE_MS late; and every copy due before `limit`
 * (ms after the first copy, i.e. 64*T1) is there.
 */
function assertRetransmissions(seen: number[], cap: number, limit: number, what: string): number {
  const rel = seen.map((t) => t - seen[0]!);
  const shown = rel.map(Math.round).slice(1).join(', ');
  const nominal = schedule(cap, limit);
  assert.ok(rel.length - 1 >= nominal.length - 1, `${what}: retransmissions at ${shown} ms; expected ${nominal.join(', ')}`);
  let due = 0;
  let interval = T1;
  for (let i = 1; i < rel.length; i++) {
    due += interval;
    assert.ok(rel[i]! >= due - EARLY_MS && rel[i]! <= due + LATE_MS,
      `${what}: copy ${i} at ${Math.round(rel[i]!)} ms, due at ${due} (copies at ${shown} ms)`);
    interval = Math.min(2 * interval, cap);
  }
  assert.ok(due + interval > limit - 5,
    `${what}: a copy due at ${due + interval} ms < ${limit} ms is missing (copies at ${shown} ms)`);
  return rel.length - 1;
}

describe('INVITE to a UAS that never answers (Timer A, Timer B)', { timeout: 30_000 }, () => {
  let sipp: SippRun & { port: number };
  let result: SippResult;
  let response: SipResponse;
  let elapsed = 0;
  let countersAfter: UserAgent['counters'];
  let extraWhileOpen: string[] = [];
  let extraAfterClose: string[] = [];

  before(async () => {
    sipp = await startSipp({ args: ['-sf', join(SIPP_SCENARIOS, 'uas-no-answer.xml'), '-m', '1'], trace: true });
    await new Promise((r) => setTimeout(r, 300)); // SIPp binds before it reads the scenario's first recv
    const base = resourceCounts();
    const transport = new TransportLayer();
    await transport.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
    const ua = new UserAgent({ transport, timers: { T1, T2: 4000 } });
    const start = performance.now();
    const out = ua.request('INVITE', `sip:service@127.0.0.1:${sipp.port}`, {
      body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n',
      contentType: 'application/sdp',
    });
    response = await out.final;
    elapsed = performance.now() - start;
    countersAfter = ua.counters;
    extraWhileOpen = extraResources(base);
    await ua.close();
    await transport.close();
    await new Promise((r) => setTimeout(r, 20)); // a closed socket's handle goes on the next turn
    extraAfterClose = extraResources(base);
    result = await sipp.done;
  });
  after(async () => { await sipp?.stop(); });

  it('ends with a locally made 408 after 64*T1', () => {
    assert.equal(response.status, 408);
    assert.ok(elapsed >= 64 * T1 - 5 && elapsed < 64 * T1 + 300, `408 after ${Math.round(elapsed)} ms`);
  });

  it('retransmits the INVITE on Timer A: T1, 2*T1, 4*T1 ... (not capped by T2), as SIPp counted', () => {
    assert.equal(result.code, 0, result.stdout.slice(-1500));
    const invites = result.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '));
    assert.deepEqual(schedule(Infinity, 64 * T1), [50, 150, 350, 750, 1550, 3150]);
    const n = assertRetransmissions(invites.map((m) => m.at), Infinity, 64 * T1, 'INVITE');
    const row = result.rows.find((r) => r.message === 'INVITE' && r.direction === 'in');
    assert.equal(row?.retrans, n, 'SIPp booked each copy as a retransmission');
  });

  it('leaves no transaction, dialog or handle behind', () => {
    assert.equal(countersAfter.transactions, 0);
    assert.equal(countersAfter.dialogs, 0);
    // While the transport is open its UDP socket is the only handle it holds.
    assert.deepEqual(extraWhileOpen, ['UDPWrap']);
    assert.deepEqual(extraAfterClose, []);
  });
});

describe('INVITE over TCP to a UAS that never answers', { timeout: 30_000 }, () => {
  let sipp: (SippRun & { port: number }) | undefined;
  after(async () => { await sipp?.stop(); });

  it('is sent once (no Timer A on a reliable transport) and still ends with 408 at 64*T1', async () => {
    sipp = await startSipp({
      args: ['-sf', join(SIPP_SCENARIOS, 'uas-no-answer.xml'), '-m', '1', '-t', 't1'], trace: true,
    });
    await new Promise((r) => setTimeout(r, 300));
    const transport = new TransportLayer();
    await transport.listen({ protocol: 'tcp', address: '127.0.0.1', port: 0 });
    const ua = new UserAgent({ transport, timers: { T1, T2: 4000 } });
    const start = performance.now();
    const out = ua.request('INVITE', `sip:service@127.0.0.1:${sipp.port};transport=tcp`);
    const res = await out.final;
    const elapsed = performance.now() - start;
    const counters = ua.counters;
    // Closing our end of the connection mid-call would fail SIPp's call: let it finish first.
    const r = await sipp.done;
    await ua.close();
    await transport.close();
    assert.equal(res.status, 408);
    assert.ok(elapsed >= 64 * T1 - 5 && elapsed < 64 * T1 + 300, `408 after ${Math.round(elapsed)} ms`);
    assert.equal(counters.transactions, 0);
    assert.equal(r.code, 0, r.stdout.slice(-1500));
    assert.equal(r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('INVITE ')).length, 1);
    assert.equal(r.rows.find((x) => x.message === 'INVITE')?.retrans, 0);
  });
});

describe('response retransmissions toward a UAC that never ACKs (Timer G, §13.3.1.4)', { timeout: 30_000 }, () => {
  let uas: UasProcess;
  const runs: SippRun[] = [];
  before(async () => {
    uas = await startUas(['--udp', '0', '--t1', String(T1), '--t2', String(T2)]);
  });
  after(async () => {
    await Promise.all(runs.map((r) => r.stop()));
    await uas.stop();
  });

  /** One traced SIPp call from `scenario` to the UAS's user `user`. */
  async function callUas(scenario: string, user: string): Promise<SippResult> {
    const run = await startSipp({
      args: ['-sf', join(SIPP_SCENARIOS, scenario), '-s', user, '-m', '1', `127.0.0.1:${uas.port('udp')}`],
      trace: true,
    });
    runs.push(run);
    return run.done;
  }

  it('retransmits a 486 on Timer G (T1 doubling, capped at T2) until Timer H', async () => {
    const r = await callUas('uac-no-ack-486.xml', 'busy');
    assert.equal(r.code, 0, r.stdout.slice(-1500));
    const copies = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 486'));
    assert.deepEqual(schedule(T2, 64 * T1), [50, 150, 350, 650, 950, 1250, 1550, 1850, 2150, 2450, 2750, 3050]);
    const n = assertRetransmissions(copies.map((m) => m.at), T2, 64 * T1, '486');
    assert.equal(r.rows.find((x) => x.message === '486')?.retrans, n);
    const s = await uas.stats();
    assert.equal(s.ua.transactions, 0, 'Timer H ended the server transaction');
  });

  it('retransmits an unACKed 200 (T1 doubling, capped at T2), then sends BYE after 64*T1', async () => {
    const before = await uas.stats();
    const r = await callUas('uac-no-ack-200.xml', 'service');
    assert.equal(r.code, 0, r.stdout.slice(-1500));
    const received = r.messages.filter((m) => m.direction === 'received');
    const copies = received.filter((m) => m.startLine.startsWith('SIP/2.0 200'));
    const n = assertRetransmissions(copies.map((m) => m.at), T2, 64 * T1, '200');
    assert.equal(r.rows.find((x) => x.message === '200' && x.direction === 'in')?.retrans, n);
    const bye = received.find((m) => m.startLine.startsWith('BYE '));
    assert.ok(bye, 'the UAS ended the unACKed dialog with BYE');
    const byeAt = bye.at - copies[0]!.at;
    assert.ok(byeAt >= 64 * T1 - EARLY_MS && byeAt <= 64 * T1 + LATE_MS, `BYE ${Math.round(byeAt)} ms after the first 200`);
    const s = await uas.stats();
    assert.equal(s.ackTimeouts - before.ackTimeouts, 1);
    assert.equal(s.ua.dialogs, 0);
  });
});
