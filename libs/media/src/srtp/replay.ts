// Per-SSRC SRTP state: the rollover counter and highest sequence number of RFC 3711
// §3.3.1 (index estimation) and the 64-packet sliding replay window of §3.3.2, kept as
// two 32-bit words so checking and updating allocate nothing.

export const REPLAY_WINDOW = 64;

export class SrtpStream {
  /** Rollover counter paired with `seq` (s_l of §3.3.1). */
  roc = 0;
  /** Highest sequence number accepted (receive) or sent (send). */
  seq = 0;
  /** False until the first packet of this SSRC sets seq. */
  started = false;
  /** Replay bitmap: bit k set = index (highest - k) was received. */
  windowLow = 0;
  windowHigh = 0;
  /** SRTCP: next index to send, highest index received and its replay bitmap. */
  rtcpSendIndex = 0;
  rtcpHighest = -1;
  rtcpWindowLow = 0;
  rtcpWindowHigh = 0;

  constructor(readonly ssrc: number) {}

  /** The 48-bit packet index for `seq` (§3.3.1, Appendix A); does not update state. */
  estimateIndex(seq: number): number {
    if (!this.started) return this.roc * 65536 + seq;
    const sl = this.seq;
    let v = this.roc;
    if (sl < 32768) {
      if (seq - sl > 32768) v = this.roc - 1;
    } else if (sl - 32768 > seq) {
      v = this.roc + 1;
    }
    // A ROC of -1 (packet from before the first one, around a wrap) cannot be expressed.
    if (v < 0) return -1;
    return v * 65536 + seq;
  }

  /**
   * The index `seq` has if it lies ahead of the highest accepted one by 2^15 or more
   * (less than 2^16 + 2^15): what estimateIndex() takes for an old packet. Used only
   * after authentication with the estimate failed.
   */
  forwardIndex(seq: number): number {
    const highest = this.roc * 65536 + this.seq;
    const index = this.roc * 65536 + seq;
    return index - highest >= 32768 ? index : index + 65536;
  }

  /** Highest accepted index, or -1 before the first packet. */
  get highestIndex(): number {
    return this.started ? this.roc * 65536 + this.seq : -1;
  }

  /** True if `index` is new: not too old for the window and not seen. */
  checkReplay(index: number): boolean {
    if (!this.started) return true;
    const delta = index - (this.roc * 65536 + this.seq);
    if (delta > 0) return true;
    const k = -delta;
    if (k >= REPLAY_WINDOW) return false;
    return k < 32 ? (this.windowLow & (1 << k)) === 0 : (this.windowHigh & (1 << (k - 32))) === 0;
  }

  /** Records an authenticated packet's index (§3.3.2: only after authentication). */
  accept(index: number): void {
    if (!this.started) {
      this.started = true;
      this.setHighest(index);
      this.windowLow = 1;
      this.windowHigh = 0;
      return;
    }
    const delta = index - (this.roc * 65536 + this.seq);
    if (delta > 0) {
      if (delta >= 64) {
        this.windowHigh = 0;
        this.windowLow = 0;
      } else if (delta >= 32) {
        this.windowHigh = this.windowLow << (delta - 32);
        this.windowLow = 0;
      } else {
        this.windowHigh = (this.windowHigh << delta) | (this.windowLow >>> (32 - delta));
        this.windowLow = this.windowLow << delta;
      }
      this.windowLow |= 1;
      this.setHighest(index);
    } else {
      const k = -delta;
      if (k < 32) this.windowLow |= 1 << k;
      else if (k < 64) this.windowHigh |= 1 << (k - 32);
    }
  }

  /** Sender side: the index of an outgoing packet, advancing ROC on wrap. */
  nextSendIndex(seq: number): number {
    const index = this.estimateIndex(seq);
    if (index < 0) return this.roc * 65536 + seq;
    if (!this.started || index > this.highestIndex) {
      this.started = true;
      this.setHighest(index);
    }
    return index;
  }

  checkRtcpReplay(index: number): boolean {
    if (this.rtcpHighest < 0) return true;
    const delta = index - this.rtcpHighest;
    if (delta > 0) return true;
    const k = -delta;
    if (k >= REPLAY_WINDOW) return false;
    return k < 32 ? (this.rtcpWindowLow & (1 << k)) === 0 : (this.rtcpWindowHigh & (1 << (k - 32))) === 0;
  }

  acceptRtcp(index: number): void {
    if (this.rtcpHighest < 0) {
      this.rtcpHighest = index;
      this.rtcpWindowLow = 1;
      this.rtcpWindowHigh = 0;
      return;
    }
    const delta = index - this.rtcpHighest;
    if (delta > 0) {
      if (delta >= 64) {
        this.rtcpWindowHigh = 0;
        this.rtcpWindowLow = 0;
      } else if (delta >= 32) {
        this.rtcpWindowHigh = this.rtcpWindowLow << (delta - 32);
        this.rtcpWindowLow = 0;
      } else {
        this.rtcpWindowHigh = (this.rtcpWindowHigh << delta) | (this.rtcpWindowLow >>> (32 - delta));
        this.rtcpWindowLow = this.rtcpWindowLow << delta;
      }
      this.rtcpWindowLow |= 1;
      this.rtcpHighest = index;
    } else {
      const k = -delta;
      if (k < 32) this.rtcpWindowLow |= 1 << k;
      else if (k < 64) this.rtcpWindowHigh |= 1 << (k - 32);
    }
  }

  /** SRTP (not SRTCP) state as 5 numbers at out[at..] (roc, seq, started, windowLow, windowHigh): the native fast path's layout. */
  exportFields(out: Float64Array, at: number): void {
    out[at] = this.roc; out[at + 1] = this.seq; out[at + 2] = this.started ? 1 : 0; out[at + 3] = this.windowLow; out[at + 4] = this.windowHigh;
  }

  importFields(src: Float64Array, at: number): void {
    this.roc = src[at]; this.seq = src[at + 1]; this.started = src[at + 2] !== 0; this.windowLow = src[at + 3] | 0; this.windowHigh = src[at + 4] | 0;
  }

  private setHighest(index: number): void {
    this.roc = Math.floor(index / 65536);
    this.seq = index % 65536;
  }
}
