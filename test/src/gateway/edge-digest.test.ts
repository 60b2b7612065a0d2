// Issue 8 acceptance, digest hardening: a captured Authorization is refused when
// replayed (REGISTER and INVITE, over UDP and WebSocket); a password guesser is banned
// per (address, user) while its neighbours and the honest client are served; an
// unknown user, a wrong password and a forged nonce get the same answer in the same
// time; every failure is logged with where it came from, never with a secret.
// Attackers send from 127.0.0.2, the honest clients (SIPp over UDP, JsSIP over
// WebSocket) from 127.0.0.3.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createAuthorization, parseChallenge, type SipMessage } from '@trapezoid/sip';
import type { RTCPeerConnection } from 'werift';
import { boundSocket, loadJsSIP, nextEvent, setMediaAddress } from '../sip/jssip-node.js';
import { SIPP_SCENARIOS, startSipp } from '../sip/sipp.js';
import {
  AGENT, CALLER, DOMAIN, GATEWAY_SCENARIOS, assertReleasedAndStop, startGateway, udpPort, type TestGateway,
} from './harness.js';
import { RawSipClient } from './raw-sip.js';
import { ATTACKER, CLIENT, ask, replayOf, request, SuiteOutcome } from './edge-attack.js';

const JsSIP = loadJsSIP();
setMediaAddress('127.0.0.3');
type JsSipUA = InstanceType<typeof JsSIP.UA>;
const PORTS = { min: 19000, max: 19099 };

function wsUrl(gw: TestGateway): string {
  return `ws://127.0.0.1:${gw.listeningPoints().find((p) => p.protocol === 'ws')!.port}`;
}

/** Requests the gateway received that carried credentials, as text (what a sniffer on the path would hold). */
function captureCredentials(gw: TestGateway): string[] {
  const seen: string[] = [];
  gw.transport.on('message', (m: SipMessage) => {
    if (m.isRequest && (m.headers.has('authorization') || m.headers.has('proxy-authorization'))) seen.push(m.toBuffer().toString('utf8'));
  });
  return seen;
}

async function jssipClient(gw: TestGateway, user: { username: string; password: string }): Promise<JsSipUA> {
  const ua = new JsSIP.UA({
    sockets: [boundSocket(JsSIP, wsUrl(gw), CLIENT)], uri: `sip:${user.username}@${DOMAIN}`, password: user.password,
    register: true,
  });
  const registered = nextEvent(ua, 'registered', 'registrationFailed');
  ua.start();
  await registered;
  return ua;
}

/** JsSIP calls the gateway's echo route and hangs up once answered. */
async function echoCall(ua: JsSipUA): Promise<void> {
  const session = ua.call(`sip:echo@${DOMAIN}`, {
    mediaConstraints: { audio: false, video: false },
    eventHandlers: { peerconnection: (e) => { (e.peerconnection as unknown as RTCPeerConnection).addTransceiver('audio', { direction: 'sendrecv' }); } },
  });
  await nextEvent(session, 'confirmed', 'failed');
  const ended = nextEvent(session, 'ended', 'failed');
  session.terminate();
  await ended;
}

async function stopUa(ua: JsSipUA | null): Promise<void> {
  if (!ua?.isConnected()) return;
  const gone = nextEvent(ua, 'disconnected');
  ua.stop();
  await gone;
}

/** A REGISTER for `user` from `c`, with extra header lines (credentials). */
function register(c: RawSipClient, user: string, extra: string[] = []): string {
  return request(c, 'REGISTER', `sip:${DOMAIN}`, user, DOMAIN, extra);
}

/** REGISTER without, then with credentials for `password`; the final status of the second. */
async function tryPassword(c: RawSipClient, user: string, password: string): Promise<{ status: number; reason: string; stale: boolean }> {
  const challenge = await ask(c, register(c, user));
  assert.equal(challenge.status, 401);
  const value = createAuthorization(challenge.headers.get('www-authenticate')!, { method: 'REGISTER', uri: `sip:${DOMAIN}` }, { username: user, password });
  const r = await ask(c, register(c, user, [`Authorization: ${value}`]));
  return { status: r.status, reason: r.reason, stale: /stale=true/i.test(r.headers.get('www-authenticate') ?? '') };
}

function registeredContacts(gw: TestGateway, aor: string): string[] {
  return gw.registrar.lookup(aor).map((b) => b.contact);
}

