// The contract between media legs (WebRTC, RTP, SDES-SRTP) and the bridge that
// joins two of them. A leg owns its socket(s) and its crypto; the bridge owns the
// header rewriting between legs. Packets cross this boundary as plain (decrypted)
// RTP/RTCP in a buffer the leg lends for the duration of the call only: the
// receiver must not keep a reference, and nothing here allocates per packet.
import type { RtpReceiveStats } from './rtp/stats.js';
import type { PlainRtpLegState } from './rtp/rtp-leg.js';
import type { SdesLegState } from './rtp/sdes-leg.js';
import type { SrtpContext } from './srtp/context.js';
import type { WebRtcLegState } from './webrtc/parameters.js';

/** A leg's takeover state, told apart by `kind` (plain data: it crosses threads and machines). */
export type LegState = PlainRtpLegState | SdesLegState | WebRtcLegState;

/** Counters a one-way-audio detector and the stats path read. Plain numbers only. */
export interface LegStats {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** Packets dropped: SRTP authentication/replay failures, unknown PT, sources not learned. */
  packetsDropped: number;
  /**
   * RTCP packets received and accepted (after SRTCP authentication): with packetsIn, what
   * the inactivity watchdog compares (RTCP keeps flowing while a peer's audio is silent).
   */
  rtcpIn: number;
  /** Estimated lost packets from sequence gaps (RFC 3550 A.3). */
  packetsLost: number;
  /** Interarrival jitter in timestamp units (RFC 3550 A.8). */
  jitter: number;
  /** Date.now() of the last packet received, 0 if none. */
  lastPacketAt: number;
}

export function emptyLegStats(): LegStats {
  return { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, packetsDropped: 0, rtcpIn: 0, packetsLost: 0, jitter: 0, lastPacketAt: 0 };
}

/** Receives plain RTP or RTCP from a leg: `buf[0..len)` is valid only during the call. */
export type PacketSink = (buf: Buffer, len: number) => void;

/** The receive side of a leg as the native fast path needs it (bridge/fast-route.ts). */
export interface FastPathIn {
  socketId: number;
  /** The one source whose RTP is forwarded natively (the latched peer, the ICE pair). */
  srcAddress: string;
  srcPort: number;
  /** Unprotects what arrives; null for plain RTP. */
  srtp: SrtpContext | null;
  reception: RtpReceiveStats;
  stats: LegStats;
}

/** The send side of a leg as the native fast path needs it. */
export interface FastPathOut {
  socketId: number;
  destAddress: string;
  destPort: number;
  /** Protects what is sent; null for plain RTP. */
  srtp: SrtpContext | null;
  stats: LegStats;
}

/**
 * Set by a bridge on a leg while a native route uses it. The leg calls suspendIn() before
 * it handles an RTP packet in JS (the route receiving on this leg hands its state back),
 * suspend() when its peer address or sending state changes or it closes (every route
 * through it stops), and pull() before it reads its counters.
 */
export interface FastPathLink {
  suspendIn(): void;
  suspend(): void;
  pull(): void;
}

export interface MediaLeg {
  readonly kind: 'webrtc' | 'rtp' | 'sdes';
  /** Local transport address the leg is bound to (what the SDP advertises). */
  readonly localAddress: string;
  readonly localPort: number;
  readonly stats: LegStats;
  /** Set by the bridge: plain RTP received on this leg (after SRTP unprotect). */
  onRtp: PacketSink | null;
  /** Set by the bridge: plain RTCP received on this leg (after SRTCP unprotect). */
  onRtcp: PacketSink | null;
  /**
   * Sends plain RTP out of this leg (the leg protects it if it is SRTP). `buf` must
   * have at least 16 spare bytes after `len` for an auth tag; the leg may write there.
   */
  sendRtp(buf: Buffer, len: number): void;
  sendRtcp(buf: Buffer, len: number): void;
  /** Everything a takeover needs to resume this leg on another node (plain, JSON-safe). */
  exportState(): LegState;
  /** Native fast path: what this leg offers now, or null while it cannot be forwarded natively. */
  fastIn?(): FastPathIn | null;
  fastOut?(): FastPathOut | null;
  fastPath?: FastPathLink | null;
  /**
   * Set by the bridge while its node may have lost the call to another (self-fencing):
   * the leg drops whatever arrives and answers nothing (no ICE, no DTLS).
   */
  silenced?: boolean;
  /** Releases sockets and timers. Idempotent. */
  close(): Promise<void>;
}
