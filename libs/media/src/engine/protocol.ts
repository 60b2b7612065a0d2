// The message protocol between the main thread (MediaEngine) and a media worker, and
// the bridge state that leaves the process (takeover: a call record in Redis carries
// it to another node). Everything here is plain, structured-clone-safe data built
// from the legs' and the bridge's own option and state types: the main thread tells a
// worker to create, update or destroy bridges; it never sends packets. A worker answers
// each request once, by id. BridgeState carries a format version and is read back from
// outside the process only through decodeBridgeState().

import type { BridgeOptions, BridgeState as BridgeCoreState } from '../bridge/bridge.js';
import type { LegState, LegStats } from '../leg.js';
import type { RtpLegOptions, TransportAddress } from '../rtp/rtp-leg.js';
import type { SrtpProfile } from '../srtp/profile.js';
import type { WebRtcLegOptions, WebRtcLocalParameters, WebRtcRemoteParameters } from '../webrtc/parameters.js';
import type { IceCredentials } from '../webrtc/ice-lite.js';

export type { TransportAddress };

/** SRTP crypto suites this gateway keys by SDES (RFC 4568) or exports from DTLS (RFC 5764). */
export type SrtpProfileName = SrtpProfile;

/** Options a worker fills in itself: its allocator, its fast-path setting, its pre-bound sockets. */
type WorkerOwned = 'allocator' | 'native' | 'prebound';

/** Plain RTP/AVP leg with symmetric RTP latching (RtpLegOptions; `address` defaults to the engine's). */
export interface RtpLegSpec extends Omit<RtpLegOptions, WorkerOwned> {
  kind: 'rtp';
}

/** SDES-SRTP leg (RFC 4568): keys exchanged in SDP a=crypto lines. */
export interface SdesLegSpec extends Omit<RtpLegOptions, WorkerOwned> {
  kind: 'sdes';
  profile: SrtpProfileName;
  /** Our master key || master salt, base64 (what our a=crypto inline: carries). */
  localKey: string;
  /** The peer's master key || master salt, base64. */
  remoteKey: string;
}

/** WebRTC leg (ICE-lite + DTLS-SRTP + rtcp-mux); `address` defaults to the engine's. */
export interface WebRtcLegSpec extends Omit<WebRtcLegOptions, WorkerOwned | 'address'> {
  kind: 'webrtc';
  address?: string;
}

export type LegSpec = RtpLegSpec | SdesLegSpec | WebRtcLegSpec;

/** The Bridge's own options (payload-type map, SSRCs, clock rate ...), legs aside. */
export type BridgeOptionsSpec = Omit<BridgeOptions, 'a' | 'b' | 'native'>;

export interface BridgeSpec {
  /** Caller-chosen id (e.g. the call id); generated when absent. */
  id?: string;
  legs: [LegSpec, LegSpec];
  /**
   * Absent: a bridge with default options. null: the legs are bound (their ports and
   * ICE/DTLS parameters can go into SDP) but nothing is forwarded until an update
   * supplies `bridge` (an offer binds ports; only the answer gives the payload types).
   */
  bridge?: BridgeOptionsSpec | null;
}

/** A new peer address for an RTP/SDES leg (RTCP on `rtcpPort`, default port + 1 or the same with rtcp-mux). */
export interface RtpRemoteChange {
  remote: TransportAddress & { rtcpPort?: number };
}

/** The peer's new ICE/DTLS parameters for a WebRTC leg (its answer, a re-offer). */
export interface WebRtcRemoteChange {
  remote: WebRtcRemoteParameters;
  /** Our new ICE credentials: an ICE restart (RFC 8839 §4.4.1.1.1); DTLS and SRTP stay. */
  ice?: IceCredentials;
}

/** A fresh leg in place of the old one (new transport or keys), seq/timestamp continuity kept. */
export interface LegReplacement {
  replace: LegSpec;
}

/**
 * A leg bound now to take this side over later (a transfer's new party: its port goes
 * into an offer while the old leg still carries the call); described in
 * BridgeDescription.pending. One per side at a time.
 */
export interface LegPreparation {
  prepare: LegSpec;
}

/** The prepared leg takes this side over (seq/timestamp continuity kept); the old one is closed. */
export interface LegSwap {
  swap: true;
}

/** The prepared leg is closed unused (the transfer failed). */
export interface LegDiscard {
  discard: true;
}

