import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore, type CallStore } from '@trapezoid/cluster';
import { timedStore } from './timed-store.js';

test('every backend operation is timed by its method name, failures as such; the rest passes through', async () => {
  const seen: Array<[string, boolean]> = [];
  const backend = new MemoryStore();
  const store: CallStore = timedStore(backend, (op, seconds, ok) => {
    assert.ok(seconds >= 0 && seconds < 5, `${op}: ${seconds} s`);
    seen.push([op, ok]);
  });
  assert.equal(store.kind, 'memory');
  assert.equal(store.connected, true);
  assert.equal(await store.shared('k', 'first'), 'first');
  assert.equal(await backend.shared('k', 'second'), 'first', 'the same store underneath');
  const lease = await store.acquireLease({ node: 'n', owner: 'n#1', serviceAddress: '127.0.0.1', listeners: [], startedAt: 0 }, 1_000);
  assert.equal(await store.renewLease(lease), 'renewed');
  assert.deepEqual(await store.owned('n#1'), []);
  let events = 0;
  store.on('down', () => { events++; });
  backend.emit('down');
  assert.equal(events, 1, 'events of the store reach listeners added through the wrapper');
  // A failing operation is reported as an error and still throws.
  const failing = Object.assign(new MemoryStore(), { get: () => Promise.reject(new Error('unreachable')) });
  const timedFailing = timedStore(failing, (op, _s, ok) => seen.push([op, ok]));
  await assert.rejects(timedFailing.get('x'), /unreachable/);
  assert.deepEqual(seen, [['shared', true], ['acquireLease', true], ['renewLease', true], ['owned', true], ['get', false]]);
  await store.close();
});
