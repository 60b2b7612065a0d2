import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { PortAllocator } from './allocator.js';

test('allocates even ports round-robin, never twice, counts inUse, claim/release', () => {
  const a = new PortAllocator({ min: 30001, max: 30010 });
  assert.equal(a.min, 30002);
  assert.equal(a.capacity, 4);
  const got = [a.allocate(), a.allocate(), a.allocate(), a.allocate()];
  assert.deepEqual(got, [30002, 30004, 30006, 30008]);
  assert.equal(a.allocate(), -1);
  assert.equal(a.inUse, 4);
  a.release(30004);
  a.release(30004);
  assert.equal(a.inUse, 3);
  assert.equal(a.allocate(), 30004);
  assert.equal(a.claim(30004), false);
  a.release(30006);
  assert.equal(a.claim(30006), true);
  assert.equal(a.claim(30007), false, 'odd port');
  assert.equal(a.claim(40000), false, 'outside');
  for (const p of got) a.release(p);
  assert.equal(a.inUse, 0);
  assert.throws(() => new PortAllocator({ min: 30000, max: 30000 }));
});

test('bindNext skips a port another process holds and releases failed attempts', async () => {
  // Below the kernel's ephemeral range (32768+), so no outgoing socket can hold it.
  const base = 16000;
  const a = new PortAllocator({ min: base, max: base + 9 });
  const squatter = createSocket('udp4');
  await new Promise<void>((r) => squatter.bind(base, '127.0.0.1', () => r()));
  const bind = (port: number): Promise<Socket> => new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', (e) => { s.close(); reject(e); });
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => resolve(s));
  });
  const { port, value } = await a.bindNext(bind);
  assert.equal(port, base + 2);
  assert.equal(a.inUse, 1);
  assert.equal(a.isInUse(base), false, 'the busy port was not kept');
  await assert.rejects(a.bindNext(() => Promise.reject(Object.assign(new Error('boom'), { code: 'EINVAL' }))), /boom/);
  assert.equal(a.inUse, 1);
  await new Promise<void>((r) => value.close(() => r()));
  a.release(port);
  await new Promise<void>((r) => squatter.close(() => r()));
  assert.equal(a.inUse, 0);
});
