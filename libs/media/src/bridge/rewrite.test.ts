// HeaderRewriter: what the gateway sends stays one continuous stream when the source
// changes SSRC or jumps in sequence numbers (RFC 3550 §8.2 translator, A.1 bounds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rtpSequence, rtpTimestamp } from '../rtp/header.js';
import { HeaderRewriter } from './rewrite.js';

function rtp(seq: number, ts: number, ssrc: number): Buffer {
  const b = Buffer.alloc(172);
  b[0] = 0x80; b[1] = 0; b.writeUInt16BE(seq & 0xffff, 2); b.writeUInt32BE(ts >>> 0, 4); b.writeUInt32BE(ssrc >>> 0, 8);
  return b;
}

function send(rw: HeaderRewriter, seq: number, ts: number, ssrc: number, at: number): [number, number] {
  const b = rtp(seq, ts, ssrc);
  assert.ok(rw.rewrite(b, b.length, 12, at));
  return [rtpSequence(b), rtpTimestamp(b)];
}

test('a jump of 2^15 or more in one source\'s sequence numbers is re-anchored: ours go on by one', () => {
  const rw = new HeaderRewriter(0xabc, 8000);
  let at = 1_000_000;
  for (let i = 0; i < 5; i++) send(rw, 100 + i, 1000 + i * 160, 7, at += 20);
  // 60 s of hold, then the sender comes back 40000 ahead with its clock advanced.
  at += 60_000;
  const [seq, ts] = send(rw, 104 + 40000, 1000 + 4 * 160 + 480_000, 7, at);
  assert.equal(seq, 105, 'next sequence number');
  assert.equal(ts, (1000 + 4 * 160 + 480_000) >>> 0, 'timestamp advanced by the wallclock gap');
  assert.deepEqual(send(rw, 104 + 40001, 1000 + 5 * 160 + 480_000, 7, at += 20), [106, (1000 + 5 * 160 + 480_000) >>> 0]);
});

test('loss and reordering within RFC 3550 A.1 bounds pass through untouched', () => {
  const rw = new HeaderRewriter(0xabc, 8000);
  let at = 0;
  assert.deepEqual(send(rw, 65530, 0, 9, at += 20), [65530, 0]);
  assert.deepEqual(send(rw, 65533, 480, 9, at += 20), [65533, 480], 'two lost');
  assert.deepEqual(send(rw, 65532, 320, 9, at += 20), [65532, 320], 'reordered');
  assert.deepEqual(send(rw, 2000, 1000, 9, at += 20), [2000, 1000], 'a wrap with 2000 lost is still the same run');
  assert.deepEqual(send(rw, 1950, 900, 9, at += 20), [1950, 900], 'late by 50 (under MAX_MISORDER)');
  const [seq] = send(rw, 1800, 100, 9, at += 20);
  assert.equal(seq, 2001, 'behind by 200: a restarted sender, re-anchored after the last sent');
});
