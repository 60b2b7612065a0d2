// The media lifetime watch (issue 8) on a stepped clock: silence per leg against the
// media or hold limit, accepted RTCP counting as activity and dropped packets not, and
// ICE/DTLS completion within its limit. Legs are stand-ins carrying only the counters
// and state the watchdog reads (a real WebRtcLeg's prototype, so instanceof holds).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLegStats, type LegStats, type MediaLeg } from '../leg.js';
import { WebRtcLeg } from '../webrtc/webrtc-leg.js';
import { MediaWatchdog } from './watchdog.js';

function rtpLeg(): MediaLeg & { counters: LegStats } {
  const counters = emptyLegStats();
  return { kind: 'rtp', counters, get stats() { return counters; } } as unknown as MediaLeg & { counters: LegStats };
}

interface WebRtcStandIn {
  leg: WebRtcLeg;
  ice: { selected: unknown };
  marks: { iceCheckedAt: number };
  /** Sets what DTLS gives the real leg. */
  dtlsDone(): void;
}

function webrtcLeg(): WebRtcStandIn {
  const leg = Object.create(WebRtcLeg.prototype) as WebRtcLeg;
  const ice = { selected: null as unknown };
  const marks = { iceCheckedAt: 0 };
  Object.assign(leg, { counters: emptyLegStats(), fastPath: null, ice, marks, srtpProfile: null });
  return { leg, ice, marks, dtlsDone: () => { Object.assign(leg, { srtpProfile: 'AEAD_AES_128_GCM' }); } };
}

test('a leg silent for the media limit is reported once; RTP or RTCP keeps it alive, dropped packets do not', () => {
  let now = 1_000_000;
  const dog = new MediaWatchdog(() => now);
  const a = rtpLeg();
  const b = rtpLeg();
  dog.set('call', [a, b], { mediaTimeoutMs: 2000, holdTimeoutMs: 6000 });
  assert.equal(dog.periodMs, 500);
  for (let t = 0; t < 5; t++) {
    now += 500;
    a.counters.packetsIn += 25;
    if (t % 2 === 0) b.counters.rtcpIn += 1; // b sends only RTCP, every second
    assert.deepEqual(dog.tick(), []);
  }
  // b's peer goes quiet; a stranger's packets (dropped) do not count.
  for (let t = 0; t < 3; t++) {
    now += 500;
    a.counters.packetsIn += 25;
    b.counters.packetsDropped += 50;
    assert.deepEqual(dog.tick(), []);
  }
  now += 500;
  const [r, ...rest] = dog.tick();
  assert.deepEqual(rest, []);
  assert.deepEqual(r, { id: 'call', leg: 1, name: 'mediaTimeout', detail: { silentMs: 2000, limitMs: 2000, held: false } });
  now += 5000;
  assert.deepEqual(dog.tick(), [], 'reported once');
  assert.equal(dog.periodMs, 0, 'nothing left to watch');
});

test('on hold the hold limit applies; going on or off hold restarts the clocks', () => {
  let now = 0;
  const dog = new MediaWatchdog(() => now);
  const a = rtpLeg();
  const b = rtpLeg();
  dog.set('held', [a, b], { mediaTimeoutMs: 2000, holdTimeoutMs: 6000, held: true });
  now += 5900;
  assert.deepEqual(dog.tick(), [], 'past the media limit, within the hold limit');
  dog.set('held', [a, b], { held: false });
  now += 1900;
  assert.deepEqual(dog.tick(), [], 'resumed: the media limit counts from the resume');
  now += 100;
  assert.deepEqual(dog.tick(), [{ id: 'held', leg: 0, name: 'mediaTimeout', detail: { silentMs: 2000, limitMs: 2000, held: false } }]);

  const c = rtpLeg();
  dog.set('held2', [c], { mediaTimeoutMs: 2000, holdTimeoutMs: 6000, held: true });
  now += 6000;
  assert.deepEqual(dog.tick().map((x) => [x.id, x.name, x.detail.limitMs]), [['held2', 'mediaTimeout', 6000]]);
  dog.delete('held');
  dog.delete('held2');
  assert.equal(dog.size, 0);
});

test('ICE and DTLS not completed within the limit: reported with how far the browser got; completed in time: never', () => {
  let now = 0;
  const dog = new MediaWatchdog(() => now);
  const never = webrtcLeg();
  const halfway = webrtcLeg();
  const done = webrtcLeg();
  dog.set('never', [never.leg, rtpLeg()], { iceTimeoutMs: 3000 });
  dog.set('halfway', [halfway.leg, rtpLeg()], { iceTimeoutMs: 3000 });
  dog.set('done', [done.leg, rtpLeg()], { iceTimeoutMs: 3000 });
  assert.equal(dog.periodMs, 750);
  halfway.marks.iceCheckedAt = 1;
  now += 1000;
  done.ice.selected = { address: '127.0.0.1', port: 5000 };
  done.dtlsDone();
  assert.deepEqual(dog.tick(), []);
  now += 2000;
  const got = dog.tick().map((r) => [r.id, r.leg, r.name, r.detail]);
  assert.deepEqual(got, [
    ['never', 0, 'iceTimeout', { limitMs: 3000, iceChecked: false, dtlsConnected: false }],
    ['halfway', 0, 'iceTimeout', { limitMs: 3000, iceChecked: true, dtlsConnected: false }],
  ]);
  now += 10_000;
  assert.deepEqual(dog.tick(), []);
  assert.equal(dog.periodMs, 0);
});