export type LegChange = RtpRemoteChange | WebRtcRemoteChange | LegReplacement | LegPreparation | LegSwap | LegDiscard;

export interface BridgeUpdate {
  /** Per-leg changes; null leaves a leg alone. */
  legs?: [LegChange | null, LegChange | null];
  /**
   * Starts forwarding on a bridge created with `bridge: null`, with these options.
   * Allowed once: a bridge that already forwards cannot change its options (488).
   */
  bridge?: BridgeOptionsSpec;
  /**
   * Stops (true) or resumes (false) all forwarding and ICE answers of the bridge: a node
   * that may have lost its calls to another stays silent until it knows (self-fencing).
   */
  silenced?: boolean;
  /**
   * New payload-type pairs [leg 0 PT, leg 1 PT] and audio clock rate for a bridge that
   * already forwards (a re-INVITE that changed codecs). Sequence numbers and timestamps
   * continue.
   */
  mapping?: { payloadTypes: Array<[number, number]>; clockRate: number };
  /**
   * Which directions forward (toA: toward leg 0's peer): a party on hold (its SDP says it
   * will not receive) is sent nothing. Default both.
   */
  flow?: { toA: boolean; toB: boolean };
  /**
   * An RFC 4733 event the bridge plays itself toward leg `toward`'s peer (a DTMF digit
   * that came as SIP INFO), with `pt`, that leg's telephone-event payload type. Events
   * toward one leg play one after the other; the update answers at once.
   */
  event?: { toward: 'a' | 'b'; pt: number; event: number; durationMs: number; volume?: number };
  /** Arms or changes the bridge's lifetime watch (see MediaWatch). */
  watch?: MediaWatch;
}

/**
 * What a worker watches on a bridge so that a call whose parties are gone ends
 * (issue 8): it compares each leg's accepted RTP and RTCP counters on a coarse timer and
 * reports a leg silent for the limit ('mediaTimeout'), and a WebRTC leg that has not
 * completed ICE and DTLS within `iceTimeoutMs` of this update ('iceTimeout'), once each.
 * Fields left out keep their value; 0 turns a limit off. Any change restarts the clocks.
 */
export interface MediaWatch {
  /** No RTP/RTCP on a leg for this long (rtpengine's `timeout`). */
  mediaTimeoutMs?: number;
  /** The same while the call is on hold (rtpengine's `silent-timeout`). */
  holdTimeoutMs?: number;
  /** The call is on hold: the hold limit applies. */
  held?: boolean;
  /** ICE and DTLS of the WebRTC leg must be done this long after this update. */
  iceTimeoutMs?: number;
}

export interface MediaTimeoutDetail {
  /** How long the leg had been silent when reported. */
  silentMs: number;
  limitMs: number;
  held: boolean;
}

export interface IceTimeoutDetail {
  limitMs: number;
  /** A valid ICE check arrived (the browser reached us) but DTLS did not finish. */
  iceChecked: boolean;
  dtlsConnected: boolean;
}

export interface RtpLegDescription {
  kind: 'rtp' | 'sdes';
  address: string;
  port: number;
}

/** A WebRTC leg with what its SDP needs (ICE ufrag/pwd, DTLS fingerprint and setup). */
export interface WebRtcLegDescription extends WebRtcLocalParameters {
  kind: 'webrtc';
}

export type LegDescription = RtpLegDescription | WebRtcLegDescription;

export interface BridgeDescription {
  id: string;
  /** Index of the worker that owns the bridge. */
  worker: number;
  legs: LegDescription[];
  /** Legs prepared to take a side over (LegPreparation), by side; absent when none. */
  pending?: Array<LegDescription | null>;
}

/** The format BridgeState is written in; decodeBridgeState() refuses any other. */
export const BRIDGE_STATE_VERSION = 1;

/** The bridge's own state, its legs travelling in BridgeState.legs. */
export type BridgeCore = Omit<BridgeCoreState, 'a' | 'b'>;

/** What exportState returns and restoreBridge takes: enough to resume on another node. */
export interface BridgeState {
  v: typeof BRIDGE_STATE_VERSION;
  id: string;
  legs: LegState[];
  /** null: the legs were bound but not yet forwarding. */
  bridge: BridgeCore | null;
}

