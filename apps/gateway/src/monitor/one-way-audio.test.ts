import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OneWayAudioDetector } from './one-way-audio.js';
import type { MediaDirectionName } from './directions.js';

type Counts = Record<MediaDirectionName, number>;
const counts = (bg: number, gt: number, tg: number, gb: number): Counts => ({ 'browser->gateway': bg, 'gateway->trunk': gt, 'trunk->gateway': tg, 'gateway->browser': gb });

test('both ways flowing is ok; a direction silent for the threshold is flagged by its first silent hop', () => {
  const d = new OneWayAudioDetector(2000);
  assert.equal(d.sample(0, counts(0, 0, 0, 0), false, false).status, 'setup', 'nothing expected before the answer');
  assert.equal(d.sample(1000, counts(0, 0, 0, 0), true, false).status, 'ok', 'armed at answer');
  assert.equal(d.sample(2000, counts(50, 50, 50, 50), true, false).status, 'ok');
  // The trunk stops sending: trunk->gateway and so gateway->browser go quiet.
  assert.equal(d.sample(3500, counts(125, 125, 50, 50), true, false).status, 'ok', 'not before the threshold');
  const v = d.sample(4000, counts(150, 150, 50, 50), true, false);
  assert.equal(v.status, 'one-way');
  assert.deepEqual(v.silent, [{ leg: 'trunk', direction: 'trunk->gateway', silentMs: 2000 }]);
  // It resumes.
  assert.equal(d.sample(4500, counts(175, 175, 75, 75), true, false).status, 'ok');
});

test('the gateway not forwarding what arrives is named as such (gateway->browser)', () => {
  const d = new OneWayAudioDetector(1000);
  d.sample(0, counts(0, 0, 0, 0), true, false);
  const v = d.sample(1000, counts(50, 50, 50, 0), true, false);
  assert.deepEqual(v.silent.map((s) => s.direction), ['gateway->browser']);
});

test('nothing either way is no-media, naming where each path stopped', () => {
  const d = new OneWayAudioDetector(1000);
  d.sample(0, counts(0, 0, 0, 0), true, false);
  const v = d.sample(1500, counts(0, 0, 0, 0), true, false);
  assert.equal(v.status, 'no-media');
  assert.deepEqual(v.silent.map((s) => [s.leg, s.direction]), [['browser', 'browser->gateway'], ['trunk', 'trunk->gateway']]);
});

test('a held call is never flagged, and resuming gives a fresh grace period', () => {
  const d = new OneWayAudioDetector(1000);
  d.sample(0, counts(0, 0, 0, 0), true, false);
  assert.equal(d.sample(5000, counts(0, 0, 0, 0), true, true).status, 'held');
  assert.equal(d.sample(9000, counts(0, 0, 0, 0), true, true).status, 'held');
  assert.equal(d.sample(9500, counts(0, 0, 0, 0), true, false).status, 'ok', 'resumed: armed again');
  assert.equal(d.sample(10_400, counts(0, 0, 0, 0), true, false).status, 'ok');
  assert.equal(d.sample(10_500, counts(0, 0, 0, 0), true, false).status, 'no-media');
});
