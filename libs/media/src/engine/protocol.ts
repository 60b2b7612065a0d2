// The message protocol between the main thread (MediaEngine) and a media worker.
// Everything here is plain, structured-clone-safe data: the main thread tells a
// worker to create, update or destroy bridges; it never sends packets. A worker
// answers each request once, by id.

/** SRTP crypto suites this gateway keys by SDES (RFC 4568) or exports from DTLS (RFC 5764). */
export type SrtpProfileName = 'AES_CM_128_HMAC_SHA1_80' | 'AEAD_AES_128_GCM';

export interface TransportAddress {
  address: string;
  port: number;
}

/** Plain RTP/AVP leg with symmetric RTP latching. */
export interface RtpLegSpec {
  kind: 'rtp';
  /** Where the peer's SDP says to send; latching may move it to the observed source. */
  remote?: TransportAddress;
  /** Bind this exact port (restore after takeover); else one is allocated. */
  port?: number;
  /** Any further options the RTP leg accepts, passed through unchanged. */
  [option: string]: unknown;
}

/** SDES-SRTP leg (RFC 4568): keys exchanged in SDP a=crypto lines. */
export interface SdesLegSpec {
  kind: 'sdes';
  profile: SrtpProfileName;
  /** Our master key || master salt, base64 (what our a=crypto inline: carries). */
  localKey: string;
  /** The peer's master key || master salt, base64. */
  remoteKey: string;
  remote?: TransportAddress;
  port?: number;
  [option: string]: unknown;
}

/** WebRTC leg (ICE-lite + DTLS-SRTP + rtcp-mux); options belong to the WebRTC leg. */
export interface WebRtcLegSpec {
  kind: 'webrtc';
  port?: number;
  [option: string]: unknown;
}

export type LegSpec = RtpLegSpec | SdesLegSpec | WebRtcLegSpec;

export interface BridgeSpec {
  /** Caller-chosen id (e.g. the call id); generated when absent. */
  id?: string;
  legs: [LegSpec, LegSpec];
  /**
   * Options for the Bridge itself (payload-type map, etc.), passed through unchanged;
   * absent: a bridge with default options. null: the legs are bound (their ports and
   * ICE/DTLS parameters can go into SDP) but nothing is forwarded until an update
   * supplies `bridge` (an offer binds ports; only the answer gives the payload types).
   */
  bridge?: Record<string, unknown> | null;
}

export interface BridgeUpdate {
  /**
   * Per-leg changes; null leaves a leg alone. `{ remote }` gives an RTP/SDES leg a new
   * peer address, or a WebRTC leg the peer's new ICE/DTLS parameters; `{ replace: LegSpec }`
   * swaps in a new leg (new transport or keys) with seq/timestamp continuity kept.
   */
  legs?: [Record<string, unknown> | null, Record<string, unknown> | null];
  /**
   * Starts forwarding on a bridge created with `bridge: null`, with these options.
   * Allowed once: a bridge that already forwards cannot change its options (488).
   */
  bridge?: Record<string, unknown>;
}

export interface LegDescription {
  kind: LegSpec['kind'];
  address: string;
  port: number;
  /** Leg-specific values the SDP needs (ICE ufrag/pwd, DTLS fingerprint, ...). */
  [detail: string]: unknown;
}

export interface BridgeDescription {
  id: string;
  /** Index of the worker that owns the bridge. */
  worker: number;
  legs: LegDescription[];
}

/** What exportState returns and restoreBridge takes: enough to resume on another node. */
export interface BridgeState {
  id: string;
  legs: Record<string, unknown>[];
  /** null: the legs were bound but not yet forwarding. */
  bridge: Record<string, unknown> | null;
}

export type WorkerRequest =
  | { seq: number; op: 'create'; spec: BridgeSpec & { id: string } }
  | { seq: number; op: 'update'; id: string; update: BridgeUpdate }
  | { seq: number; op: 'destroy'; id: string }
  | { seq: number; op: 'stats'; id: string }
  | { seq: number; op: 'export'; id: string }
  | { seq: number; op: 'restore'; state: BridgeState }
  | { seq: number; op: 'usage'; gc?: boolean };

/** Load figures sent with every reply so the main thread's counters stay current. */
export interface WorkerLoad {
  bridges: number;
  portsInUse: number;
}

export type WorkerReply =
  | { seq: number; ok: true; result: unknown; load: WorkerLoad }
  | { seq: number; ok: false; error: { message: string; status?: number; code?: string }; load: WorkerLoad };

/** A leg event (ICE connected, DTLS connected, consent lost, ...) of bridge `id`. */
export interface LegEvent {
  id: string;
  leg: number;
  name: string;
  detail?: unknown;
}

export type WorkerEvent = { event: 'ready' } | ({ event: 'leg' } & LegEvent);

/** Data handed to each worker at start (workerData). */
export interface WorkerInit {
  index: number;
  /** This worker's slice of the media port range, inclusive. */
  portMin: number;
  portMax: number;
  /** Address the worker's sockets bind to and advertise. */
  address: string;
  /** Native sockets and fast path when the addon is built (MediaEngineOptions.native). */
  native: boolean;
  /** DTLS on OpenSSL in the addon when `native` holds (MediaEngineOptions.nativeDtls). */
  nativeDtls?: boolean;
}
