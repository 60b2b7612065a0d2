// Header rewriting for one direction of a bridge. The receiver on the far side sees a
// single RTP source: a constant SSRC chosen by the bridge, and sequence numbers and
// timestamps that continue across a change of the incoming source (a new SSRC after a
// re-INVITE, a leg re-anchored after takeover). RFC 3550 §8.2 lets a translator do this;
// RFC 4733 events share the stream's SSRC, sequence and timestamp space, so they follow
// the same rules and keep their marker/end bits. Everything is rewritten in place.
import { randomInt } from 'node:crypto';
import { rtpSequence, rtpSsrc, rtpTimestamp, setRtpPayloadType, setRtpSequence, setRtpSsrc, setRtpTimestamp } from '../rtp/header.js';

/**
 * RFC 3550 Appendix A.1's bounds: a sequence number more than MAX_DROPOUT ahead of the
 * last one, or more than MAX_MISORDER behind it, is not the same run of the stream: the
 * sender restarted or jumped (a long hold, a gateway that re-numbered). It is re-anchored
 * like a new source, so what we send stays continuous: a jump of 2^15 or more passed on
 * would make the far end's SRTP take our packets for old ones (RFC 3711 §3.3.1).
 */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

// Payload-type tables by mapping, shared by every bridge of the thread with that mapping
// (calls mostly carry a handful of them): 256 bytes and a backing store per direction
// per call otherwise. A shared table is never written after it is made. Bounded: past
// MAX_SHARED_MAPS mappings, each bridge gets its own.
const MAX_SHARED_MAPS = 256;
const sharedMaps = new Map<string, Int16Array>();

/** The table for payload-type pairs [in, out] (reverse: [out, in]), PTs not listed dropped (-1). */
export function ptMapFor(pairs: ReadonlyArray<readonly [number, number]>, reverse: boolean): Int16Array {
  let key = reverse ? 'r' : 'f';
  for (const [a, b] of pairs) key += `,${a & 0x7f}:${b & 0x7f}`;
  const known = sharedMaps.get(key);
  if (known !== undefined) return known;
  const map = new Int16Array(128).fill(-1);
  for (const [a, b] of pairs) {
    if (reverse) map[b & 0x7f] = a & 0x7f;
    else map[a & 0x7f] = b & 0x7f;
  }
  if (sharedMaps.size < MAX_SHARED_MAPS) sharedMaps.set(key, map);
  return map;
}

export interface DirectionState {
  ssrc: number;
  /** Added to the incoming sequence number / timestamp (mod 2^16 / 2^32). */
  seqOffset: number;
  tsOffset: number;
  /** Incoming SSRC the offsets belong to, -1 before the first packet. */
  inSsrc: number;
  /** Highest incoming sequence number of that source, -1 before the first packet (absent in old records). */
  inSeq?: number;
  /** Last sequence number / timestamp sent, and when (Date.now()). */
  lastSeq: number;
  lastTs: number;
  lastAt: number;
  /** Packets / payload octets sent (for SR sender info). */
  packets: number;
  octets: number;
  /** The next packet re-anchors after lastSeq/lastTs, whatever its source (set by a takeover). */
  resync?: boolean;
}

export class HeaderRewriter {
  ssrc: number;
  seqOffset = 0;
  tsOffset = 0;
  inSsrc = -1;
  inSeq = -1;
  lastSeq = 0;
  lastTs = 0;
  lastAt = 0;
  packets = 0;
  octets = 0;
  /** Set when the incoming leg was replaced: the next packet re-anchors even with the same SSRC. */
  resync = false;
  /** False while this direction is held back (Bridge.setFlow): nothing is rewritten or sent. */
  forward = true;
  /** True while the bridge plays its own telephone-events here: the direction stays off the native path. */
  jsOnly = false;
  /** Incoming PT -> outgoing PT, -1 = drop. Identity (own) until the bridge sets one (ptMapFor: shared, read-only). */
  ptMap: Int16Array = new Int16Array(128);

  constructor(ssrc?: number, public clockRate = 8000) {
    this.ssrc = ssrc ?? randomInt(1, 0xffffffff);
    for (let i = 0; i < 128; i++) this.ptMap[i] = i;
  }

