// What the mid-call tests check of media, shared by the JsSIP and SIP.js ones: that a
// peer connection's packets flow both ways again (getStats), and what a trunk's media
// address got (a UDP socket of the test standing where the trunk's SDP points), RFC 4733
// events decoded as a receiver would.

import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { sleep, type SoftphoneStats } from './harness.js';

/**
 * Polls `stats` until both counters moved by `n` past what they were when called; the
 * milliseconds it took, or fails after `limit`.
 */
export async function flowsAgain(stats: () => Promise<SoftphoneStats>, n: number, limit: number): Promise<number> {
  const from = await stats();
  const t0 = Date.now();
  for (;;) {
    const s = await stats();
    if (s.packetsReceived >= from.packetsReceived + n && s.packetsSent >= from.packetsSent + n) return Date.now() - t0;
    if (Date.now() - t0 > limit) assert.fail(`media did not flow both ways within ${limit} ms: ${JSON.stringify({ from, now: s })}`);
    await sleep(50);
  }
}

export interface MediaSink {
  socket: Socket;
  /** Each datagram, and when it arrived (Date.now()). */
  packets: Buffer[];
  at: number[];
  close(): Promise<void>;
}

/** A UDP socket on 127.0.0.1:`port` keeping what arrives. */
export function listen(port: number): Promise<MediaSink> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const packets: Buffer[] = [];
    const at: number[] = [];
    socket.on('message', (m) => { packets.push(m); at.push(Date.now()); });
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve({
      socket, packets, at, close: () => new Promise((done) => socket.close(() => done())),
    }));
  });
}

/** RFC 4733 events in RTP with payload type `pt`, one per event (timestamp), as a receiver decodes them. */
export function decodeEvents(packets: Buffer[], pt: number): Array<{ event: number; marker: boolean; ends: number; duration: number }> {
  const byTs = new Map<number, { event: number; marker: boolean; ends: number; duration: number }>();
  for (const b of packets) {
    if (b.length < 16 || (b[1]! & 0x7f) !== pt) continue;
    const ts = b.readUInt32BE(4);
    const e = byTs.get(ts) ?? { event: b[12]!, marker: false, ends: 0, duration: 0 };
    if ((b[1]! & 0x80) !== 0) e.marker = true;
    if ((b[13]! & 0x80) !== 0) e.ends++;
    e.duration = Math.max(e.duration, b.readUInt16BE(14));
    byTs.set(ts, e);
  }
  return [...byTs.values()];
}
