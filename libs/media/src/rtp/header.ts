// RTP (RFC 3550 §5.1) and RTCP (§6.4) fixed-header accessors on raw buffers, for the
// forwarding path: read and rewrite fields in place, no objects.

export const RTP_HEADER_SIZE = 12;

/**
 * Length of the RTP header including CSRCs and the header extension (§5.3.1), or -1 if
 * `buf[0..len)` is not a version 2 RTP packet that holds its whole header.
 */
export function rtpHeaderLength(buf: Uint8Array, len: number): number {
  if (len < RTP_HEADER_SIZE || (buf[0] & 0xc0) !== 0x80) return -1;
  let hdr = RTP_HEADER_SIZE + (buf[0] & 0x0f) * 4;
  if (buf[0] & 0x10) {
    if (hdr + 4 > len) return -1;
    hdr += 4 + ((buf[hdr + 2] << 8) | buf[hdr + 3]) * 4;
  }
  return hdr <= len ? hdr : -1;
}

/** RFC 5761 §4: with rtcp-mux, RTCP packet types 192-223 sit in RTP's marker+PT octet. */
export function isRtcpPacket(buf: Uint8Array, len: number): boolean {
  return len >= 8 && (buf[0] & 0xc0) === 0x80 && buf[1] >= 192 && buf[1] <= 223;
}

export function setRtpPayloadType(buf: Uint8Array, pt: number): void {
  buf[1] = (buf[1] & 0x80) | (pt & 0x7f);
}

export function rtpSequence(buf: Uint8Array): number {
  return (buf[2] << 8) | buf[3];
}

export function setRtpSequence(buf: Uint8Array, seq: number): void {
  buf[2] = (seq >>> 8) & 0xff;
  buf[3] = seq & 0xff;
}

export function rtpTimestamp(buf: Uint8Array): number {
  return ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
}

export function setRtpTimestamp(buf: Uint8Array, ts: number): void {
  buf[4] = ts >>> 24;
  buf[5] = (ts >>> 16) & 0xff;
  buf[6] = (ts >>> 8) & 0xff;
  buf[7] = ts & 0xff;
}

export function rtpSsrc(buf: Uint8Array): number {
  return ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
}

export function setRtpSsrc(buf: Uint8Array, ssrc: number): void {
  buf[8] = ssrc >>> 24;
  buf[9] = (ssrc >>> 16) & 0xff;
  buf[10] = (ssrc >>> 8) & 0xff;
  buf[11] = ssrc & 0xff;
}

/** SSRC of the sender of an RTCP packet (bytes 4-7 of every RTCP packet type). */
export function rtcpSenderSsrc(buf: Uint8Array): number {
  return ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
}
