// Issue 8 item 6 acceptance, before any transaction exists (RFC 3261 §8.2.7): an
// unauthenticated INVITE over UDP gets exactly one 407 and creates no transaction; an
// address that floods is banned (its requests dropped unanswered) while another is
// served; a SIP scanner (SIPVicious svwar, the real one) finds nothing and is banned.
// Attackers send from 127.0.0.2 (svwar from 127.0.0.1: it ignores its -b option and
// the kernel picks 127.0.0.1 on loopback); the legitimate client, SIPp registering
// with digest over UDP, from 127.0.0.3.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SIPP_SCENARIOS, startSipp } from '../sip/sipp.js';
import { CALLER, assertReleasedAndStop, sleep, startGateway, udpPort, SuiteOutcome, type TestGateway } from './harness.js';
import type { SipResponse } from '@trapezoid/sip';
import { RawSipClient, requestText, startLine } from './raw-sip.js';

const PORTS = { min: 19560, max: 19579 };
const ATTACKER = '127.0.0.2';
const CLIENT = '127.0.0.3';
/** Short transaction timers: a transactional 407 would be resent at 50, 150, 350, 750 ms ... */
const T1 = 50;

describe('request screen: stateless challenge, rate limit and ban, scanners', { timeout: 90_000 }, () => {
  let gw: TestGateway;
  const outcome = new SuiteOutcome();
  const run = outcome.run;
  const closers: Array<() => unknown> = [];
  before(async () => {
    gw = await startGateway({
      ports: PORTS, workers: 1,
      edit: (raw) => {
        raw.security = { rateLimit: { requests: 20, window: 2, ban: 60 } };
        raw.sip = { timers: { T1 } };
        // The trunk lives elsewhere: svwar can only send from 127.0.0.1 here, and a
        // trunk's address is never banned.
        raw.trunks[0]!.address = '127.0.0.20';
      },
    });
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    await assertReleasedAndStop(gw, outcome.passed);
  });
  async function attacker(localAddress = ATTACKER): Promise<RawSipClient> {
    const c = await RawSipClient.open('udp', udpPort(gw), { localAddress });
    closers.push(() => c.close());
    return c;
  }
  function invite(c: RawSipClient, callId = randomBytes(8).toString('hex'), headers: string[] = []): string {
    return requestText({
      method: 'INVITE', uri: 'sip:1000@127.0.0.1', via: c.viaHeader(), from: `<sip:mallory@${c.sentBy}>;tag=${randomBytes(4).toString('hex')}`,
      to: '<sip:1000@127.0.0.1>', callId, cseq: 1, headers: [`Contact: <sip:mallory@${c.sentBy}>`, ...headers],
    });
  }
  /** SIPp registers CALLER with digest over UDP from 127.0.0.3: the valid client. */
  async function clientRegisters(): Promise<void> {
    const reg = await startSipp({
      address: CLIENT, trace: true,
      args: ['-sf', join(SIPP_SCENARIOS, 'uac-register-auth.xml'), '-s', CALLER.username, '-au', CALLER.username, '-ap', CALLER.password,
        '-m', '1', `127.0.0.1:${udpPort(gw)}`],
    });
    closers.push(() => reg.stop());
    const r = await reg.done;
    assert.equal(r.code, 0, `SIPp at 127.0.0.3 registered (401, then 200): ${r.messages.map((m) => `${m.direction} ${m.startLine}`).join(' | ')}`);
  }

  it('an INVITE without credentials over UDP gets exactly one 407, never retransmitted, and no transaction; its ACK gets nothing', () => run(async () => {
    const c = await attacker('127.0.0.5');
    const before = gw.counters();
    const first = invite(c, 'stateless-1');
    c.send(first);
    const res = await c.response('1 INVITE');
    assert.deepEqual([res.status, res.reason], [407, 'Proxy Authentication Required']);
    assert.match(res.headers.get('proxy-authenticate') ?? '', /^Digest realm="trapezoid"/);
    // A transaction would resend the 407 at 2*T1, 4*T1 ... (Timer G) until its ACK.
    await sleep(32 * T1);
    assert.deepEqual(c.received.map(startLine), ['407 Proxy Authentication Required'], 'exactly one 407');
    const after1 = gw.counters();
    assert.equal(after1.serverTransactionsCreated, before.serverTransactionsCreated, 'no server transaction was created');
    assert.equal(after1.transactions, 0);
    assert.equal(after1.statelessResponses, before.statelessResponses + 1);
    // The ACK of the 407 (RFC 3261 §17.1.1.3) matches nothing and is absorbed.
    c.send(requestText({
      method: 'ACK', uri: 'sip:1000@127.0.0.1', via: res.headers.get('via')!, from: res.headers.get('from')!, to: res.headers.get('to')!,
      callId: 'stateless-1', cseq: 1,
    }));
    // The same INVITE again (a retransmission): the same 407, same To tag (§8.2.7).
    c.send(first);
    await sleep(300);
    assert.equal(c.received.length, 2, c.received.map(startLine).join(' | '));
    const [to1, to2] = c.received.map((m) => m.headers.get('to'));
    assert.equal(to2, to1, 'the same To tag for every copy of the request');
    assert.equal(gw.counters().serverTransactionsCreated, before.serverTransactionsCreated);
    // Made-up credentials get a transaction (they must be checked), but their challenge
    // too goes out once and the transaction ends with it.
    const forged = invite(c, 'stateless-2', ['Proxy-Authorization: Digest username="alice", realm="trapezoid", nonce="forged", uri="sip:1000@127.0.0.1", response="00000000000000000000000000000000"']);
    c.send(forged);
    const again = await c.next((m) => !m.isRequest && m.callId === 'stateless-2') as SipResponse;
    assert.equal(again.status, 407);
    await sleep(32 * T1);
    assert.equal(c.received.filter((m) => m.callId === 'stateless-2').length, 1, 'exactly one 407 for the forged credentials too');
    assert.equal(gw.counters().transactions, 0, 'its transaction ended with the challenge');
    await clientRegisters();
  }));

  it('a flood from 127.0.0.2 is cut off after the limit and the address banned; 127.0.0.3 is served meanwhile', () => run(async () => {
    const c = await attacker();
    for (let i = 0; i < 60; i++) c.send(invite(c));
    await sleep(500);
    const answered = c.received.length;
    assert.equal(answered, 20, `the first 20 requests (the limit) were answered, the rest dropped: ${answered}`);
    const banned = gw.events.events.find((e) => e.event === 'flood-banned');
    assert.ok(banned, 'the ban was logged');
    assert.equal(banned.address, ATTACKER);
    assert.equal(banned.level, 'warn');
    assert.match(String(banned.callId), /^[0-9a-f]{16}$/, 'with the Call-ID of the request that tipped it over');
    // Still banned after the window: nothing is answered.
    await sleep(2_100);
    c.send(invite(c));
    await clientRegisters();
    await sleep(200);
    assert.equal(c.received.length, answered, 'the banned address gets no answer');
    assert.ok(gw.counters().bannedAddresses >= 1);
    assert.equal(gw.events.events.filter((e) => e.event === 'flood-banned').length, 1, 'logged once, not per dropped request');
  }));

  it('SIPVicious svwar finds no extension: its requests are dropped unanswered and its address banned; a valid client is still served', () => run(async () => {
    const dropsBefore = gw.counters().screenedDrops;
    const repliesBefore = gw.counters().statelessResponses;
    const out = await new Promise<string>((resolve) => {
      execFile('svwar', ['-e100-120', '--maximumtime=2', `udp://127.0.0.1:${udpPort(gw)}`], { timeout: 30_000 }, (_err, stdout, stderr) => resolve(stdout + stderr));
    });
    assert.match(out, /found nothing/, out);
    const refused = gw.events.events.find((e) => e.event === 'scanner-refused');
    assert.ok(refused, 'the scanner was logged');
    assert.deepEqual([refused.scanner, refused.userAgent, refused.address, refused.banned], ['friendly-scanner', 'friendly-scanner', '127.0.0.1', true]);
    assert.ok(gw.counters().screenedDrops > dropsBefore, 'its requests were dropped');
    assert.equal(gw.counters().statelessResponses, repliesBefore, 'and none answered');
    await clientRegisters();
  }));
});
