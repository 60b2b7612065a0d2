// Loader and types of the native RTP fast path (libs/media/native, a C N-API addon built
// by scripts/build-native.mjs). The addon owns UDP sockets polled in the calling thread's
// libuv loop; on a socket with a route it unprotects, rewrites, protects and forwards RTP
// itself, exactly as SrtpContext + RtpReceiveStats + HeaderRewriter + Bridge.forward()
// would, and hands every other datagram to JS like dgram's 'message'. The route's state
// lives in a Float64Array shared with JS (indexes in RS), so JS reads counters and can
// take the state back without a call into C.
import { createRequire } from 'node:module';

export interface NativeBinding {
  /**
   * Binds a UDP socket (IPv4 or IPv6 literal; port 0 = any). Throws an Error whose .code
   * is the errno name ('EADDRINUSE', 'EACCES', ...) so PortAllocator.bindNext can skip
   * taken ports. Starts polling at once; SO_RCVBUF 1 MiB best effort.
   */
  open(address: string, port: number, onMessage: (msg: Buffer, address: string, port: number) => void): number;
  localPort(id: number): number;
  /** sendto(). Returns bytes sent or a negative errno; never throws for send errors. */
  send(id: number, buf: Buffer, offset: number, length: number, address: string, port: number): number;
  /**
   * Stops polling, drops routes that use this socket (as in or out), closes the fd, then
   * calls done() asynchronously (like dgram's close callback). Idempotent; unknown id =
   * done() still called. After done() the port can be bound again.
   */
  close(id: number, done: () => void): void;
  /**
   * Installs or replaces the RTP fast path for packets arriving on socket inId. Throws a
   * TypeError for a bad field (the previous route, if any, stays) and an Error with code
   * 'EBADF' for an unknown inId/outId. IPv4 literals are accepted on IPv6 sockets
   * (v4-mapped), as dgram reports them.
   */
  setRoute(inId: number, route: RouteConfig): void;
  /** Removes it (no-op if none). After this returns native no longer touches the arrays. */
  clearRoute(inId: number): void;

  // DTLS 1.2 with use_srtp on OpenSSL (native/src/dtls.c; webrtc/dtls-native.ts drives it).
  /** An SSL_CTX with this certificate and key; throws naming what does not parse. */
  dtlsContext(certPem: string, keyPem: string): DtlsContextHandle;
  /**
   * A session in one role. `profiles` is OpenSSL's use_srtp list, most preferred first.
   * With socketId > 0 records leave from that native socket toward dtlsPeer()'s address;
   * with 0 each one is handed to send() during the call that produced it.
   */
  dtlsCreate(context: DtlsContextHandle, server: boolean, profiles: string, socketId: number, send: ((datagram: Buffer) => void) | null): DtlsSessionHandle;
  dtlsPeer(session: DtlsSessionHandle, address: string, port: number): void;
  /** The client's ClientHello goes out. Each call that advances returns a DtlsState. */
  dtlsStart(session: DtlsSessionHandle): DtlsState;
  dtlsFeed(session: DtlsSessionHandle, datagram: Buffer): DtlsState;
  /** The retransmission timer fired: resends the last flight if it is due. */
  dtlsTimeout(session: DtlsSessionHandle): DtlsState;
  /** Milliseconds until dtlsTimeout() is due; -1 when no flight waits for an answer. */
  dtlsTimer(session: DtlsSessionHandle): number;
  /** Why the session failed or closed (OpenSSL's reason), '' otherwise. */
  dtlsError(session: DtlsSessionHandle): string;
  /** Writes the RFC 5764 §4.2 keying material into out (>= 60 bytes); returns the use_srtp id (1, 7) or 0. */
  dtlsExport(session: DtlsSessionHandle, out: Buffer): number;
  /** The DER certificate the peer presented (null before it did). */
  dtlsPeerCertificate(session: DtlsSessionHandle): Buffer | null;
  /** Frees the session now (no close_notify). */
  dtlsClose(session: DtlsSessionHandle): void;
  /** A fresh self-signed ECDSA P-256 / SHA-256 certificate (RFC 8827 §6.5), valid a year. */
  dtlsCertificate(): { certPem: string; keyPem: string };
}

declare const dtlsContextBrand: unique symbol;
declare const dtlsSessionBrand: unique symbol;
export type DtlsContextHandle = { readonly [dtlsContextBrand]: true };
export type DtlsSessionHandle = { readonly [dtlsSessionBrand]: true };

/** What a native DTLS call left the session in. */
export const DtlsState = { HANDSHAKING: 0, CONNECTED: 1, CLOSED: 2, FAILED: -1 } as const;
export type DtlsState = (typeof DtlsState)[keyof typeof DtlsState];