describe('digest hardening: replay, brute force, indistinguishable failures', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  let captured: string[];
  const closers: Array<() => Promise<void>> = [];
  const outcome = new SuiteOutcome();
  before(async () => {
    gw = await startGateway({
      ports: PORTS,
      edit: (raw) => {
        raw.auth = { ban: { failures: 5, window: 60, duration: 300 } };
        (raw.media as Record<string, unknown>).workers = 1;
      },
    });
    captured = captureCredentials(gw);
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await assertReleasedAndStop(gw, outcome.passed);
  });

  it('UDP: SIPp registers and calls from 127.0.0.3; its captured REGISTER and INVITE replayed from 127.0.0.2 get a fresh challenge and change nothing; SIPp registers again after', () => outcome.run(async () => {
    const target = { address: '127.0.0.1', port: udpPort(gw) };
    const reg = await startSipp({
      address: CLIENT, trace: true,
      args: ['-sf', join(SIPP_SCENARIOS, 'uac-register-auth.xml'), '-s', CALLER.username, '-au', CALLER.username, '-ap', CALLER.password,
        '-m', '1', `127.0.0.1:${target.port}`],
    });
    closers.push(() => reg.stop());
    assert.equal((await reg.done).code, 0, 'SIPp registered');
    const aor = 'sip:alice@127.0.0.1';
    assert.equal(registeredContacts(gw, aor).length, 1);
    const register = captured.find((t) => t.startsWith('REGISTER') && /\/UDP 127\.0\.0\.3/.test(t));
    assert.ok(register, 'the authorized REGISTER was seen');

    const attacker = await RawSipClient.open('udp', target.port, { localAddress: ATTACKER });
    closers.push(async () => attacker.close());
    const evil = `sip:alice@${attacker.sentBy}`;
    const r = await ask(attacker, replayOf(register, { contact: evil, sentBy: attacker.sentBy }));
    assert.deepEqual([r.status, r.reason], [401, 'Unauthorized']);
    assert.match(r.headers.get('www-authenticate') ?? '', /stale=TRUE/, 'RFC 7616: a replayed nonce-count is answered stale=true');
    assert.notEqual(parseChallenge(r.headers.get('www-authenticate')!).nonce, /nonce="([^"]+)"/.exec(register)![1], 'a fresh nonce');
    assert.ok(!registeredContacts(gw, aor).includes(evil), 'the attacker\'s Contact was not installed');

    const callsBefore = gw.counters().callsStarted;
    const inv = await startSipp({
      address: CLIENT, trace: true,
      args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-invite-auth-webrtc.xml'), '-s', 'echo', '-key', 'caller', CALLER.username,
        '-au', CALLER.username, '-ap', CALLER.password, '-auth_uri', `echo@127.0.0.1:${target.port}`, '-m', '1', `127.0.0.1:${target.port}`],
    });
    closers.push(() => inv.stop());
    const invDone = await inv.done;
    assert.equal(invDone.code, 0, `SIPp's authenticated call was answered and hung up: ${invDone.messages.map((m) => `${m.direction} ${m.startLine}`).join('\n')}`);
    assert.equal(gw.counters().callsStarted, callsBefore + 1);
    const invite = captured.find((t) => t.startsWith('INVITE') && /^Proxy-Authorization:/im.test(t));
    assert.ok(invite, 'the authorized INVITE was seen');
    const ri = await ask(attacker, replayOf(invite, { sentBy: attacker.sentBy }));
    assert.deepEqual([ri.status, ri.reason], [407, 'Proxy Authentication Required']);
    assert.match(ri.headers.get('proxy-authenticate') ?? '', /stale=TRUE/);
    assert.equal(gw.counters().callsStarted, callsBefore + 1, 'the replayed INVITE started no call');
    // The honest client is still served: SIPp registers again.
    const again = await startSipp({
      address: CLIENT, trace: true,
      args: ['-sf', join(SIPP_SCENARIOS, 'uac-register-auth.xml'), '-s', CALLER.username, '-au', CALLER.username, '-ap', CALLER.password,
        '-m', '1', `127.0.0.1:${target.port}`],
    });
    closers.push(() => again.stop());
    assert.equal((await again.done).code, 0, 'SIPp registered again');
    assert.ok(registeredContacts(gw, aor).every((c) => !c.includes(ATTACKER)), `no binding of the attacker's: ${registeredContacts(gw, aor).join(', ')}`);
  }));

  it('WebSocket: JsSIP registers and calls from 127.0.0.3; its REGISTER and INVITE replayed over another WebSocket are refused, and it is still served', () => outcome.run(async () => {
    let ua: JsSipUA | null = await jssipClient(gw, CALLER);
    closers.push(() => stopUa(ua));
    await echoCall(ua);
    const register = captured.find((t) => t.startsWith('REGISTER') && /\/WS /.test(t));
    const invite = captured.find((t) => t.startsWith('INVITE') && /\/WS /.test(t));
    assert.ok(register && invite, 'JsSIP\'s authorized REGISTER and INVITE were seen');

    const attacker = await RawSipClient.open('ws', gw.listeningPoints().find((p) => p.protocol === 'ws')!.port, { localAddress: ATTACKER });
    closers.push(async () => attacker.close());
    const aor = `sip:alice@${DOMAIN}`;
    const before = registeredContacts(gw, aor);
    const evil = `sip:alice@${attacker.sentBy};transport=ws`;
    const r = await ask(attacker, replayOf(register, { contact: evil }));
    assert.deepEqual([r.status, r.reason], [401, 'Unauthorized']);
    assert.match(r.headers.get('www-authenticate') ?? '', /stale=TRUE/);
    assert.deepEqual(registeredContacts(gw, aor), before, 'no binding added by the replay');

    const callsBefore = gw.counters().callsStarted;
    const ri = await ask(attacker, replayOf(invite));
    assert.deepEqual([ri.status, ri.reason], [407, 'Proxy Authentication Required']);
    assert.equal(gw.counters().callsStarted, callsBefore, 'the replayed INVITE started no call');

    // The honest client is still served: it registers afresh (werift takes 5 s to gather for a second call).
    const gone = nextEvent(ua, 'unregistered');
    ua.unregister();
    await gone;
    const again = nextEvent(ua, 'registered', 'registrationFailed');
    ua.register();
    await again;
    await stopUa(ua);
    ua = null;
  }));

  it('brute force from 127.0.0.2 is banned per (address, user): the right password from there is refused unchecked; another user there and the same user from 127.0.0.3 are served', () => outcome.run(async () => {
    const target = { address: '127.0.0.1', port: udpPort(gw) };
    const attacker = await RawSipClient.open('udp', target.port, { localAddress: ATTACKER });
    const client = await RawSipClient.open('udp', target.port, { localAddress: CLIENT });
    closers.push(async () => attacker.close(), async () => client.close());
    for (let i = 0; i < 5; i++) {
      const r = await tryPassword(attacker, AGENT.username, `guess-${i}`);
      assert.deepEqual(r, { status: 401, reason: 'Unauthorized', stale: false }, `guess ${i}: a fresh challenge, not stale`);
    }
    const banned = gw.events.events.find((e) => e.event === 'auth-banned');
    assert.ok(banned, 'the ban was logged');
    assert.equal(banned.user, AGENT.username);
    assert.match(String(banned.source), /^127\.0\.0\.2:\d+$/);
    // Banned: even the right password gets the same refusal.
    assert.deepEqual(await tryPassword(attacker, AGENT.username, AGENT.password), { status: 401, reason: 'Unauthorized', stale: false });
    // Not locked out: the same user from another address, another user from the same address.
    assert.equal((await tryPassword(client, AGENT.username, AGENT.password)).status, 200);
    assert.equal((await tryPassword(attacker, CALLER.username, CALLER.password)).status, 200);
    assert.equal(gw.auth.bans.size.banned, 1);
  }));

  it('failures are logged at warn with source address, transport and user (REGISTER and INVITE), never with a password or response', () => outcome.run(async () => {
    const attacker = await RawSipClient.open('udp', udpPort(gw), { localAddress: ATTACKER });
    closers.push(async () => attacker.close());
    const uri = `sip:1000@${DOMAIN}`;
    const invite = (extra: string[] = []): string => request(attacker, 'INVITE', uri, 'mallory', DOMAIN, extra);
    const challenge = await ask(attacker, invite());
    assert.equal(challenge.status, 407);
    const cred = createAuthorization(challenge.headers.get('proxy-authenticate')!, { method: 'INVITE', uri }, { username: 'mallory', password: 'hunter2-secret' });
    const r = await ask(attacker, invite([`Proxy-Authorization: ${cred}`]));
    assert.deepEqual([r.status, r.reason], [407, 'Proxy Authentication Required']);
    const failed = gw.events.events.filter((e) => e.event === 'auth-failed');
    const inviteFail = failed.find((e) => e.method === 'INVITE' && e.user === 'mallory');
    assert.ok(inviteFail, 'the INVITE failure was logged');
    assert.equal(inviteFail.level, 'warn');
    assert.equal(inviteFail.user, 'mallory');
    assert.equal(inviteFail.transport, 'udp');
    assert.equal(inviteFail.source, attacker.sentBy);
    assert.ok(failed.some((e) => e.method === 'REGISTER' && e.transport === 'udp'), 'REGISTER failures too');
    const response = /response="([0-9a-f]+)"/.exec(cred)![1]!;
    const all = JSON.stringify(gw.events.events);
    for (const secret of ['hunter2-secret', response, AGENT.password, CALLER.password, 'guess-0']) {
      assert.ok(!all.includes(secret), `the log never holds ${secret}`);
    }
  }));
});