  /**
   * Rewrites PT, SSRC, sequence number and timestamp in place; false = drop the packet.
   * `now` is Date.now() at reception (the bridge passes the leg's stamp).
   */
  rewrite(buf: Buffer, len: number, hdr: number, now = Date.now()): boolean {
    const pt = this.ptMap[buf[1] & 0x7f];
    if (pt < 0) return false;
    const inSsrc = rtpSsrc(buf);
    const seq = rtpSequence(buf);
    const ts = rtpTimestamp(buf);
    if (inSsrc !== this.inSsrc || this.resync || this.jumped(seq)) this.anchor(inSsrc, seq, ts, now);
    else if (((seq - this.inSeq) & 0xffff) < 0x8000) this.inSeq = seq;
    const outSeq = (seq + this.seqOffset) & 0xffff;
    const outTs = (ts + this.tsOffset) >>> 0;
    setRtpPayloadType(buf, pt);
    setRtpSequence(buf, outSeq);
    setRtpTimestamp(buf, outTs);
    setRtpSsrc(buf, this.ssrc);
    // Only advance "last" forward, so a reordered packet does not pull the anchor back.
    if (this.packets === 0 || ((outSeq - this.lastSeq) & 0xffff) < 0x8000) {
      this.lastSeq = outSeq;
      this.lastTs = outTs;
      this.lastAt = now;
    }
    this.packets++;
    this.octets += len - hdr;
    return true;
  }

  /** The source's sequence number left its run (RFC 3550 A.1 bounds). */
  private jumped(seq: number): boolean {
    if (this.inSeq < 0) return false;
    const delta = (seq - this.inSeq) & 0xffff;
    return delta >= MAX_DROPOUT && delta < 0x10000 - MAX_MISORDER;
  }

  /**
   * New incoming source (or one that jumped): choose offsets so its first packet follows the last one sent,
   * with the timestamp advanced by the wallclock time that passed (at least one 20 ms
   * frame), so the far end's jitter buffer sees a continuous stream.
   */
  private anchor(inSsrc: number, seq: number, ts: number, now: number): void {
    if (this.inSsrc === -1 && this.packets === 0 && !this.resync) {
      // The very first source passes through unchanged apart from the SSRC.
      this.seqOffset = 0;
      this.tsOffset = 0;
    } else {
      const nextSeq = (this.lastSeq + 1) & 0xffff;
      const elapsed = Math.max(20, now - this.lastAt);
      const nextTs = (this.lastTs + Math.round((elapsed * this.clockRate) / 1000)) >>> 0;
      this.seqOffset = (nextSeq - seq) & 0xffff;
      this.tsOffset = (nextTs - ts) >>> 0;
    }
    this.inSsrc = inSsrc;
    this.inSeq = seq;
    this.resync = false;
  }

  /**
   * The rewrite state as 11 numbers at out[at..] (ssrc, seqOffset, tsOffset, inSsrc,
   * lastSeq, lastTs, lastAt, packets, octets, resync, clockRate) and inSeq at out[inSeqAt]:
   * the native fast path's layout.
   */
  exportFields(out: Float64Array, at: number, inSeqAt: number): void {
    out[at] = this.ssrc; out[at + 1] = this.seqOffset; out[at + 2] = this.tsOffset; out[at + 3] = this.inSsrc;
    out[at + 4] = this.lastSeq; out[at + 5] = this.lastTs; out[at + 6] = this.lastAt; out[at + 7] = this.packets;
    out[at + 8] = this.octets; out[at + 9] = this.resync ? 1 : 0; out[at + 10] = this.clockRate;
    out[inSeqAt] = this.inSeq;
  }

  importFields(src: Float64Array, at: number, inSeqAt: number): void {
    this.ssrc = src[at]; this.seqOffset = src[at + 1]; this.tsOffset = src[at + 2]; this.inSsrc = src[at + 3];
    this.lastSeq = src[at + 4]; this.lastTs = src[at + 5]; this.lastAt = src[at + 6]; this.packets = src[at + 7];
    this.octets = src[at + 8]; this.resync = src[at + 9] !== 0; this.inSeq = src[inSeqAt];
  }

  exportState(): DirectionState {
    return {
      ssrc: this.ssrc, seqOffset: this.seqOffset, tsOffset: this.tsOffset, inSsrc: this.inSsrc, inSeq: this.inSeq,
      lastSeq: this.lastSeq, lastTs: this.lastTs, lastAt: this.lastAt, packets: this.packets, octets: this.octets,
    };
  }

  restore(s: DirectionState): void {
    this.ssrc = s.ssrc >>> 0;
    this.seqOffset = s.seqOffset;
    this.tsOffset = s.tsOffset;
    this.inSsrc = s.inSsrc;
    this.inSeq = s.inSeq ?? -1;
    this.lastSeq = s.lastSeq;
    this.lastTs = s.lastTs;
    this.lastAt = s.lastAt;
    this.packets = s.packets;
    this.octets = s.octets;
    this.resync = s.resync === true;
  }
}
