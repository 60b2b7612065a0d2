// RFC 4733 telephone-events made by the bridge itself (a DTMF digit that arrived as SIP
// INFO, carried on as RTP): they go out in the direction's own stream, with its SSRC,
// taking the next sequence numbers (the forwarded audio after them continues by one, its
// timestamps untouched) and a timestamp on the audio clock at the event's start
// (§2.3.1). One event after the other per direction: start packet with the marker bit
// (§2.5.1.1), an update every 50 ms with the duration so far (§2.5.1.2), and the end
// packet with the E bit sent three times with the final duration (§2.5.1.4).

import { randomInt } from 'node:crypto';
import type { MediaLeg } from '../leg.js';
import { SRTP_MAX_OVERHEAD } from '../srtp/profile.js';
import type { HeaderRewriter } from './rewrite.js';

/** One event to play: RFC 4733 §3.2 event code (0-9, 10 = *, 11 = #, 12-15 = A-D, 16 = flash). */
export interface TelephoneEvent {
  event: number;
  durationMs: number;
  /** Power level in -dBm0 (§2.3.4), default 10. */
  volume?: number;
}

/** §2.5.1.2: "an update every 50 ms" is what senders commonly do. */
const UPDATE_MS = 50;
const END_COPIES = 3;

export class TelephoneEventSource {
  private readonly queue: TelephoneEvent[] = [];
  private playing = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly buf = Buffer.alloc(16 + SRTP_MAX_OVERHEAD);
  private pt = 101;

  constructor(
    private readonly rw: HeaderRewriter,
    private readonly out: () => MediaLeg,
    /** Before the first packet of an event: hand the direction's state back from the native path. */
    private readonly suspendNative: () => void,
  ) {}

  /** True while an event plays: the direction stays on the JavaScript path meanwhile. */
  get busy(): boolean {
    return this.playing;
  }

  /** Queues an event with payload type `pt` (the telephone-event PT of the out leg). */
  push(ev: TelephoneEvent, pt: number): void {
    if (!(ev.event >= 0 && ev.event <= 255) || !(ev.durationMs > 0)) return;
    this.queue.push({ ...ev, durationMs: Math.min(ev.durationMs, 8000) });
    this.pt = pt;
    if (!this.playing) this.next();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.playing = false;
    this.rw.jsOnly = false;
  }

  private next(): void {
    const ev = this.queue.shift();
    if (!ev || !this.rw.forward) {
      // Nothing (more) to play, or the party is on hold: what is queued is dropped.
      this.queue.length = 0;
      this.playing = false;
      this.rw.jsOnly = false;
      return;
    }
    this.playing = true;
    this.rw.jsOnly = true;
    this.suspendNative();
    const rw = this.rw;
    const rate = rw.clockRate;
    const now = Date.now();
    // §2.3.1: the timestamp of the event's start, on the clock of the audio it replaces.
    const ts = rw.packets === 0 ? randomInt(0, 0x7fffffff) : (rw.lastTs + Math.round(((now - rw.lastAt) * rate) / 1000)) >>> 0;
    const total = Math.max(1, Math.round((ev.durationMs * rate) / 1000));
    const volume = Math.min(63, Math.max(0, ev.volume ?? 10));
    let elapsed = 0;
    let first = true;
    const step = (): void => {
      elapsed += UPDATE_MS;
      const ended = (elapsed * rate) / 1000 >= total;
      const duration = ended ? total : Math.round((elapsed * rate) / 1000);
      const copies = ended ? END_COPIES : 1;
      for (let i = 0; i < copies; i++) this.send(ev.event, volume, ended, duration, ts, first);
      first = false;
      if (ended) {
        this.timer = null;
        this.next();
      } else {
        this.timer = setTimeout(step, UPDATE_MS);
      }
    };
    step();
  }

  private send(event: number, volume: number, end: boolean, duration: number, ts: number, marker: boolean): void {
    const b = this.buf;
    const rw = this.rw;
    const seq = rw.packets === 0 && rw.inSsrc === -1 ? randomInt(0, 0xffff) : (rw.lastSeq + 1) & 0xffff;
    b[0] = 0x80;
    b[1] = (marker ? 0x80 : 0) | (this.pt & 0x7f);
    b.writeUInt16BE(seq, 2);
    b.writeUInt32BE(ts >>> 0, 4);
    b.writeUInt32BE(rw.ssrc >>> 0, 8);
    b[12] = event;
    b[13] = (end ? 0x80 : 0) | volume;
    b.writeUInt16BE(Math.min(duration, 0xffff), 14);
    // The forwarded packets that follow take the next numbers (RFC 3550 §8.2 translator).
    rw.seqOffset = (rw.seqOffset + 1) & 0xffff;
    rw.lastSeq = seq;
    if (rw.packets === 0) {
      rw.lastTs = ts;
      rw.lastAt = Date.now();
    }
    rw.packets++;
    rw.octets += 4;
    this.out().sendRtp(b, 16);
  }
}