export interface RouteConfig {
  outId: number;
  /** Where forwarded packets go (sendto from outId). */
  destAddress: string;
  destPort: number;
  /** Only RTP from exactly this source is fast-pathed. */
  srcAddress: string;
  srcPort: number;
  /** 0 plain, 1 AES_CM_128_HMAC_SHA1_80, 2 AEAD_AES_128_GCM. */
  inProfile: 0 | 1 | 2;
  /** RTP session keys (already derived, RFC 3711 §4.3). */
  inKeys: SrtpSessionKeys | null;
  outProfile: 0 | 1 | 2;
  outKeys: SrtpSessionKeys | null;
  /**
   * Length ROUTE_STATE_SIZE, shared: native reads and writes it per packet. Its buffer
   * must not be transferred (postMessage) while the route exists.
   */
  state: Float64Array;
  /** Length 128, shared: incoming PT -> outgoing PT, -1 = drop. */
  ptMap: Int16Array;
}

export interface SrtpSessionKeys {
  /** 16 bytes. */
  key: Buffer;
  /** 14 bytes for AES-CM; the first 12 are used for GCM. */
  salt: Buffer;
  /** 20 bytes for AES-CM; zero-length for GCM. */
  auth: Buffer;
}

export const ROUTE_STATE_SIZE = 48;

/**
 * Indexes into RouteConfig.state. Booleans are 0/1; window words hold int32 values as
 * SrtpStream keeps them. Counters (IN_PACKETS..SEND_ERRORS): native adds, JS reads and zeroes.
 */
export const RS = {
  /** Only this incoming SSRC is fast-pathed; others are handed to JS. */
  EXPECT_SSRC: 0,
  /** uv_hrtime()/1e6 - performance.now(), set by JS (nativeClockOffsetMs()). */
  CLOCK_OFFSET_MS: 1,
  /** SrtpStream (receive) of EXPECT_SSRC. */
  IN_ROC: 2, IN_SEQ: 3, IN_STARTED: 4, IN_WIN_LOW: 5, IN_WIN_HIGH: 6,
  /** RtpReceiveStats. */
  RX_SSRC: 7, RX_BASE_SEQ: 8, RX_MAX_SEQ: 9, RX_CYCLES: 10, RX_BAD_SEQ: 11, RX_RECEIVED: 12,
  RX_EXPECTED_PRIOR: 13, RX_RECEIVED_PRIOR: 14, RX_LOST_BEFORE: 15, RX_LAST_TRANSIT: 16,
  RX_HAVE_TRANSIT: 17, RX_JITTER: 18, RX_CLOCK_RATE: 19,
  /** HeaderRewriter. */
  RW_SSRC: 20, RW_SEQ_OFFSET: 21, RW_TS_OFFSET: 22, RW_IN_SSRC: 23, RW_LAST_SEQ: 24, RW_LAST_TS: 25,
  RW_LAST_AT: 26, RW_PACKETS: 27, RW_OCTETS: 28, RW_RESYNC: 29, RW_CLOCK_RATE: 30,
  /** SrtpStream (send) of RW_SSRC. */
  OUT_ROC: 31, OUT_SEQ: 32, OUT_STARTED: 33, OUT_WIN_LOW: 34, OUT_WIN_HIGH: 35,
  /** Counters. IN_LAST_AT is Date.now()-style ms. */
  IN_PACKETS: 36, IN_BYTES: 37, IN_LAST_AT: 38, IN_DROPPED: 39, OUT_PACKETS: 40, OUT_BYTES: 41,
  PUNTED: 42, SEND_ERRORS: 43,
  /** HeaderRewriter.inSeq: the source's highest sequence number (its jumps re-anchor). */
  RW_IN_SEQ: 44,
} as const;

/** The value for RS.CLOCK_OFFSET_MS on this thread (performance.now() has a per-thread origin). */
export function nativeClockOffsetMs(): number {
  // process.hrtime is uv_hrtime(), the clock the addon reads. The tightest of a few
  // bracketed samples: a first call can stall for milliseconds (lazy initialisation).
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const p1 = performance.now();
    const h = Number(process.hrtime.bigint()) / 1e6;
    const p2 = performance.now();
    if (p2 - p1 < best) {
      best = p2 - p1;
      offset = h - (p1 + p2) / 2;
    }
  }
  return offset;
}

const ADDON_PATH = '../../native/build/Release/trapezoid_media.node';

let loaded = false;
let binding: NativeBinding | null = null;
let reason: string | null = null;

/** The addon, loaded once per thread; null if disabled (TRAPEZOID_MEDIA__NATIVE=false) or not built. */
export function loadNativeBinding(): NativeBinding | null {
  if (loaded) return binding;
  loaded = true;
  // The gateway's config key media.native reads the same variable (TRAPEZOID_MEDIA__NATIVE).
  const setting = process.env.TRAPEZOID_MEDIA__NATIVE;
  if (setting === 'false' || setting === '0') {
    reason = `TRAPEZOID_MEDIA__NATIVE=${setting}`;
    return null;
  }
  try {
    binding = createRequire(import.meta.url)(ADDON_PATH) as NativeBinding;
  } catch (err) {
    reason = `not built: ${(err as Error).message.split('\n')[0]}`;
    binding = null;
  }
  return binding;
}

/** Why loadNativeBinding() returned null, or null if it loaded (or was not tried yet). */
export function nativeUnavailableReason(): string | null {
  loadNativeBinding();
  return reason;
}
