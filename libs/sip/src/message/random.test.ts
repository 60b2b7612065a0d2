import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBase64url, randomHex, randomInto } from './random.js';

test('pooled random identifiers: the right length and alphabet, never repeated across pool refills', () => {
  const seen = new Set<string>();
  // 5,000 x 9 bytes is eleven refills of the 4 KiB pool.
  for (let i = 0; i < 5000; i++) {
    const id = randomBase64url(9);
    assert.match(id, /^[A-Za-z0-9_-]{12}$/);
    assert.ok(!seen.has(id), `repeated after ${i} draws`);
    seen.add(id);
  }
  assert.match(randomHex(4), /^[0-9a-f]{8}$/);
  const target = Buffer.alloc(20);
  randomInto(target, 4, 12);
  assert.deepEqual([...target.subarray(0, 4), ...target.subarray(16)], [0, 0, 0, 0, 0, 0, 0, 0], 'only the asked bytes are written');
  assert.ok(target.subarray(4, 16).some((b) => b !== 0));
  assert.throws(() => randomHex(5000), RangeError);
});
