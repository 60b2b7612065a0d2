// The one test suite every CallStore passes (issue 10: "the memory store and the Redis
// store pass the same store test suite"). A suite run gets a factory of "nodes": each
// call opens another handle on the same backing data, as a separate gateway would.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord } from './record.js';
import type { CallStore, Lease, NodeInfo } from './store.js';
import { takeOverNode } from './takeover.js';
import { RecordWriter } from './writer.js';

export interface SuiteEnv {
  /** A fresh, empty backing store for one test; `node()` opens handles on it. */
  fresh(): Promise<{ node(): Promise<CallStore>; close(): Promise<void> }>;
}

const TTL = 300;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function nodeInfo(name: string, address = '127.0.10.1'): NodeInfo {
  return { node: name, owner: `${name}#${Math.random().toString(36).slice(2, 8)}`, serviceAddress: address, listeners: [{ protocol: 'udp', address, port: 5060 }], startedAt: Date.now() };
}

/** An audio call record as the gateway writes it (media left out: the store does not read it). */
export function sampleRecord(id: string, owner: string, version = 1): CallRecord {
  return {
    v: 1, id, owner, version, state: 'answered', direction: 'outbound', serviceAddress: '127.0.10.1',
    from: 'alice', to: '1000', trunk: 'sipp', createdAt: Date.now(), answeredAt: Date.now(),
    a: { browser: { aor: 'sip:alice@trapezoid.test', instanceId: 'urn:uuid:1' } }, b: {}, media: null, mediaAt: Date.now(),
    deadlines: { sessionRefresh: Date.now() + 60_000 },
  };
}

async function withStores<T>(env: SuiteEnv, n: number, body: (stores: CallStore[]) => Promise<T>): Promise<T> {
  const backing = await env.fresh();
  const stores: CallStore[] = [];
  try {
    for (let i = 0; i < n; i++) stores.push(await backing.node());
    return await body(stores);
  } finally {
    for (const s of stores) await s.close();
    await backing.close();
  }
}

