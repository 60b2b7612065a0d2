import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BanTable } from './index.js';

function table(opts: Partial<ConstructorParameters<typeof BanTable>[0]> = {}): { t: BanTable; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const t = new BanTable({ maxFailures: 3, windowMs: 10_000, banMs: 60_000, now: () => clock.now, ...opts });
  return { t, clock };
}

test('the failure that reaches the limit within the window starts a ban, reported once', () => {
  const { t, clock } = table();
  assert.deepEqual(t.failure('a'), { failures: 1, banned: false, banStarted: false });
  clock.now += 1000;
  assert.deepEqual(t.failure('a'), { failures: 2, banned: false, banStarted: false });
  const v = t.failure('a');
  assert.deepEqual(v, { failures: 3, banned: true, banStarted: true, bannedUntil: clock.now + 60_000 });
  assert.equal(t.isBanned('a'), true);
  assert.equal(t.failure('a').banStarted, false, 'already banned: not started again');
  assert.equal(t.isBanned('b'), false, 'other keys are not affected');
  clock.now += 60_001;
  assert.equal(t.isBanned('a'), false, 'the ban ends');
  assert.equal(t.failure('a').failures, 1, 'and counting starts over');
});

test('failures older than the window do not count; success clears the count', () => {
  const { t, clock } = table();
  t.failure('a');
  t.failure('a');
  clock.now += 10_001;
  assert.equal(t.failure('a').failures, 1);
  t.failure('a');
  t.success('a');
  assert.equal(t.failure('a').failures, 1);
});

test('bounded: rotating keys forget the least recent counter, never lift a ban', () => {
  const { t } = table({ maxKeys: 3 });
  for (let i = 0; i < 3; i++) t.failure('banned');
  assert.equal(t.isBanned('banned'), true);
  t.failure('x');
  t.failure('x');
  for (let i = 0; i < 100; i++) t.failure(`k${i}`);
  assert.deepEqual(t.size, { counting: 3, banned: 1 });
  assert.equal(t.isBanned('banned'), true, 'a flood of new keys does not lift a ban');
  assert.equal(t.failure('x').failures, 1, "x's counter was forgotten (least recently failing)");
  // Bans themselves are bounded: the one ending soonest goes.
  for (const k of ['p', 'q', 'r']) for (let i = 0; i < 3; i++) t.failure(k);
  assert.equal(t.size.banned, 3);
  assert.equal(t.isBanned('banned'), false);
  assert.equal(t.isBanned('r'), true);
});

test('unban lifts a ban; sweep drops what has expired', () => {
  const { t, clock } = table();
  for (let i = 0; i < 3; i++) t.failure('a');
  t.failure('b');
  assert.equal(t.unban('a'), true);
  assert.equal(t.isBanned('a'), false);
  clock.now += 10_001;
  t.sweep();
  assert.deepEqual(t.size, { counting: 0, banned: 0 });
});

test('options are checked', () => {
  assert.throws(() => new BanTable({ maxFailures: 0, windowMs: 1, banMs: 1 }), RangeError);
  assert.throws(() => new BanTable({ maxFailures: 1, windowMs: 0, banMs: 1 }), RangeError);
});

test('ban() bans a key at once (a scanner seen), once', () => {
  const { t, clock } = table();
  t.failure('a');
  assert.equal(t.ban('a'), clock.now + 60_000);
  assert.equal(t.isBanned('a'), true);
  assert.equal(t.ban('a'), undefined, 'already banned');
  clock.now += 60_001;
  assert.equal(t.isBanned('a'), false);
  assert.equal(t.failure('a').failures, 1, 'the count before the ban is gone');
});
