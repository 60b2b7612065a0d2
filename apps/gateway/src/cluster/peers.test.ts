// The drain's choice of peers against the real in-memory store, its clock played by the
// test: a peer that stopped renewing is still listed alive, and must not be chosen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend, MemoryStore, type NodeInfo } from '@trapezoid/cluster';
import { handOffPeers } from './peers.js';

const TIMING = { ttlMs: 3000, renewMs: 1000 };

function info(node: string): NodeInfo {
  return { node, owner: `${node}#1`, serviceAddress: '127.0.10.1', listeners: [], startedAt: 0 };
}

test('a drain leaves its calls only to a peer that renewed within two renew intervals, not to one whose lease has yet to lapse', async () => {
  let now = 1_000_000;
  const backend = new MemoryBackend(() => now);
  const store = new MemoryStore(backend);
  const self = await store.acquireLease(info('self'), TIMING.ttlMs);
  const renewing = await store.acquireLease(info('renewing'), TIMING.ttlMs);
  const crashed = await store.acquireLease(info('crashed'), TIMING.ttlMs);
  const chosen = async (): Promise<string[]> => handOffPeers(await store.nodes(), self.owner, TIMING).map((n) => n.node).sort();

  assert.deepEqual(await chosen(), ['crashed', 'renewing'], 'both just renewed; never itself');
  // One renewal missed (a slow round trip): still a peer.
  now += 1900;
  assert.deepEqual(await chosen(), ['crashed', 'renewing']);
  assert.equal(await store.renewLease(renewing), 'renewed');
  // 'crashed' has not renewed for two and a half intervals: alive in the store, not a peer.
  now += 600;
  assert.equal((await store.nodes()).find((n) => n.node === 'crashed')?.alive, true, 'its lease has not lapsed yet');
  assert.deepEqual(await chosen(), ['renewing']);
  assert.equal(await store.renewLease(crashed), 'renewed', 'it came back');
  assert.deepEqual(await chosen(), ['crashed', 'renewing']);
  // Nobody renews any more: nobody to leave the calls to.
  now += 2100;
  assert.deepEqual(await chosen(), []);
  await store.close();
});
