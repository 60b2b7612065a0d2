// Reception statistics of RFC 3550: sequence tracking and loss (Appendix A.1, A.3),
// interarrival jitter (A.8), and what an RR report block needs (§6.4.1: fraction lost
// over the interval, LSR/DLSR from the peer's last SR). Plain numbers, no allocation.
import type { LegStats } from '../leg.js';
import { rtpSequence, rtpSsrc, rtpTimestamp } from './header.js';

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

export class RtpReceiveStats {
  /** SSRC of the source being tracked, -1 before the first packet. */
  ssrc = -1;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private badSeq = -1;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  /** Loss accounted to earlier sources (a source change restarts A.1 tracking). */
  private lostBefore = 0;
  private lastTransit = 0;
  private haveTransit = false;
  /** Interarrival jitter in timestamp units (A.8), fractional. */
  jitter = 0;
  /** Middle 32 bits of the NTP timestamp of the last SR received, and when (ms, performance.now()). */
  lastSr = 0;
  lastSrAt = 0;

  constructor(public clockRate = 8000) {}

  /**
   * The source's RTP clock once the codec is known (a WebRTC leg is bound before the
   * answer and assumes Opus' 48 kHz): jitter is kept in the new units, and the next
   * packet starts a new transit baseline, since arrival times scale with the clock (A.8).
   */
  setClockRate(rate: number): void {
    if (rate === this.clockRate || !(rate > 0)) return;
    this.jitter = (this.jitter * rate) / this.clockRate;
    this.clockRate = rate;
    this.haveTransit = false;
  }

  /** Call for every valid plain RTP packet; `now` is performance.now() in ms. */
  update(buf: Uint8Array, now: number): void {
    const ssrc = rtpSsrc(buf);
    const seq = rtpSequence(buf);
    if (ssrc !== this.ssrc) {
      if (this.ssrc !== -1) this.lostBefore += this.lostOfSource();
      this.ssrc = ssrc;
      this.initSeq(seq);
      this.haveTransit = false;
    } else {
      const udelta = (seq - this.maxSeq) & 0xffff;
      if (udelta < MAX_DROPOUT) {
        if (seq < this.maxSeq) this.cycles += 65536;
        this.maxSeq = seq;
      } else if (udelta <= 65536 - MAX_MISORDER) {
        // A large jump: accept it only if the next packet follows on (A.1: source restarted).
        if (seq === this.badSeq) {
          this.lostBefore += this.lostOfSource();
          this.initSeq(seq);
        } else {
          this.badSeq = (seq + 1) & 0xffff;
          return;
        }
      }
      // else a duplicate or reordered packet: counted as received below.
    }
    this.received++;
    const ts = rtpTimestamp(buf);
    const arrival = (now * this.clockRate) / 1000;
    const transit = arrival - ts;
    if (this.haveTransit) {
      let d = transit - this.lastTransit;
      // The RTP timestamp wraps at 2^32; fold the difference back into range.
      if (d > 2147483648) d -= 4294967296;
      else if (d < -2147483648) d += 4294967296;
      if (d < 0) d = -d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
    this.haveTransit = true;
  }

  /** Extended highest sequence number received (A.3). */
  get extendedHighestSeq(): number {
    return this.cycles + this.maxSeq;
  }

  /** Cumulative packets lost (A.3), across source changes; may be negative with duplicates. */
  get cumulativeLost(): number {
    return this.lostBefore + (this.ssrc === -1 ? 0 : this.lostOfSource());
  }

  /** Fraction lost since the last call, as the 8-bit fixed point of §6.4.1 (A.3). */
  takeFractionLost(): number {
    const expected = this.cycles + this.maxSeq - this.baseSeq + 1;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    if (expectedInterval === 0 || lostInterval <= 0) return 0;
    return Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
  }

  onSenderReport(ntpMiddle: number, now: number): void {
    this.lastSr = ntpMiddle >>> 0;
    this.lastSrAt = now;
  }

  /**
   * The A.1/A.8 state as 13 numbers at out[at..] (ssrc, baseSeq, maxSeq, cycles, badSeq,
   * received, expectedPrior, receivedPrior, lostBefore, lastTransit, haveTransit, jitter,
   * clockRate): the layout the native fast path keeps it in while it forwards.
   */
  exportFields(out: Float64Array, at: number): void {
    out[at] = this.ssrc; out[at + 1] = this.baseSeq; out[at + 2] = this.maxSeq; out[at + 3] = this.cycles;
    out[at + 4] = this.badSeq; out[at + 5] = this.received; out[at + 6] = this.expectedPrior; out[at + 7] = this.receivedPrior;
    out[at + 8] = this.lostBefore; out[at + 9] = this.lastTransit; out[at + 10] = this.haveTransit ? 1 : 0;
    out[at + 11] = this.jitter; out[at + 12] = this.clockRate;
  }

  importFields(src: Float64Array, at: number): void {
    this.ssrc = src[at]; this.baseSeq = src[at + 1]; this.maxSeq = src[at + 2]; this.cycles = src[at + 3];
    this.badSeq = src[at + 4]; this.received = src[at + 5]; this.expectedPrior = src[at + 6]; this.receivedPrior = src[at + 7];
    this.lostBefore = src[at + 8]; this.lastTransit = src[at + 9]; this.haveTransit = src[at + 10] !== 0;
    this.jitter = src[at + 11];
  }

  /** Copies loss and jitter into a leg's counters. */
  writeTo(stats: LegStats): void {
    stats.packetsLost = this.cumulativeLost;
    stats.jitter = Math.round(this.jitter);
  }

  private lostOfSource(): number {
    return this.cycles + this.maxSeq - this.baseSeq + 1 - this.received;
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.cycles = 0;
    this.badSeq = -1;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
  }
}
