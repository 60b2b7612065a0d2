// The call record format: what is written is read back, and a record of a format this
// build does not know is refused with an error that says so (never half-read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallRecordError, decodeCallRecord, encodeCallRecord } from './record.js';
import { sampleRecord } from './store-suite.js';

test('a record round-trips through its encoding', () => {
  const r = sampleRecord('c1', 'a#1');
  assert.deepEqual(decodeCallRecord(encodeCallRecord(r)), r);
});

test('an unknown record version is refused, naming both versions', () => {
  const text = JSON.stringify({ ...sampleRecord('c1', 'a#1'), v: 2 });
  assert.throws(() => decodeCallRecord(text), (err: Error) => err instanceof CallRecordError && /version 2 is not supported \(this node reads version 1\)/.test(err.message));
  assert.throws(() => decodeCallRecord(JSON.stringify({ id: 'x' })), /version undefined is not supported/);
});

test('a record missing a field or with a media state that is not versioned is refused', () => {
  const { from: _f, ...rest } = sampleRecord('c1', 'a#1');
  assert.throws(() => decodeCallRecord(JSON.stringify(rest)), /call record c1: from must be a string/);
  assert.throws(() => decodeCallRecord(JSON.stringify({ ...sampleRecord('c1', 'a#1'), media: { legs: [] } })), /media must be a versioned bridge state/);
  assert.throws(() => decodeCallRecord('{'), /not JSON/);
});
