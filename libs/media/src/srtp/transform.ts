// The packet transforms under an SrtpContext: given session keys and a packet index they
// encrypt/authenticate in place. Index bookkeeping (ROC, replay) is the context's job.
export interface SrtpTransform {
  /** Bytes appended to RTP / RTCP. */
  readonly rtpOverhead: number;
  readonly rtcpOverhead: number;
  /** Encrypts buf[hdr..len) and appends the tag; returns the new length. */
  protectRtp(buf: Buffer, hdr: number, len: number, ssrc: number, roc: number, seq: number): number;
  /** Checks and strips the tag, decrypts; returns the plain length or -1. */
  unprotectRtp(buf: Buffer, hdr: number, len: number, ssrc: number, roc: number, seq: number): number;
  /** Encrypts buf[8..len), appends E|index and the tag; returns the new length. */
  protectRtcp(buf: Buffer, len: number, ssrc: number, index: number): number;
  /** `eIndex` is the E flag + index word read from the packet. Returns plain length or -1. */
  unprotectRtcp(buf: Buffer, len: number, ssrc: number, eIndex: number): number;
  /** Offset from the end of an SRTCP packet of its E|index word. */
  readonly rtcpIndexFromEnd: number;
}
