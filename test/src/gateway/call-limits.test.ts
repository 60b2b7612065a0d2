// Issue 8 item 6 acceptance, toll-fraud guards: each test breaks one rule and checks the
// exact refusal (status and reason phrase, as JsSIP in Node or SIPp saw it, and the
// gateway's log line), then that a valid call is still served. One gateway for the
// file; each rule has its own user so the tests do not lean on each other:
// - pat may dial only echo and 1xxx: 900123 is 403 "Dial pattern not allowed";
// - solo may hold one call: a second is 403 "Too many concurrent calls";
// - burst may start two calls a minute: the third is 403 "Call rate limit reached";
// - the SIPp trunk may carry one call: a second is 503 "Trunk call limit reached" (with Retry-After);
// - an AOR may have three contacts: a fourth REGISTER is 403 "Too many registered contacts";
// - an inbound call rings at most two of them, the most recently registered (agents over
//   UDP in raw SIP here: JsSIP in Node keeps a process alive 32 s after a rejected INVITE,
//   its Timer H not being cleared on the ACK).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startSipp, type SippRun } from '../sip/sipp.js';
import { nextEvent } from '../sip/jssip-node.js';
import { AGENT, AGENT_NUMBER, CALLER, DOMAIN, GATEWAY_SCENARIOS, assertReleasedAndStop, sleep, startGateway, udpPort, SuiteOutcome, type TestGateway } from './harness.js';
import { callFails, callWithWerift, echoed, registerUa, stopUa, type JsSipUA } from './jssip-caller.js';
import { RawSipClient, requestText } from './raw-sip.js';
import { createAuthorization, type SipResponse } from '@trapezoid/sip';

const PORTS = { min: 19580, max: 19639 };
const PAT = { username: 'pat', password: 'pat-secret' };
const SOLO = { username: 'solo', password: 'solo-secret' };
const BURST = { username: 'burst', password: 'burst-secret' };

