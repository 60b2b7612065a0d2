// RTCP reports the bridge sends per leg (RFC 3550 §6.4): an SR when it sent RTP on the
// leg since the last report, else an RR, each with one report block about the source
// received on that leg, followed by an SDES CNAME (§6.1: every compound packet carries
// one). Written into a caller's buffer; the caller keeps room for SRTCP's trailer.
import type { RtpReceiveStats } from './stats.js';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;

/** Seconds between 1900-01-01 (NTP epoch) and 1970-01-01. */
const NTP_UNIX_OFFSET = 2208988800;

export interface SenderInfo {
  ssrc: number;
  /** Wallclock of the report, ms since the Unix epoch (Date.now()). */
  wallclockMs: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

/**
 * Writes SR (if `sender.packetCount > 0` and `asSender`) or RR plus SDES CNAME into
 * `buf`; returns the length. `reception` with ssrc -1 (nothing received) gives no block.
 */
export function writeRtcpReport(buf: Buffer, asSender: boolean, sender: SenderInfo, reception: RtpReceiveStats | null, now: number, cname: string): number {
  const withBlock = reception !== null && reception.ssrc !== -1;
  let o = 0;
  const headerWords = (asSender ? 6 : 1) + (withBlock ? 6 : 0);
  buf[o] = 0x80 | (withBlock ? 1 : 0);
  buf[o + 1] = asSender ? RTCP_SR : RTCP_RR;
  buf.writeUInt16BE(headerWords, o + 2);
  buf.writeUInt32BE(sender.ssrc >>> 0, o + 4);
  o += 8;
  if (asSender) {
    const secs = Math.floor(sender.wallclockMs / 1000);
    const frac = Math.floor(((sender.wallclockMs % 1000) / 1000) * 4294967296);
    buf.writeUInt32BE((secs + NTP_UNIX_OFFSET) >>> 0, o);
    buf.writeUInt32BE(frac >>> 0, o + 4);
    buf.writeUInt32BE(sender.rtpTimestamp >>> 0, o + 8);
    buf.writeUInt32BE(sender.packetCount >>> 0, o + 12);
    buf.writeUInt32BE(sender.octetCount >>> 0, o + 16);
    o += 20;
  }
  if (withBlock && reception !== null) {
    buf.writeUInt32BE(reception.ssrc >>> 0, o);
    const lost = Math.max(-0x800000, Math.min(0x7fffff, reception.cumulativeLost));
    buf.writeUInt32BE(((reception.takeFractionLost() << 24) | (lost & 0xffffff)) >>> 0, o + 4);
    buf.writeUInt32BE(reception.extendedHighestSeq >>> 0, o + 8);
    buf.writeUInt32BE(Math.round(reception.jitter) >>> 0, o + 12);
    buf.writeUInt32BE(reception.lastSr >>> 0, o + 16);
    // DLSR in units of 1/65536 s since that SR arrived (0 if none).
    const dlsr = reception.lastSrAt > 0 ? Math.floor(((now - reception.lastSrAt) / 1000) * 65536) : 0;
    buf.writeUInt32BE(dlsr >>> 0, o + 20);
    o += 24;
  }
  // SDES with one chunk: SSRC, CNAME item, terminating null item, padded to 32 bits.
  const name = Buffer.from(cname.slice(0, 255), 'utf8');
  const chunkLen = 4 + 2 + name.length + 1;
  const padded = (chunkLen + 3) & ~3;
  buf[o] = 0x81;
  buf[o + 1] = RTCP_SDES;
  buf.writeUInt16BE(padded / 4, o + 2);
  buf.writeUInt32BE(sender.ssrc >>> 0, o + 4);
  buf[o + 8] = 1;
  buf[o + 9] = name.length;
  name.copy(buf, o + 10);
  buf.fill(0, o + 10 + name.length, o + 4 + padded);
  return o + 4 + padded;
}

/**
 * Walks a compound RTCP packet and records any SR's NTP middle 32 bits in `reception`
 * (for LSR/DLSR). Returns false if the packet is not well formed (§6.1 validity checks).
 */
export function readRtcpCompound(buf: Uint8Array, len: number, reception: RtpReceiveStats | null, now: number): boolean {
  let o = 0;
  while (o + 4 <= len) {
    if ((buf[o] & 0xc0) !== 0x80) return false;
    const words = (buf[o + 2] << 8) | buf[o + 3];
    const end = o + 4 + words * 4;
    if (end > len) return false;
    if (buf[o + 1] === RTCP_SR && words >= 6 && reception !== null) {
      const middle = ((buf[o + 10] << 24) | (buf[o + 11] << 16) | (buf[o + 12] << 8) | buf[o + 13]) >>> 0;
      reception.onSenderReport(middle, now);
    }
    o = end;
  }
  return o === len;
}