export function storeSuite(name: string, env: SuiteEnv): void {
  describe(`CallStore suite: ${name}`, { timeout: 30_000 }, () => {
    it('a record round-trips and is listed as its owner\'s', () => withStores(env, 1, async ([s]) => {
      const lease = await s!.acquireLease(nodeInfo('a'), 5000);
      const r = sampleRecord('c1', lease.owner);
      assert.deepEqual(await s!.put(r, lease, 1000), { ok: true });
      assert.deepEqual(await s!.get('c1'), r);
      assert.deepEqual(await s!.owned(lease.owner), ['c1']);
      assert.equal(await s!.get('nope'), undefined);
    }));

    it('writes are fenced: a version not above the stored one, another owner, a wrong lease token are refused', () => withStores(env, 2, async ([a, b]) => {
      const la = await a!.acquireLease(nodeInfo('a'), 5000);
      const lb = await b!.acquireLease(nodeInfo('b'), 5000);
      assert.equal((await a!.put(sampleRecord('c1', la.owner, 3), la, 1000)).ok, true);
      assert.deepEqual(await a!.put(sampleRecord('c1', la.owner, 3), la, 1000), { ok: false, reason: 'version', owner: la.owner, version: 3 });
      assert.deepEqual(await b!.put(sampleRecord('c1', lb.owner, 9), lb, 1000), { ok: false, reason: 'owner', owner: la.owner, version: 3 });
      assert.deepEqual(await a!.put(sampleRecord('c1', la.owner, 4), { ...la, token: 'forged' }, 1000), { ok: false, reason: 'lease' });
      assert.equal((await a!.put(sampleRecord('c1', la.owner, 4), la, 1000)).ok, true);
      assert.equal((await a!.get('c1'))?.version, 4);
    }));

    it('an ended record leaves its owner\'s list, takes no more writes and expires', () => withStores(env, 1, async ([s]) => {
      const lease = await s!.acquireLease(nodeInfo('a'), 5000);
      await s!.put(sampleRecord('c1', lease.owner, 1), lease, 200);
      const ended = { ...sampleRecord('c1', lease.owner, 2), state: 'ended' as const, endedAt: Date.now(), endStatus: 200 };
      assert.equal((await s!.put(ended, lease, 200)).ok, true);
      assert.deepEqual(await s!.owned(lease.owner), []);
      assert.equal((await s!.get('c1'))?.state, 'ended');
      assert.equal((await s!.put(sampleRecord('c1', lease.owner, 3), lease, 200)).ok, false, 'an ended call stays ended');
      await sleep(350);
      assert.equal(await s!.get('c1'), undefined, 'the ended record expired');
    }));

    it('a lease renews while held, lapses after its TTL, and a lapsed unfenced lease can be taken again', () => withStores(env, 2, async ([a, b]) => {
      const la = await a!.acquireLease(nodeInfo('a'), TTL);
      assert.equal(await a!.renewLease(la), 'renewed');
      const seen = async (): Promise<boolean | undefined> => (await b!.nodes()).find((n) => n.owner === la.owner)?.alive;
      assert.equal(await seen(), true);
      await sleep(TTL + 150);
      assert.equal(await seen(), false, 'the other node sees the lease lapsed');
      assert.equal(await a!.renewLease(la), 'lost');
      assert.equal(await a!.reacquireLease(la), true);
      assert.equal(await seen(), true);
    }));

    it('a node that stops renewing is listed alive until its TTL, with less and less lease left; a renewal sets it back to the whole TTL', () => withStores(env, 2, async ([a, b]) => {
      const ttl = 1000;
      const la = await a!.acquireLease(nodeInfo('a'), ttl);
      const listed = async (): Promise<{ alive: boolean; leaseMs: number } | undefined> => {
        const n = (await b!.nodes()).find((x) => x.owner === la.owner);
        return n && { alive: n.alive, leaseMs: n.leaseMs };
      };
      assert.equal(await a!.renewLease(la), 'renewed');
      const fresh = await listed();
      assert.ok(fresh?.alive && fresh.leaseMs > ttl - 200 && fresh.leaseMs <= ttl, `just renewed: ${JSON.stringify(fresh)}`);
      await sleep(400);
      const stale = await listed();
      // Still alive (a crashed node looks the same): only the shrinking lease tells it stopped renewing.
      assert.ok(stale?.alive && stale.leaseMs > 0 && stale.leaseMs <= ttl - 400, `400 ms without renewal: ${JSON.stringify(stale)}`);
      assert.equal(await a!.renewLease(la), 'renewed');
      const again = await listed();
      assert.ok(again?.alive && again.leaseMs > ttl - 200, `renewed again: ${JSON.stringify(again)}`);
      await sleep(ttl + 150);
      assert.deepEqual(await listed(), { alive: false, leaseMs: 0 }, 'lapsed: not alive, nothing left');
    }));

    it('fencing: refused while the lease lives; after it the node can neither renew, re-take its lease nor write', () => withStores(env, 2, async ([a, b]) => {
      const la = await a!.acquireLease(nodeInfo('a'), TTL);
      await a!.put(sampleRecord('c1', la.owner, 1), la, 1000);
      assert.equal(await b!.fence(la.owner), false, 'a live node is not fenced');
      await sleep(TTL + 150);
      assert.equal(await b!.fence(la.owner), true);
      assert.equal(await b!.fence(la.owner), true, 'idempotent');
      assert.equal(await a!.renewLease(la), 'fenced');
      assert.equal(await a!.reacquireLease(la), false);
      assert.equal(await a!.isFenced(la.owner), true);
      assert.deepEqual(await a!.put(sampleRecord('c1', la.owner, 2), la, 1000), { ok: false, reason: 'lease' });
    }));

    it('a lease released leaving the calls: the node looks dead at once (no TTL to wait), a survivor fences it and claims its call; released plainly, the node is gone', () => withStores(env, 2, async ([a, b]) => {
      const info = nodeInfo('a');
      const la = await a!.acquireLease(info, 60_000);
      await a!.put(sampleRecord('c1', la.owner, 1), la, 1000);
      await a!.releaseLease(la, true);
      assert.equal((await b!.nodes()).find((n) => n.owner === la.owner)?.alive, false, 'listed, not alive, long before its TTL');
      const lb = await b!.acquireLease(nodeInfo('b'), 5000);
      const taken = await takeOverNode(b!, lb, info, () => Promise.resolve(true), () => Promise.resolve(), 2000);
      assert.deepEqual(taken.taken ? taken.calls.map((c) => [c.id, c.owner]) : taken, [['c1', lb.owner]]);
      const lc = await a!.acquireLease(nodeInfo('c'), 60_000);
      await a!.releaseLease(lc);
      assert.equal((await b!.nodes()).some((n) => n.owner === lc.owner), false, 'a plain release leaves nothing to take over');
    }));

    it('three survivors race to claim a dead node\'s calls: each call gets exactly one new owner; the dead node\'s late write is refused', () => withStores(env, 4, async ([dead, x, y, z]) => {
      const ld = await dead!.acquireLease(nodeInfo('dead'), TTL);
      const ids = Array.from({ length: 30 }, (_, i) => `call-${i}`);
      for (const id of ids) await dead!.put(sampleRecord(id, ld.owner, 1), ld, 1000);
      const survivors = [x!, y!, z!];
      const leases: Lease[] = [];
      for (const [i, s] of survivors.entries()) leases.push(await s.acquireLease(nodeInfo(`s${i}`, `127.0.10.${i + 2}`), 5000));
      await sleep(TTL + 150);
      // Per-call claims, all three at once on every call.
      assert.equal(await x!.fence(ld.owner), true);
      const claimed = await Promise.all(survivors.map((s, i) => Promise.all(ids.map((id) => s.claim(id, ld.owner, leases[i]!)))));
      for (const [k, id] of ids.entries()) {
        const winners = claimed.map((list, i) => (list[k] ? i : -1)).filter((i) => i >= 0);
        assert.equal(winners.length, 1, `${id} has exactly one new owner`);
        const rec = await x!.get(id);
        assert.equal(rec?.owner, leases[winners[0]!]!.owner);
        assert.equal(rec?.version, 2);
      }
      const total = (await Promise.all(leases.map((l) => x!.owned(l.owner)))).reduce((n, l) => n + l.length, 0);
      assert.equal(total, ids.length);
      assert.deepEqual(await x!.owned(ld.owner), []);
      assert.equal((await dead!.put(sampleRecord('call-0', ld.owner, 5), ld, 1000)).ok, false, 'the dead node\'s queued catch-up cannot overwrite');
    }));

    it('three survivors race to take a dead node over: one wins it whole, the others give up before fencing', () => withStores(env, 4, async ([dead, x, y, z]) => {
      const info = nodeInfo('dead');
      const ld = await dead!.acquireLease(info, TTL);
      for (let i = 0; i < 10; i++) await dead!.put(sampleRecord(`t-${i}`, ld.owner, 1), ld, 1000);
      const survivors = [x!, y!, z!];
      const leases = await Promise.all(survivors.map((s, i) => s.acquireLease(nodeInfo(`s${i}`), 5000)));
      await sleep(TTL + 150);
      let binds = 0;
      const outcomes = await Promise.all(survivors.map((s, i) => takeOverNode(s, leases[i]!, info, async () => {
        binds++;
        await sleep(30);
        return true;
      }, () => Promise.resolve(), 2000)));
      const won = outcomes.filter((o) => o.taken);
      assert.equal(won.length, 1, JSON.stringify(outcomes.map((o) => (o.taken ? 'taken' : o.why))));
      assert.equal(binds, 1, 'only the lock holder bound the address');
      assert.equal(won[0]!.taken && won[0]!.calls.length, 10);
      assert.equal((await x!.nodes()).some((n) => n.owner === ld.owner), false, 'the dead node is forgotten');
    }));

    it('a survivor that cannot bind the dead node\'s address does not fence it', () => withStores(env, 2, async ([dead, s]) => {
      const info = nodeInfo('dead');
      const ld = await dead!.acquireLease(info, TTL);
      const ls = await s!.acquireLease(nodeInfo('s'), 5000);
      await sleep(TTL + 150);
      const outcome = await takeOverNode(s!, ls, info, () => Promise.resolve(false), () => Promise.resolve(), 2000);
      assert.deepEqual(outcome, { taken: false, why: 'cannot-bind' });
      assert.equal(await s!.isFenced(ld.owner), false);
      assert.equal(await dead!.reacquireLease(ld), true, 'the node that was only slow gets its lease back');
    }));

    it('registrar bindings: stored per AOR and contact, expired ones not returned', () => withStores(env, 2, async ([a, b]) => {
      const base = { aor: 'sip:agent@t', owner: 'a#1', source: { protocol: 'ws', address: '127.0.0.1', port: 4000 }, callId: 'r1', cseq: 1 };
      await a!.putBinding({ ...base, contact: 'sip:x@y.invalid;transport=ws', instanceId: 'urn:uuid:1', regId: 1, flowId: 'ws:1', expiresAt: Date.now() + 60_000 });
      await a!.putBinding({ ...base, contact: 'sip:old@y.invalid', expiresAt: Date.now() - 1 });
      const got = await b!.bindings('sip:agent@t');
      assert.deepEqual(got.map((x) => [x.contact, x.instanceId]), [['sip:x@y.invalid;transport=ws', 'urn:uuid:1']]);
      await b!.removeBinding('sip:agent@t', 'sip:x@y.invalid;transport=ws');
      assert.deepEqual(await a!.bindings('sip:agent@t'), []);
    }));

    it('a shared value is the first writer\'s (the cluster\'s DTLS certificate)', () => withStores(env, 2, async ([a, b]) => {
      assert.equal(await a!.shared('cert', 'first'), 'first');
      assert.equal(await b!.shared('cert', 'second'), 'first');
    }));

    it('the writer coalesces: five writes of one call while one is in flight reach the store at most twice, the last one last', () => withStores(env, 1, async ([s]) => {
      const lease = await s!.acquireLease(nodeInfo('a'), 5000);
      const w = new RecordWriter(s!, { lease: () => lease, endedTtlMs: 1000 });
      for (let i = 1; i <= 5; i++) w.write({ ...sampleRecord('c1', lease.owner), endReason: `step ${i}` });
      await w.idle();
      assert.ok(w.stats.writes <= 2, `writes: ${w.stats.writes}`);
      assert.equal((await s!.get('c1'))?.endReason, 'step 5');
      w.close();
    }));

    it('the writer learns of a claimed call: its next write is refused and reported, the new owner\'s record stands', () => withStores(env, 2, async ([a, b]) => {
      const la = await a!.acquireLease(nodeInfo('a'), TTL);
      const w = new RecordWriter(a!, { lease: () => la, endedTtlMs: 1000 });
      w.write(sampleRecord('c1', la.owner));
      await w.idle();
      await sleep(TTL + 150);
      const lb = await b!.acquireLease(nodeInfo('b'), 5000);
      await b!.fence(la.owner);
      const claimed = await b!.claim('c1', la.owner, lb);
      assert.equal(claimed?.owner, lb.owner);
      // A comes back and re-takes a lease under its token: the call is still not its own.
      const refused = new Promise<{ id: string; reason: string }>((resolve) => w.once('refused', resolve));
      const la2 = await a!.acquireLease({ ...nodeInfo('a'), owner: la.owner }, 5000).catch(() => la);
      const w2 = new RecordWriter(a!, { lease: () => la2, endedTtlMs: 1000 });
      const refused2 = new Promise<{ id: string; reason: string }>((resolve) => w2.once('refused', resolve));
      w2.write(sampleRecord('c1', la.owner));
      const r = await Promise.race([refused2, refused, sleep(2000).then(() => null)]);
      assert.ok(r, 'the write was refused');
      assert.equal((await b!.get('c1'))?.owner, lb.owner);
      w.close();
      w2.close();
    }));
  });
}
