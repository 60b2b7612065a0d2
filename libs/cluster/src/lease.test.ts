// Self-fencing: a node whose renewals stop getting through silences its calls before its
// lease can lapse in the store, and resumes once a renewal succeeds again; a node told
// it was fenced gives everything up; a store that refuses connections is no reason to stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseKeeper } from './lease.js';
import { MemoryBackend, MemoryStore } from './memory-store.js';
import { nodeInfo, sleep } from './store-suite.js';
import type { Lease, RenewResult } from './store.js';

/** A memory store whose renewals can be made to hang (a silent network) or refused. */
class FlakyStore extends MemoryStore {
  hang = false;
  refusing = false;
  override get refused(): boolean {
    return this.refusing;
  }
  override renewLease(lease: Lease): Promise<RenewResult> {
    if (this.hang || this.refusing) return new Promise(() => undefined);
    return super.renewLease(lease);
  }
}

test('renewals that hang: suspended before the TTL, resumed when one gets through', async () => {
  const store = new FlakyStore(new MemoryBackend());
  const keeper = new LeaseKeeper(store, nodeInfo('a'), { ttlMs: 400, renewMs: 50 });
  const events: string[] = [];
  for (const e of ['suspended', 'resumed', 'fenced']) keeper.on(e, () => events.push(e));
  await keeper.start();
  const hungAt = performance.now();
  store.hang = true;
  while (!events.includes('suspended')) await sleep(10);
  const after = performance.now() - hungAt;
  assert.ok(after < 400, `suspended ${Math.round(after)} ms after the last renewal, before the 400 ms TTL`);
  assert.equal(keeper.lease, null, 'no writes under a lease that may be gone');
  store.hang = false;
  // The renewal in flight never answers: the next tick's does (a new keeper tick).
  (keeper as unknown as { renewing: boolean }).renewing = false;
  while (!events.includes('resumed')) await sleep(10);
  assert.ok(keeper.lease);
  await keeper.release();
});

test('fenced while away: the keeper says so and stops', async () => {
  const backend = new MemoryBackend();
  const store = new MemoryStore(backend);
  const info = nodeInfo('a');
  const keeper = new LeaseKeeper(store, info, { ttlMs: 200, renewMs: 50 });
  const fenced = new Promise<void>((resolve) => keeper.once('fenced', () => resolve()));
  await keeper.start();
  backend.leases.delete(info.owner);
  backend.fenced.add(info.owner);
  // The keeper's timer does not hold the process open: this test does.
  const hold = setInterval(() => undefined, 20);
  await fenced;
  clearInterval(hold);
  assert.equal(keeper.state, 'fenced');
  assert.equal(keeper.lease, null);
});

test('a store refusing connections (Redis down for everyone) does not silence the calls', async () => {
  const store = new FlakyStore(new MemoryBackend());
  const keeper = new LeaseKeeper(store, nodeInfo('a'), { ttlMs: 200, renewMs: 40 });
  let suspended = false;
  keeper.on('suspended', () => { suspended = true; });
  await keeper.start();
  store.refusing = true;
  await sleep(400);
  assert.equal(suspended, false);
  await keeper.release();
});
