// Issue 10 acceptance, the drills about Redis itself: Redis killed mid-call and started
// again (empty), and a call set up while Redis was down that survives a takeover once
// Redis is back; and a call still ringing when its node dies, ended cleanly. Gateways are separate OS processes on 127.0.10.11 (A) and .12 (B); the
// browser is JsSIP in Node with werift (node-caller.ts), the trunk SIPp -rtp_echo.
// Media ports 13200-13399, Redis on 13902.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServerProcess, RedisStore } from '@trapezoid/cluster';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { join } from 'node:path';
import { GATEWAY_SCENARIOS, sleep } from '../gateway/harness.js';
import { GatewayNode } from './nodes.js';
import { NodeCaller } from './node-caller.js';

const PORTS = { min: 13200, max: 13399 };
const A_ADDRESS = '127.0.10.11';
const B_ADDRESS = '127.0.10.12';

describe('failover drills around Redis (JsSIP + werift in Node)', { timeout: 200_000 }, () => {
  const redis = new RedisServerProcess({ port: 13902 });
  before(() => redis.start());
  after(() => redis.kill());

  interface Drill { a: GatewayNode; b: GatewayNode | null; sipp: SippRun; callers: NodeCaller[] }

  async function drill(opts: { calls: number; withB: boolean; sippScenario?: string }, body: (d: Drill) => Promise<void>): Promise<void> {
    if (!redis.running) await redis.start();
    const trunkPort = await freePort();
    const scenario = opts.sippScenario ? ['-sf', join(GATEWAY_SCENARIOS, opts.sippScenario)] : ['-sn', 'uas'];
    const sipp = await startSipp({ port: trunkPort, args: [...scenario, '-rtp_echo', '-m', String(opts.calls)], trace: true, timeoutSec: 90 });
    const common = { redisUrl: redis.url, trunkPort, ports: PORTS };
    const d: Drill = { a: await GatewayNode.start({ ...common, name: 'a', address: A_ADDRESS }), b: null, sipp, callers: [] };
    let passed = false;
    try {
      if (opts.withB) d.b = await GatewayNode.start({ ...common, name: 'b', address: B_ADDRESS });
      await body(d);
      passed = true;
    } finally {
      for (const c of d.callers) await c.stop();
      const survivor = d.a.alive ? d.a : d.b;
      try {
        if (survivor) await survivor.assertReleasedAndKill(passed);
      } finally {
        await d.a.kill();
        await d.b?.kill();
        await sipp.stop();
      }
    }
  }

  async function wsUrlOf(node: GatewayNode): Promise<string> {
    const ws = await node.waitFor((e) => e.event === 'listening' && e.protocol === 'ws');
    return `ws://${String(ws.address)}:${Number(ws.port)}`;
  }

  /** The call ids the store lists as `owner`'s, read with a client of its own. */
  async function ownedInStore(owner: string): Promise<string[]> {
    const s = await RedisStore.connect({ url: redis.url });
    try {
      return await s.owned(owner);
    } finally {
      await s.close();
    }
  }

  it('Redis killed mid-call and started again empty: the call goes on, a new call works meanwhile, both records are back once Redis is', { timeout: 90_000 }, () => drill({ calls: 2, withB: false }, async (d) => {
    const joined = await d.a.waitFor((e) => e.event === 'cluster-joined');
    const owner = String(joined.owner);
    const first = await NodeCaller.register(await wsUrlOf(d.a));
    d.callers.push(first);
    await first.call('1000');
    await first.receives(50);
    await redis.kill();
    await sleep(2500);
    await first.receives(100, 5000);
    assert.equal(d.a.events.some((e) => e.event === 'lease-suspended'), false, 'Redis down is no reason to silence the calls');
    // A new call while Redis is down.
    const second = await NodeCaller.register(await wsUrlOf(d.a));
    d.callers.push(second);
    await second.call('1001');
    await second.receives(50);
    assert.equal((await d.a.health()).liveCalls, 2);
    await redis.start();
    await d.a.waitFor((e) => e.event === 'lease-reacquired', 10_000);
    let owned: string[] = [];
    for (const until = Date.now() + 5000; owned.length < 2 && Date.now() < until; await sleep(200)) owned = await ownedInStore(owner);
    assert.equal(owned.length, 2, `both calls' records are in the store again: ${JSON.stringify(owned)}`);
    await first.receives(50);
    await first.hangUp();
    await second.hangUp();
    const r = await d.sipp.done;
    assert.equal(r.code, 0, `SIPp's two calls ended with the BYEs: ${r.stdout.slice(-1500)}`);
  }));

  it('a call still ringing when its node dies is ended cleanly: the survivor CANCELs the trunk\'s INVITE from the service address and ACKs its 487', { timeout: 60_000 }, () => drill({ calls: 1, withB: true, sippScenario: 'uas-ring-until-cancel.xml' }, async (d) => {
    const caller = await NodeCaller.register(await wsUrlOf(d.a));
    d.callers.push(caller);
    await caller.ring('1000');
    await sleep(500);
    await d.a.kill();
    const t = await d.b!.waitFor((e) => e.event === 'takeover', 10_000);
    assert.deepEqual([t.calls, t.restored], [1, 0], `the ringing call is B's to end, not to carry on: ${JSON.stringify(t)}`);
    await d.b!.waitFor((e) => e.event === 'call-ringing-ended');
    const r = await d.sipp.done;
    assert.equal(r.code, 0, `SIPp got the CANCEL, sent 487 and got its ACK: ${r.stdout.slice(-1500)}`);
    const cancel = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('CANCEL '));
    assert.ok(cancel, 'SIPp received a CANCEL');
    assert.match(cancel.text, /^Via: SIP\/2\.0\/UDP 127\.0\.10\.11:/mi, 'from the service address, with the INVITE\'s Via');
    assert.ok(r.messages.some((m) => m.direction === 'received' && m.startLine.startsWith('ACK ')), 'the 487 was ACKed');
  }));

  it('a call set up while Redis was down survives a takeover once Redis is back (the catch-up really happened)', { timeout: 90_000 }, () => drill({ calls: 1, withB: true }, async (d) => {
    const joinedA = await d.a.waitFor((e) => e.event === 'cluster-joined');
    const joinedB = await d.b!.waitFor((e) => e.event === 'cluster-joined');
    assert.match(String(joinedA.dtlsFingerprint), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(joinedB.dtlsFingerprint, joinedA.dtlsFingerprint, 'one DTLS certificate for the cluster (generated once, kept in Redis)');
    const owner = String(joinedA.owner);
    const caller = await NodeCaller.register(await wsUrlOf(d.a));
    d.callers.push(caller);
    await redis.kill();
    await sleep(500);
    await caller.call('1000');
    await caller.receives(50);
    await redis.start();
    await d.a.waitFor((e) => e.event === 'lease-reacquired', 10_000);
    let owned: string[] = [];
    for (const until = Date.now() + 5000; owned.length < 1 && Date.now() < until; await sleep(200)) owned = await ownedInStore(owner);
    assert.equal(owned.length, 1, 'the call reached the store once Redis was back');
    await sleep(1500);
    const killedAt = Date.now();
    await d.a.kill();
    const t = await d.b!.waitFor((e) => e.event === 'takeover', 10_000);
    assert.deepEqual([t.calls, t.restored], [1, 1], JSON.stringify(t));
    console.log(`takeover ${Number(t.at) - killedAt} ms after the kill`);
    await caller.receives(100, 10_000);
    // JsSIP reconnects to the same URL (now B) and registers again before it hangs up.
    for (const until = Date.now() + 15_000; caller.registered < 2 && Date.now() < until;) await sleep(100);
    await caller.hangUp();
    const r = await d.sipp.done;
    assert.equal(r.code, 0, `SIPp got the BYE through B: ${r.stdout.slice(-1500)}`);
    const bye = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
    assert.ok(bye, 'SIPp received the BYE');
    assert.match(bye.text, /^Via: SIP\/2\.0\/UDP 127\.0\.10\.11:/mi, 'from the service address');
  }));
});