/** Per-leg counters and the bridge's outgoing SSRCs and native directions. */
export interface BridgeStats {
  id: string;
  legs: LegStats[];
  bridge: { ssrcToA: number; ssrcToB: number; native: { toA: boolean; toB: boolean } } | null;
}

/** One bridge's per-leg counters, as 'destroy' reports them (and statsMany() decodes them). */
export interface BridgeCounters {
  id: string;
  legs: LegStats[];
}

/** The LegStats fields a counters table holds for each leg, in this order. */
export const LEG_STATS_FIELDS = [
  'packetsIn', 'bytesIn', 'packetsOut', 'bytesOut', 'packetsDropped', 'rtcpIn', 'packetsLost', 'jitter', 'lastPacketAt',
] as const satisfies readonly (keyof LegStats)[];
/** Numbers per bridge in a counters table: legs 0 and 1, LEG_STATS_FIELDS each. */
export const BRIDGE_COUNTERS_WIDTH = 2 * LEG_STATS_FIELDS.length;

/**
 * The counters of many bridges as numbers, BRIDGE_COUNTERS_WIDTH per bridge in the order
 * of `ids` (leg 0's LEG_STATS_FIELDS, then leg 1's); NaN throughout for a bridge no worker
 * knows or a leg it lacks. The monitor samples every call each second: as a table, a
 * sample allocates one array per worker instead of objects per call.
 */
export interface CountersTable {
  ids: string[];
  values: Float64Array;
}

/** Memory, GC and packet figures of one worker (benchmark and metrics). */
export interface WorkerUsage {
  heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; rss: number;
  usedHeapSize: number; mallocedMemory: number; gcMinor: number; gcMajor: number;
  packetsIn: number; packetsOut: number; bridges: number;
  /** The worker's OS thread id (Linux), so a benchmark can read its CPU time apart from the main thread's; -1 elsewhere. */
  tid: number;
}

/**
 * A kind of leg a worker keeps pre-bound (engine/prebound.ts): WebRTC legs need one
 * socket, RTP and SDES legs one, or two (RTP and RTCP) without rtcp-mux.
 */
export interface LegShape {
  kind: 'webrtc' | 'rtp';
  address: string;
  rtcpMux: boolean;
}

/**
 * One pre-bound leg the main thread may hand out without asking the worker: its port
 * (and for WebRTC its ICE credentials) are fixed, so its SDP is known at once.
 */
export interface Reservation {
  id: number;
  shape: LegShape;
  port: number;
  /** WebRTC: the ICE credentials the leg will answer checks with. */
  ice?: { ufrag: string; pwd: string };
}

export type WorkerRequest =
  /** `reserved`: per leg, the Reservation id whose sockets and credentials it takes over. */
  | { seq: number; op: 'create'; spec: BridgeSpec & { id: string; reserved?: [number | null, number | null] } }
  /** Keep `count` legs of each shape pre-bound (0 = none); new ones are announced as 'reserved' events. */
  | { seq: number; op: 'prebind'; shapes: LegShape[]; count: number }
  | { seq: number; op: 'update'; id: string; update: BridgeUpdate }
  | { seq: number; op: 'destroy'; id: string }
  | { seq: number; op: 'stats'; id: string }
  /** Counters of many bridges in one round trip (the monitor's coarse timer); unknown ids are left out. */
  | { seq: number; op: 'statsMany'; ids: string[] }
  | { seq: number; op: 'export'; id: string }
  | { seq: number; op: 'restore'; state: BridgeState }
  | { seq: number; op: 'usage'; gc?: boolean };

/** What each request's reply carries. */
export interface WorkerResults {
  create: BridgeDescription;
  update: BridgeDescription;
  /** The bridge's last counters (legs empty when it did not exist). */
  destroy: BridgeCounters;
  stats: BridgeStats;
  /** CountersTable.values for the ids asked, in their order. */
  statsMany: Float64Array;
  export: BridgeState;
  restore: BridgeDescription;
  usage: WorkerUsage;
  /** Pre-bound legs the worker now holds. */
  prebind: { legs: number };
}

/** Load figures sent with every reply so the main thread's counters stay current. */
export interface WorkerLoad {
  bridges: number;
  /** Port pairs held by bridges (pre-bound legs not counted). */
  portsInUse: number;
  /** Port pairs held by pre-bound legs waiting for a call. */
  portsPrebound?: number;
}

