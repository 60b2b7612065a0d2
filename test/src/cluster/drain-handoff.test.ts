// Issue 11 (operations), a SIGTERM in a cluster: at the drain deadline the node leaves the
// call still live to its peer instead of hanging it up. No BYE to either side, no end
// record; it gives up its lease at once (the peer need not wait out the TTL), closes its
// sockets and exits; the peer takes the call over as after a crash, media resumes, and
// the caller's later BYE reaches the trunk through it. Gateways are separate OS
// processes on 127.0.10.21 (A) and .22 (B); the browser is JsSIP in Node with werift
// (node-caller.ts), the trunk SIPp -rtp_echo. Media ports 13500-13599, Redis on 13904.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServerProcess } from '@trapezoid/cluster';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { sleep } from '../gateway/harness.js';
import { GatewayNode } from './nodes.js';
import { NodeCaller } from './node-caller.js';

const PORTS = { min: 13500, max: 13599 };
// A TTL long enough that a takeover within it shows the lease was given up, not left to lapse.
const LEASE = { ttl: 5, renew: 0.5 };

/**
 * The drain deadline ended A's call itself: SIPp got the deadline's BYE, A exited cleanly
 * on its own with nothing handed over and no call left.
 */
async function endedAtDeadline(a: GatewayNode, sipp: SippRun, nothingLeft: string): Promise<void> {
  const r = await sipp.done;
  assert.equal(r.code, 0, `the trunk got its BYE: ${r.stdout.slice(-1500)}`);
  const bye = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
  assert.match(bye?.text ?? '', /^Reason: .*Drain deadline/mi, 'the drain deadline\'s BYE');
  for (const until = Date.now() + 5000; a.alive && Date.now() < until;) await sleep(50);
  assert.equal(a.proc.exitCode, 0, 'A exited on its own, cleanly');
  assert.equal(a.events.some((e) => e.event === 'handoff' || e.event === 'call-handed-over'), false, nothingLeft);
  assert.ok(a.events.some((e) => e.event === 'drained'), 'A had no live call left when it exited');
}

