import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLegStats } from '../leg.js';
import { g711 } from '../bridge/test-peer.js';
import { readRtcpCompound, writeRtcpReport } from './rtcp.js';
import { RtpReceiveStats } from './stats.js';

test('RFC 3550 A.3 loss across a sequence wrap, A.8 jitter, source change', () => {
  const r = new RtpReceiveStats(8000);
  // 65530..65535, 0..9 with 3 and 4 missing: 16 expected, 14 received. Arrivals exactly 20 ms apart.
  let n = 0;
  for (let i = 0; i < 16; i++) {
    const seq = (65530 + i) & 0xffff;
    if (seq === 3 || seq === 4) continue;
    r.update(g711(seq, i * 160, 42), 1000 + i * 20);
    n++;
  }
  assert.equal(n, 14);
  assert.equal(r.cumulativeLost, 2);
  assert.equal(r.extendedHighestSeq, 65536 + 9);
  assert.ok(r.jitter < 0.001, `jitter ${r.jitter}`);
  assert.equal(r.takeFractionLost(), Math.floor((2 * 256) / 16));
  assert.equal(r.takeFractionLost(), 0);
  // 10 ms late arrival: D = 80 timestamp units, J += (80 - J) / 16.
  r.update(g711(10, 16 * 160, 42), 1000 + 16 * 20 + 10);
  assert.equal(r.jitter, 5);
  const stats = emptyLegStats();
  r.writeTo(stats);
  assert.equal(stats.packetsLost, 2);
  assert.equal(stats.jitter, 5);
  // A new SSRC starts over but keeps the loss counted so far.
  r.update(g711(500, 0, 43), 2000);
  r.update(g711(502, 320, 43), 2040);
  assert.equal(r.cumulativeLost, 3);
});

test('SR/RR writer produces a compound packet the reader accepts, and LSR/DLSR come from a received SR', () => {
  const r = new RtpReceiveStats();
  r.update(g711(1, 0, 7), 0);
  const buf = Buffer.alloc(256);
  const n = writeRtcpReport(buf, true, { ssrc: 99, wallclockMs: Date.now(), rtpTimestamp: 1234, packetCount: 10, octetCount: 1600 }, r, 0, 'trapezoid');
  assert.equal(buf[1], 200);
  assert.equal(buf[0] & 0x1f, 1, 'one report block');
  assert.equal(buf.readUInt32BE(28), 7, 'block about SSRC 7');
  const peer = new RtpReceiveStats();
  assert.ok(readRtcpCompound(buf, n, peer, 500));
  assert.equal(peer.lastSr, buf.readUInt32BE(10));
  const rr = Buffer.alloc(256);
  peer.update(g711(5, 0, 99), 0);
  const m = writeRtcpReport(rr, false, { ssrc: 5, wallclockMs: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }, peer, 1500, 'x');
  assert.equal(rr[1], 201);
  assert.equal(rr.readUInt32BE(8 + 16), peer.lastSr, 'LSR');
  assert.equal(rr.readUInt32BE(8 + 20), 65536, 'DLSR = 1 s');
  assert.ok(readRtcpCompound(rr, m, null, 0));
  assert.equal(readRtcpCompound(rr, m - 1, null, 0), false);
});

test('setClockRate: jitter of a stream measured on its own clock (a leg made before the codec was known assumed 48 kHz)', () => {
  // PCMU every 20 ms, exactly on time: measured on a 48 kHz clock each arrival moves 960
  // units while the timestamp moves 160, which reads as 800 units of jitter.
  const wrong = new RtpReceiveStats(48000);
  for (let i = 0; i < 200; i++) wrong.update(g711(i, i * 160, 9), 1000 + i * 20);
  assert.ok(wrong.jitter > 790, `on the wrong clock: ${wrong.jitter}`);
  const right = new RtpReceiveStats(48000);
  right.update(g711(0, 0, 9), 1000);
  right.setClockRate(8000);
  for (let i = 1; i < 200; i++) right.update(g711(i, i * 160, 9), 1000 + i * 20);
  assert.ok(right.jitter < 0.001, `on the codec's clock: ${right.jitter}`);
  // Changing the clock mid-stream rescales what was measured and takes a new baseline.
  right.jitter = 16;
  right.setClockRate(16000);
  assert.equal(right.jitter, 32);
  right.update(g711(200, 200 * 160, 9), 1000 + 200 * 20 + 7);
  assert.equal(right.jitter, 32, 'no transit difference across the change');
});