export type WorkerReply =
  | { seq: number; ok: true; result: WorkerResults[keyof WorkerResults]; load: WorkerLoad }
  | { seq: number; ok: false; error: { message: string; status?: number; code?: string }; load: WorkerLoad };

/** Leg events a worker forwards to the main thread (signalling reacts to them). */
export type LegEventName = 'connected' | 'pairChanged' | 'dtlsConnected' | 'dtlsClosed' | 'consentLost' | 'error';

/** A leg's own event (ICE connected, DTLS connected, consent lost, ...) of bridge `id`. */
export interface LegSignalEvent {
  id: string;
  leg: number;
  name: LegEventName;
  /** The selected pair, the SRTP profile, or an error's message. */
  detail?: TransportAddress | string | { message: string };
}

/** What the worker's lifetime watch reports of a leg (see MediaWatch). */
export type LegWatchEvent =
  | { id: string; leg: number; name: 'mediaTimeout'; detail: MediaTimeoutDetail }
  | { id: string; leg: number; name: 'iceTimeout'; detail: IceTimeoutDetail };

export type LegEvent = LegSignalEvent | LegWatchEvent;

export type WorkerEvent =
  /** `fingerprint`: of the worker's DTLS certificate (what its WebRTC legs' SDP carries). */
  | { event: 'ready'; fingerprint?: string }
  | ({ event: 'leg' } & LegEvent)
  /**
   * Pre-bound legs made ready (the main thread may hand them out) or withdrawn (by id).
   * `load` is the worker's after the refill: a reply sent while it ran saw ports half-bound.
   */
  | { event: 'reserved'; reservations: Reservation[]; load: WorkerLoad }
  | { event: 'unreserved'; ids: number[] };

/** The DTLS certificate every worker (and every node of a cluster) uses. */
export interface CertificatePem {
  certPem: string;
  keyPem: string;
}

/** Data handed to each worker at start (workerData). */
export interface WorkerInit {
  index: number;
  /** This worker's slice of the media port range, inclusive. */
  portMin: number;
  portMax: number;
  /** Address the worker's sockets bind to and advertise by default. */
  address: string;
  /** Native sockets and fast path when the addon is built (MediaEngineOptions.native). */
  native: boolean;
  /** DTLS on OpenSSL in the addon when `native` holds (MediaEngineOptions.nativeDtls). */
  nativeDtls?: boolean;
  /** The cluster's DTLS certificate; absent: the worker makes its own. */
  certificate?: CertificatePem;
}

/** A bridge state from outside this process that this build cannot read. */
export class MediaStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaStateError';
  }
}

const LEG_KINDS: ReadonlySet<string> = new Set(['rtp', 'sdes', 'webrtc']);

/** Checks a bridge state that crossed a machine boundary (format version, leg kinds, ports). */
export function decodeBridgeState(raw: unknown): BridgeState {
  if (typeof raw !== 'object' || raw === null) throw new MediaStateError('bridge state is not an object');
  const s = raw as { v?: unknown; id?: unknown; legs?: unknown; bridge?: unknown };
  if (s.v !== BRIDGE_STATE_VERSION) {
    throw new MediaStateError(`bridge state version ${JSON.stringify(s.v)} is not supported (this build reads version ${BRIDGE_STATE_VERSION})`);
  }
  if (typeof s.id !== 'string') throw new MediaStateError('bridge state: id must be a string');
  if (!Array.isArray(s.legs) || s.legs.length !== 2) throw new MediaStateError(`bridge state ${s.id}: two legs expected`);
  for (const leg of s.legs as Array<{ kind?: unknown; port?: unknown; address?: unknown }>) {
    if (typeof leg !== 'object' || leg === null || typeof leg.kind !== 'string' || !LEG_KINDS.has(leg.kind)) {
      throw new MediaStateError(`bridge state ${s.id}: unknown leg kind ${JSON.stringify(leg?.kind)}`);
    }
    if (typeof leg.port !== 'number' || typeof leg.address !== 'string') throw new MediaStateError(`bridge state ${s.id}: a ${leg.kind} leg needs its address and port`);
  }
  if (s.bridge !== null && typeof s.bridge !== 'object') throw new MediaStateError(`bridge state ${s.id}: bridge must be an object or null`);
  return raw as BridgeState;
}