describe('toll-fraud guards: dial patterns, call limits, contacts per AOR, fork width', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  const outcome = new SuiteOutcome();
  const run = outcome.run;
  const uas: JsSipUA[] = [];
  const closers: Array<() => void> = [];
  let sipp: SippRun | null = null;
  before(async () => {
    gw = await startGateway({
      ports: PORTS, workers: 1, ringTimeout: 2,
      edit: (raw) => {
        raw.users = [
          CALLER, AGENT,
          { ...PAT, dialPatterns: ['echo', '1\\d{3}'] },
          { ...SOLO, maxCalls: 1 },
          { ...BURST, callsPerMinute: 2 },
        ];
        raw.trunks[0]!.maxCalls = 1;
        raw.security = { maxContactsPerAor: 3, maxForks: 2 };
      },
    });
  });
  after(async () => {
    await Promise.all(uas.splice(0).map((ua) => stopUa(ua)));
    for (const close of closers.splice(0)) close();
    await sipp?.stop();
    await assertReleasedAndStop(gw, outcome.passed);
  });
  async function client(user: { username: string; password: string }): Promise<JsSipUA> {
    const ua = await registerUa(gw, {}, user);
    uas.push(ua);
    return ua;
  }
  function refusals(rule: string): Array<Record<string, unknown>> {
    return gw.events.events.filter((e) => e.event === 'call-refused' && e.rule === rule);
  }
  /** A call to echo that connects and hears its audio back, then hangs up. */
  async function echoCall(ua: JsSipUA): Promise<void> {
    const call = await callWithWerift(ua, 'echo');
    assert.ok((await echoed(call, 10)).received >= 10, 'echoed audio came back');
    const ended = nextEvent(call.session, 'ended');
    call.session.terminate();
    await ended;
  }

  it('a number outside the user\'s dial patterns is refused 403 "Dial pattern not allowed"; an allowed one is served', () => run(async () => {
    const ua = await client(PAT);
    const started = gw.counters().callsStarted;
    assert.deepEqual(await callFails(ua, '900123'), { status: 403, reason: 'Dial pattern not allowed' });
    assert.equal(gw.counters().callsStarted, started, 'nothing was set up');
    const [r] = refusals('dial-pattern');
    assert.ok(r, 'the refusal was logged');
    assert.deepEqual([r.user, r.dialled, r.status, r.transport], ['pat', '900123', 403, 'ws']);
    assert.equal(typeof r.callId, 'string');
    await echoCall(ua);
  }));

  it('a second concurrent call of a one-call user is refused 403 "Too many concurrent calls"; once the first ends, a new one is served', () => run(async () => {
    const ua = await client(SOLO);
    const first = await callWithWerift(ua, 'echo');
    assert.deepEqual(await callFails(ua, 'echo'), { status: 403, reason: 'Too many concurrent calls' });
    assert.equal(refusals('user-calls')[0]?.user, 'solo');
    const ended = nextEvent(first.session, 'ended');
    first.session.terminate();
    await ended;
    for (const until = Date.now() + 3_000; gw.counters().liveCalls > 0 && Date.now() < until;) await sleep(50);
    await echoCall(ua);
  }));

  it('the third call within a minute of a two-per-minute user is refused 403 "Call rate limit reached"; another user is served', () => run(async () => {
    const ua = await client(BURST);
    await echoCall(ua);
    await echoCall(ua);
    assert.deepEqual(await callFails(ua, 'echo'), { status: 403, reason: 'Call rate limit reached' });
    assert.equal(refusals('user-rate')[0]?.user, 'burst');
    await echoCall(await client(CALLER));
  }));

  it('a second call through a one-call trunk is refused 503 "Trunk call limit reached"; once the first ends, the trunk is used again', () => run(async () => {
    sipp = await startSipp({ port: gw.trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', '2'], trace: true, timeoutSec: 60 });
    const ua = await client(CALLER);
    const first = await callWithWerift(ua, '1000');
    const other = await client(PAT);
    assert.deepEqual(await callFails(other, '1001'), { status: 503, reason: 'Trunk call limit reached' });
    const [r] = refusals('trunk-calls');
    assert.deepEqual([r?.trunk, r?.user, r?.limit], ['sipp', PAT.username, 1]);
    const ended = nextEvent(first.session, 'ended');
    first.session.terminate();
    await ended;
    for (const until = Date.now() + 3_000; gw.counters().liveCalls > 0 && Date.now() < until;) await sleep(50);
    const second = await callWithWerift(other, '1002');
    assert.ok((await echoed(second, 10)).received >= 10, 'SIPp echoed the audio of the call through the trunk');
    second.session.terminate();
    const r2 = await sipp.done;
    assert.equal(r2.code, 0, `SIPp saw exactly two calls, both completed: ${r2.stdout.slice(-600)}`);
    await sipp.stop();
    sipp = null;
  }));

  it('a fourth contact for one AOR is refused 403 "Too many registered contacts"; an inbound call rings only the two most recent', () => run(async () => {
    // Agents over UDP (raw SIP: each registers with digest and answers every INVITE 486),
    // registered one after the other.
    const agents: RawSipClient[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await RawSipClient.open('udp', udpPort(gw));
      agents.push(a);
      closers.push(() => a.close());
      assert.equal((await registerAgent(a)).status, 200);
      busyOnInvite(a);
    }
    const aor = `sip:${AGENT.username}@${DOMAIN}`;
    assert.equal(gw.registrar.lookup(aor).length, 3);
    const fourth = await RawSipClient.open('udp', udpPort(gw));
    closers.push(() => fourth.close());
    const f = await registerAgent(fourth);
    assert.deepEqual([f.status, f.reason], [403, 'Too many registered contacts']);
    const refused = gw.events.events.find((e) => e.event === 'register-refused' && e.status === 403);
    assert.deepEqual([refused?.aor, refused?.limit, refused?.transport], [aor, 3, 'udp']);
    assert.equal(gw.registrar.lookup(aor).length, 3, 'nothing was added');
    assert.equal((await registerAgent(agents[0]!, 3)).status, 200, 'a refresh at the cap passes');

    sipp = await startSipp({
      port: gw.trunkPort, trace: true,
      args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-expect-486.xml'), '-s', AGENT_NUMBER, '-m', '1', `127.0.0.1:${udpPort(gw)}`],
    });
    const r = await sipp.done;
    assert.equal(r.code, 0, `every agent rung was busy: 486 (${r.stdout.slice(-600)})`);
    const rung = agents.map((a) => a.received.filter((m) => m.isRequest && m.method === 'INVITE').length > 0);
    assert.deepEqual(rung, [false, true, true], 'the two most recently registered rang, the oldest did not');
    const limited = gw.events.events.find((e) => e.event === 'fork-limited');
    assert.deepEqual([limited?.registered, limited?.rung], [3, 2]);
    await sipp.stop();
    sipp = null;
  }));

  /** REGISTER AGENT from `a` (its own Contact), answering the 401 with digest; the final response. */
  async function registerAgent(a: RawSipClient, cseq = 1): Promise<SipResponse> {
    const uri = `sip:${DOMAIN}`;
    const callId = `reg-${a.sentBy}`;
    const base = {
      method: 'REGISTER', uri, from: `<sip:${AGENT.username}@${DOMAIN}>;tag=${a.sentBy.replace(/\W/g, '')}`, to: `<sip:${AGENT.username}@${DOMAIN}>`, callId,
    };
    const contact = [`Contact: <sip:${AGENT.username}@${a.sentBy}>`, 'Expires: 300'];
    a.send(requestText({ ...base, via: a.viaHeader(), cseq, headers: contact }));
    const challenge = await a.response(`${cseq} REGISTER`);
    assert.equal(challenge.status, 401);
    const authorization = createAuthorization(challenge.headers.get('www-authenticate')!, { method: 'REGISTER', uri }, AGENT);
    a.send(requestText({ ...base, via: a.viaHeader(), cseq: cseq + 1, headers: [...contact, `Authorization: ${authorization}`] }));
    return a.response(`${cseq + 1} REGISTER`);
  }

  /** Answers every INVITE `a` receives with 486 Busy Here (and absorbs the ACK). */
  function busyOnInvite(a: RawSipClient): void {
    void (async () => {
      for (let from = 0; ; ) {
        const inv = await a.next((m) => m.isRequest && m.method === 'INVITE', 60_000, from).catch(() => null);
        if (!inv) return;
        from = a.received.indexOf(inv) + 1;
        const h = inv.headers;
        a.send(`SIP/2.0 486 Busy Here\r\n${h.getAll('via').map((v) => `Via: ${v}\r\n`).join('')}From: ${h.get('from')}\r\n` +
          `To: ${h.get('to')};tag=busy\r\nCall-ID: ${inv.callId}\r\nCSeq: ${h.get('cseq')}\r\nContent-Length: 0\r\n\r\n`);
      }
    })();
  }
});