describe('SIGTERM on a cluster node hands its calls to a live peer', { timeout: 60_000 }, () => {
  const redis = new RedisServerProcess({ port: 13904 });
  before(() => redis.start());
  after(() => redis.kill());

  it('at the drain deadline the call moves to B without a BYE, media resumes, and the caller\'s BYE reaches the trunk through B', { timeout: 50_000 }, async () => {
    const trunkPort = await freePort();
    const sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', '1'], trace: true, timeoutSec: 45 });
    const common = { redisUrl: redis.url, trunkPort, ports: PORTS, lease: LEASE, config: { shutdown: { drainSeconds: 1 } } };
    const a = await GatewayNode.start({ ...common, name: 'a', address: '127.0.10.21' });
    const bStarted = Date.now();
    let b: GatewayNode | null = null;
    let caller: NodeCaller | null = null;
    let passed = false;
    try {
      b = await GatewayNode.start({ ...common, name: 'b', address: '127.0.10.22' });
      const ws = await a.waitFor((e) => e.event === 'listening' && e.protocol === 'ws');
      caller = await NodeCaller.register(`ws://${String(ws.address)}:${Number(ws.port)}`);
      await caller.call('1000');
      await caller.receives(50);
      const callId = String((await a.waitFor((e) => e.event === 'call-started')).callId);
      let endedEarly = false;
      caller.session!.on('ended', () => { endedEarly = true; });
      // B declares nobody dead during its first TTL after joining: past it, a takeover is the hand-off's.
      await sleep(Math.max(0, bStarted + LEASE.ttl * 1000 - Date.now()));

      a.signal('SIGTERM');
      const handOff = await a.waitFor((e) => e.event === 'handoff', 5000);
      assert.deepEqual(handOff.peers, ['b'], JSON.stringify(handOff));
      for (const until = Date.now() + 5000; a.alive && Date.now() < until;) await sleep(50);
      assert.equal(a.proc.exitCode, 0, 'A exited on its own, cleanly');
      assert.ok(a.events.some((e) => e.event === 'drained'), 'A had no live call left when it exited');
      const left = a.events.filter((e) => e.event === 'call-handed-over');
      assert.deepEqual(left.map((e) => e.callId), [callId], 'one line per call left to the peer, naming it');
      const exitedAt = Date.now();
      assert.equal(a.events.some((e) => e.event === 'drain-deadline'), false, 'A ended nothing itself');

      const t = await b.waitFor((e) => e.event === 'takeover', 10_000);
      assert.deepEqual([t.calls, t.restored], [1, 1], JSON.stringify(t));
      assert.ok(Number(t.at) - exitedAt < LEASE.ttl * 1000, `B took over before A's lease could lapse (${Number(t.at) - exitedAt} ms after A exited): A gave it up`);
      await caller.receives(100, 10_000);
      assert.equal(endedEarly, false, 'the caller\'s call did not end at the hand-off');
      // JsSIP reconnects to the same URL (now B's) and registers again before it hangs up.
      for (const until = Date.now() + 15_000; caller.registered < 2 && Date.now() < until;) await sleep(100);
      await caller.hangUp();
      const r = await sipp.done;
      assert.equal(r.code, 0, `SIPp's call ended with the caller's BYE: ${r.stdout.slice(-1500)}`);
      const byes = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
      assert.equal(byes.length, 1, 'one BYE reached SIPp: the caller\'s, none at the hand-off');
      assert.doesNotMatch(byes[0]!.text, /drain/i, 'not a drain deadline\'s BYE');
      assert.match(byes[0]!.text, /^Via: SIP\/2\.0\/UDP 127\.0\.10\.21:/mi, 'from A\'s service address, now B\'s');
      await b.waitFor((e) => e.event === 'call-ended' && e.callId === callId, 5000);
      passed = true;
    } finally {
      await caller?.stop();
      try {
        if (b) await b.assertReleasedAndKill(passed);
      } finally {
        await a.kill();
        await b?.kill();
        await sipp.stop();
      }
    }
  });

  it('a peer that crashed within one TTL still looks alive in the store, but is not left the calls: the deadline ends them with BYE to both sides', { timeout: 30_000 }, async () => {
    const trunkPort = await freePort();
    const sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', '1'], trace: true, timeoutSec: 25 });
    // A cluster of its own, as below: only the B killed here is a peer.
    const common = { redisUrl: redis.url, trunkPort, ports: PORTS, lease: LEASE, config: { shutdown: { drainSeconds: 1 } },
      cluster: { redis: { url: redis.url, connectTimeout: 5, prefix: 'crashed:' } } };
    const a = await GatewayNode.start({ ...common, name: 'a', address: '127.0.10.21' });
    let b: GatewayNode | null = null;
    let caller: NodeCaller | null = null;
    try {
      b = await GatewayNode.start({ ...common, name: 'b', address: '127.0.10.22' });
      const ws = await a.waitFor((e) => e.event === 'listening' && e.protocol === 'ws');
      caller = await NodeCaller.register(`ws://${String(ws.address)}:${Number(ws.port)}`);
      await caller.call('1000');
      await caller.receives(50);
      await b.kill();
      const killedAt = Date.now();
      // Two renew intervals without a renewal from B: its lease has TTL − 1 s left at most, far from lapsing.
      await sleep(2 * LEASE.renew * 1000);
      const ended = caller.endedBy(10_000);
      a.signal('SIGTERM');
      assert.equal(await ended, 'remote', 'the caller got a BYE at the deadline');
      const deadline = await a.waitFor((e) => e.event === 'drain-deadline', 5000);
      // B renewed at most one interval before it died: its lease lives until killedAt + TTL − renew at the earliest.
      assert.ok(Number(deadline.at) - killedAt < (LEASE.ttl - 2 * LEASE.renew) * 1000,
        `the deadline came while B still looked alive (${Number(deadline.at) - killedAt} ms after the kill)`);
      await endedAtDeadline(a, sipp, 'nothing was left to the dead B');
    } finally {
      await caller?.stop();
      await a.kill();
      await b?.kill();
      await sipp.stop();
    }
  });

  it('with no peer at all the drain deadline ends the call as on a single node: BYE to both sides', { timeout: 30_000 }, async () => {
    const trunkPort = await freePort();
    const sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', '1'], trace: true, timeoutSec: 25 });
    const a = await GatewayNode.start({ redisUrl: redis.url, trunkPort, ports: PORTS, lease: LEASE, config: { shutdown: { drainSeconds: 1 } }, name: 'a', address: '127.0.10.21',
      // A cluster of its own: the first case's nodes, killed, still look alive until their TTL.
      cluster: { redis: { url: redis.url, connectTimeout: 5, prefix: 'alone:' } } });
    let caller: NodeCaller | null = null;
    try {
      const ws = await a.waitFor((e) => e.event === 'listening' && e.protocol === 'ws');
      caller = await NodeCaller.register(`ws://${String(ws.address)}:${Number(ws.port)}`);
      await caller.call('1000');
      await caller.receives(50);
      const ended = caller.endedBy(10_000);
      a.signal('SIGTERM');
      assert.equal(await ended, 'remote', 'the caller got a BYE at the deadline');
      await endedAtDeadline(a, sipp, 'nothing was left to anyone');
    } finally {
      await caller?.stop();
      await a.kill();
      await sipp.stop();
    }
  });
});
