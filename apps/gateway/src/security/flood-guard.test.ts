import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../logging.js';
import { FloodGuard } from './flood-guard.js';
import { ScannerDetector } from './scanners.js';

const facts = { method: 'INVITE', callId: 'c', source: '192.0.2.9:5060', transport: 'udp' };

function guard(clock: { now: number }, exempt: string[] = []): FloodGuard {
  return new FloodGuard({
    requests: 3, windowSeconds: 2, banSeconds: 60, tableSize: 100, exempt,
    isTrunkAddress: (a) => a === '198.51.100.7', log: createLogger('error', true), now: () => clock.now,
  });
}

test('the request over the limit in the window bans the address; the ban lasts, then counting starts over', () => {
  const clock = { now: 1_000_000 };
  const g = guard(clock);
  assert.deepEqual([1, 2, 3].map(() => g.admit('192.0.2.9', facts)), [true, true, true]);
  assert.equal(g.admit('192.0.2.9', facts), false, 'the 4th within 2 s');
  assert.equal(g.admit('192.0.2.10', facts), true, 'another address is not affected');
  clock.now += 30_000;
  assert.equal(g.admit('192.0.2.9', facts), false, 'still banned');
  assert.deepEqual(g.counters, { dropped: 2, bans: 1 });
  clock.now += 30_001;
  assert.equal(g.admit('192.0.2.9', facts), true, 'the ban is over');
});

test('requests spread over windows are not a flood', () => {
  const clock = { now: 1_000_000 };
  const g = guard(clock);
  for (let i = 0; i < 20; i++) {
    assert.equal(g.admit('192.0.2.9', facts), true);
    clock.now += 700;
  }
});

test('trunk addresses and exempt blocks are never limited nor banned', () => {
  const clock = { now: 1_000_000 };
  const g = guard(clock, ['203.0.113.0/24']);
  for (let i = 0; i < 50; i++) {
    assert.equal(g.admit('198.51.100.7', facts), true);
    assert.equal(g.admit('203.0.113.77', facts), true);
  }
  assert.equal(g.ban('203.0.113.77'), 'exempt');
  assert.equal(g.ban('192.0.2.50'), 'started');
  assert.equal(g.ban('192.0.2.50'), 'banned');
  assert.equal(g.admit('192.0.2.50', facts), false);
});

test('scanner User-Agents match by whole token, case-insensitively', () => {
  const d = new ScannerDetector(['friendly-scanner', 'sipcli', 'VaxSIPUserAgent', 'smap']);
  assert.equal(d.match('friendly-scanner'), 'friendly-scanner');
  assert.equal(d.match('sipcli/v1.8'), 'sipcli');
  assert.equal(d.match('vaxsipuseragent/3.1'), 'VaxSIPUserAgent');
  assert.equal(d.match('smap 0.6.0'), 'smap');
  assert.equal(d.match('Asmaphone 2.0'), undefined, 'not a token of its own');
  assert.equal(d.match('JsSIP 3.13.8'), undefined);
  assert.equal(d.match(undefined), undefined);
  assert.equal(new ScannerDetector([]).match('friendly-scanner'), undefined, 'an empty list turns the rule off');
});