describe('unknown user, wrong password, forged nonce: indistinguishable from outside', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  before(async () => {
    // No ban in the way: this test fails on purpose many times from one address.
    gw = await startGateway({ ports: { min: 19100, max: 19119 }, edit: (raw) => {
      raw.auth = { ban: { failures: 10_000 } };
      // Nor the per-address request rate limit (security.rateLimit): 200 requests in seconds.
      raw.security = { rateLimit: { requests: 10_000 } };
      (raw.media as Record<string, unknown>).workers = 1;
    } });
  });
  after(async () => { await assertReleasedAndStop(gw); });

  it('same status, reason phrase and headers; same timing class', async () => {
    const c = await RawSipClient.open('udp', udpPort(gw), { localAddress: ATTACKER });
    try {
      const kinds = {
        unknownUser: { user: 'nobody', password: 'x', forge: false },
        wrongPassword: { user: CALLER.username, password: 'x', forge: false },
        forgedNonce: { user: CALLER.username, password: 'x', forge: true },
        forgedNonceUnknownUser: { user: 'nobody', password: 'x', forge: true },
      };
      const times: Record<string, number[]> = {};
      const shapes = new Map<string, string>();
      for (let round = 0; round < 25; round++) {
        for (const [kind, k] of Object.entries(kinds)) {
          const challenge = await ask(c, register(c, k.user));
          let value = challenge.headers.get('www-authenticate')!;
          if (k.forge) value = value.replace(/nonce="([^"]+)"/, (_m, n: string) => `nonce="${'A'.repeat(n.length)}"`);
          const auth = createAuthorization(value, { method: 'REGISTER', uri: `sip:${DOMAIN}` }, { username: k.user, password: k.password });
          const started = process.hrtime.bigint();
          const r = await ask(c, register(c, k.user, [`Authorization: ${auth}`]));
          (times[kind] ??= []).push(Number(process.hrtime.bigint() - started) / 1e6);
          // What an outsider sees: status line and header names, the challenge without its nonce.
          const shape = [r.status, r.reason, r.headers.get('www-authenticate')?.replace(/nonce="[^"]+"/, 'nonce=…'),
            [...new Set([...r.headers.lines()].map(([name]) => name))].sort().join(',')].join(' | ');
          if (round === 0) shapes.set(kind, shape);
          else assert.equal(shape, shapes.get(kind));
        }
      }
      const distinct = new Set(shapes.values());
      assert.equal(distinct.size, 1, `one answer for all: ${JSON.stringify(Object.fromEntries(shapes))}`);
      assert.match([...distinct][0]!, /^401 \| Unauthorized \| Digest realm="trapezoid"/);
      assert.doesNotMatch([...distinct][0]!, /stale/i);
      const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
      const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
      const ref = medians.wrongPassword!;
      for (const [kind, m] of Object.entries(medians)) {
        // Loopback round trips are well under a millisecond: a lookup, a sleep or a skipped
        // hash that showed would be far outside this.
        assert.ok(Math.abs(m - ref) < Math.max(2, ref), `${kind}: median ${m.toFixed(3)} ms vs wrong password ${ref.toFixed(3)} ms`);
      }
      console.log(`median answer times (ms): ${JSON.stringify(medians)}`);
      const reasons = new Set(gw.events.events.filter((e) => e.event === 'auth-failed').map((e) => e.reason));
      assert.deepEqual([...reasons].sort(), ['unknown user', 'wrong password', 'wrong response over an invalid nonce (forged)'],
        'only the log tells them apart');
    } finally {
      c.close();
    }
  });
});
