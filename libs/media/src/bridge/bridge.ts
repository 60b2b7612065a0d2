// Joins two media legs. RTP from one leg is rewritten in place (payload type through the
// mapping table, SSRC/sequence/timestamp through the direction's HeaderRewriter) and sent
// out of the other; RFC 4733 telephone-events go the same way with their PT mapped.
// RTCP is terminated per leg (RFC 3550 §7.2 translator behaviour simplified): RTCP
// received on a leg is read (SR -> LSR for our report blocks) and dropped, never
// forwarded, because its SSRCs, counts and sequence numbers describe the other side of
// the rewrite. Instead the bridge sends its own SR/RR + CNAME on each leg every ~5 s
// (randomised 0.5-1.5x, §6.3.1) from the counters of that leg's directions.
import { randomBytes } from 'node:crypto';
import type { FastPathLink, LegState, MediaLeg } from '../leg.js';
import { loadNativeBinding } from '../native/binding.js';
import { rtpHeaderLength } from '../rtp/header.js';
import { readRtcpCompound, writeRtcpReport } from '../rtp/rtcp.js';
import { RtpReceiveStats } from '../rtp/stats.js';
import { SRTP_MAX_OVERHEAD } from '../srtp/profile.js';
import { FastRoute } from './fast-route.js';
import { HeaderRewriter, ptMapFor, type DirectionState } from './rewrite.js';
import { TelephoneEventSource, type TelephoneEvent } from './telephone-event.js';

export type BridgeSide = 'a' | 'b';

export interface BridgeOptions {
  a: MediaLeg;
  b: MediaLeg;
  /**
   * Payload-type pairs [pt on leg a, pt on leg b] (from libs/sdp's mapping, e.g.
   * webrtcPt <-> trunkPt, including telephone-event). When given, PTs not listed are
   * dropped; when absent, PTs pass unchanged.
   */
  payloadTypes?: ReadonlyArray<readonly [number, number]>;
  /** Outgoing SSRC toward leg b (a->b direction) and toward leg a; random if absent. */
  ssrcToB?: number;
  ssrcToA?: number;
  /** RTP clock rate for timestamp continuity and SR timestamps (default 8000). */
  clockRate?: number;
  /** Mean RTCP report interval per leg in ms (default 5000; 0 = send none). */
  rtcpIntervalMs?: number;
  /** CNAME in our SDES (default random, RFC 7022 style). */
  cname?: string;
  /** Forward settled directions in the native addon when it is loaded (default true). */
  native?: boolean;
}

export interface BridgeState {
  payloadTypes: Array<[number, number]> | null;
  clockRate: number;
  rtcpIntervalMs: number;
  cname: string;
  /** a->b and b->a rewrite state. */
  toB: DirectionState;
  toA: DirectionState;
  /** Which directions forward (setFlow); absent in older records: both. */
  flow?: { toA: boolean; toB: boolean };
  a: LegState;
  b: LegState;
}

/** Copy buffer for legs that need room after the packet (SRTP tags). */
const SCRATCH = 1500 + SRTP_MAX_OVERHEAD;

// One copy buffer and one RTCP report buffer per thread, made on first use, not two and
// one per bridge (3.5 KiB a call, most of it never touched while the native path
// forwards). Sharing is safe because a leg's sendRtp/sendRtcp is done with the buffer
// when it returns: the addon's send is a sendto(); dgram tries a synchronous send first
// and defers only when the socket buffer is full, the case a per-direction buffer was
// exposed to as well (the two reports of sendReports() always shared one buffer).
let scratch: Buffer | null = null;
let rtcpBuf: Buffer | null = null;

export class Bridge {
  private legA: MediaLeg;
  private legB: MediaLeg;
  private readonly toB: HeaderRewriter;
  private readonly toA: HeaderRewriter;
  /** Reception on each leg, for our report blocks: the leg's own state when it keeps one (set by attach()). */
  private fromA!: RtpReceiveStats;
  private fromB!: RtpReceiveStats;
  /** Made for a leg that keeps no reception state of its own (ours all do). */
  private ownFromA: RtpReceiveStats | null = null;
  private ownFromB: RtpReceiveStats | null = null;
  private payloadTypes: Array<[number, number]> | null;
  private clockRate: number;
  private readonly rtcpIntervalMs: number;
  private readonly cname: string;
  private rtcpTimer: NodeJS.Timeout | null = null;
  /** Telephone-events of our own per direction (made on first use). */
  private eventsToA: TelephoneEventSource | null = null;
  private eventsToB: TelephoneEventSource | null = null;
  private sentAtLastReportA = 0;
  private sentAtLastReportB = 0;
  private closed = false;
  private silenced = false;
  /** Native forwarding of each direction (null without the addon). */
  private readonly routeToB: FastRoute | null;
  private readonly routeToA: FastRoute | null;
  private readonly linkA: FastPathLink;
  private readonly linkB: FastPathLink;

  constructor(opts: BridgeOptions) {
    this.legA = opts.a;
    this.legB = opts.b;
    this.clockRate = opts.clockRate ?? 8000;
    this.rtcpIntervalMs = opts.rtcpIntervalMs ?? 5000;
    this.cname = opts.cname ?? randomBytes(12).toString('base64');
    this.toB = new HeaderRewriter(opts.ssrcToB, this.clockRate);
    this.toA = new HeaderRewriter(opts.ssrcToA, this.clockRate);
    this.payloadTypes = null;
    if (opts.payloadTypes) this.fillPtMaps(opts.payloadTypes);
    const binding = opts.native === false ? null : loadNativeBinding();
    this.routeToB = binding === null ? null : new FastRoute(binding, this, true, this.toB);
    this.routeToA = binding === null ? null : new FastRoute(binding, this, false, this.toA);
    this.linkA = this.link(this.routeToB);
    this.linkB = this.link(this.routeToA);
    this.attach('a', this.legA);
    this.attach('b', this.legB);
    this.scheduleRtcp();
  }

  private fillPtMaps(pairs: ReadonlyArray<readonly [number, number]>): void {
    this.payloadTypes = pairs.map(([a, b]) => [a, b] as [number, number]);
    this.toB.ptMap = ptMapFor(this.payloadTypes, false);
    this.toA.ptMap = ptMapFor(this.payloadTypes, true);
  }

  /**
   * New payload-type pairs and clock rate on a live bridge (a re-INVITE changed codecs).
   * The native routes hand their state back first; they are installed again by the next
   * packet JS forwards. The rewrite offsets stay, so sequence numbers and timestamps go on.
   */
  setMapping(pairs: ReadonlyArray<readonly [number, number]>, clockRate: number): void {
    this.suspendRoutes();
    this.fillPtMaps(pairs);
    this.clockRate = clockRate;
    this.toB.clockRate = clockRate;
    this.toA.clockRate = clockRate;
    // Both sides carry the same codec (no transcoding): jitter in its clock's units.
    for (const r of [this.fromA, this.fromB, this.ownFromA, this.ownFromB]) r?.setClockRate(clockRate);
  }

  /** A leg's view of the routes: `inbound` is the direction that receives on it. */
  private link(inbound: FastRoute | null): FastPathLink {
    return new RouteLink(this, inbound);
  }

  /** @internal (RouteLink) */
  suspendRoutes(): void {
    this.routeToB?.suspend();
    this.routeToA?.suspend();
    this.relink();
  }

  /** @internal (RouteLink) */
  pullRoutes(): void {
    this.routeToB?.pull();
    this.routeToA?.pull();
  }

  /** Legs carry a link only while a route runs, so their per-packet check is a null test. @internal (RouteLink) */
  relink(): void {
    const on = (this.routeToB?.installed ?? false) || (this.routeToA?.installed ?? false);
    this.legA.fastPath = on ? this.linkA : null;
    this.legB.fastPath = on ? this.linkB : null;
  }

  /** Directions the native addon is forwarding now (for tests and stats). */
  get nativeDirections(): { toA: boolean; toB: boolean } {
    return { toA: this.routeToA?.installed ?? false, toB: this.routeToB?.installed ?? false };
  }


  /** Rebuilds a bridge from exportState() around legs restored from the same state. */
  static restore(state: Omit<BridgeState, 'a' | 'b'>, a: MediaLeg, b: MediaLeg, native = true): Bridge {
    const bridge = new Bridge({
      a, b, native,
      ...(state.payloadTypes ? { payloadTypes: state.payloadTypes } : {}),
      clockRate: state.clockRate,
      rtcpIntervalMs: state.rtcpIntervalMs,
      cname: state.cname,
    });
    bridge.toB.restore(state.toB);
    bridge.toA.restore(state.toA);
    if (state.flow) bridge.setFlow(state.flow.toA, state.flow.toB);
    return bridge;
  }

  get a(): MediaLeg {
    return this.legA;
  }

  get b(): MediaLeg {
    return this.legB;
  }

  /** Outgoing SSRCs the far ends see (what SDP a=ssrc lines should announce). */
  get ssrcToA(): number {
    return this.toA.ssrc;
  }

  get ssrcToB(): number {
    return this.toB.ssrc;
  }

  /**
   * Puts `leg` in place of one side (re-anchoring after a re-INVITE or takeover). The old
   * leg is detached, not closed: the caller owns it. Sequence numbers and timestamps sent
   * toward the new leg continue; a new source arriving on it is re-anchored.
   */
  replaceLeg(side: BridgeSide, leg: MediaLeg): MediaLeg {
    this.suspendRoutes();
    const old = side === 'a' ? this.legA : this.legB;
    old.onRtp = null;
    old.onRtcp = null;
    old.fastPath = null;
    if (side === 'a') this.legA = leg;
    else this.legB = leg;
    leg.silenced = this.silenced;
    this.attach(side, leg);
    return old;
  }

  exportState(): BridgeState {
    this.pullRoutes();
    return {
      payloadTypes: this.payloadTypes ? this.payloadTypes.map(([a, b]) => [a, b]) : null,
      clockRate: this.clockRate,
      rtcpIntervalMs: this.rtcpIntervalMs,
      cname: this.cname,
      toB: this.toB.exportState(),
      toA: this.toA.exportState(),
      flow: { toA: this.toA.forward, toB: this.toB.forward },
      a: this.legA.exportState(),
      b: this.legB.exportState(),
    };
  }

  /**
   * Stops (or resumes) everything the bridge and its legs do on the wire: no forwarding,
   * no reports, no ICE or DTLS answers (self-fencing while the call may be another node's).
   */
  /**
   * Which directions forward: a party on hold (its SDP says it will not receive) gets
   * nothing, whatever the other side keeps sending (SIPp's echo, music on hold ignored by
   * a sendonly browser). A direction turned back on re-anchors on its next packet, so the
   * sequence numbers and timestamps we send go on as if no packet had been held back.
   */
  /**
   * Plays an RFC 4733 event toward `toward`'s peer in that direction's stream, with `pt`
   * (the out leg's telephone-event payload type): a DTMF digit that arrived as SIP INFO.
   */
  sendEvent(toward: BridgeSide, ev: TelephoneEvent, pt: number): void {
    if (this.closed) return;
    if (toward === 'a') {
      this.eventsToA ??= new TelephoneEventSource(this.toA, () => this.legA, () => { this.routeToA?.suspend(); this.relink(); });
      this.eventsToA.push(ev, pt);
    } else {
      this.eventsToB ??= new TelephoneEventSource(this.toB, () => this.legB, () => { this.routeToB?.suspend(); this.relink(); });
      this.eventsToB.push(ev, pt);
    }
  }

  setFlow(toA: boolean, toB: boolean): void {
    if (this.toA.forward === toA && this.toB.forward === toB) return;
    this.suspendRoutes();
    if (toA && !this.toA.forward) this.toA.resync = true;
    if (toB && !this.toB.forward) this.toB.resync = true;
    this.toA.forward = toA;
    this.toB.forward = toB;
  }

  silence(on: boolean): void {
    if (this.closed || this.silenced === on) return;
    this.silenced = on;
    this.suspendRoutes();
    this.legA.silenced = on;
    this.legB.silenced = on;
  }

  /** Stops forwarding and closes both legs (their ports go back to the allocator). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.rtcpTimer) clearTimeout(this.rtcpTimer);
    this.rtcpTimer = null;
    this.eventsToA?.close();
    this.eventsToB?.close();
    this.suspendRoutes();
    this.legA.onRtp = this.legA.onRtcp = null;
    this.legB.onRtp = this.legB.onRtcp = null;
    this.legA.fastPath = this.legB.fastPath = null;
    const results = await Promise.allSettled([this.legA.close(), this.legB.close()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  private attach(side: BridgeSide, leg: MediaLeg): void {
    // Our legs already keep RFC 3550 reception state for every valid packet they hand
    // over: report from that instead of updating a second copy per packet. A leg without
    // one gets the bridge's own, updated here.
    const legReception = (leg as { reception?: unknown }).reception;
    const shared = legReception instanceof RtpReceiveStats ? legReception : null;
    const own = shared !== null ? null : side === 'a' ? (this.ownFromA ??= new RtpReceiveStats(this.clockRate)) : (this.ownFromB ??= new RtpReceiveStats(this.clockRate));
    const reception = shared ?? (own as RtpReceiveStats);
    // The leg was made before the codec was negotiated; the bridge knows its clock.
    reception.setClockRate(this.clockRate);
    if (side === 'a') this.fromA = reception;
    else this.fromB = reception;
    const track = shared === null ? own : null;
    if (side === 'a') {
      leg.onRtp = (buf, len) => this.forward(buf, len, leg, this.toB, track, this.legB, this.routeToB);
      leg.onRtcp = (buf, len) => { readRtcpCompound(buf, len, reception, performance.now()); };
    } else {
      leg.onRtp = (buf, len) => this.forward(buf, len, leg, this.toA, track, this.legA, this.routeToA);
      leg.onRtcp = (buf, len) => { readRtcpCompound(buf, len, reception, performance.now()); };
    }
  }

  private forward(buf: Buffer, len: number, from: MediaLeg, rw: HeaderRewriter, track: RtpReceiveStats | null, out: MediaLeg, route: FastRoute | null): void {
    const hdr = rtpHeaderLength(buf, len);
    if (hdr < 0) {
      from.stats.packetsDropped++;
      return;
    }
    if (track !== null) track.update(buf, performance.now());
    // Held back (the receiving party is on hold): received and counted, not sent, and
    // kept off the native path (which forwards unconditionally) until the flow resumes.
    if (!rw.forward) return;
    // Legs stamp lastPacketAt (Date.now()) just before handing a packet over: reuse it.
    const at = from.stats.lastPacketAt;
    if (!rw.rewrite(buf, len, hdr, at > 0 ? at : Date.now())) {
      // A payload type outside the negotiated mapping (LegStats: "unknown PT").
      from.stats.packetsDropped++;
      return;
    }
    if (out.kind === 'rtp' || buf.length - len >= SRTP_MAX_OVERHEAD) {
      out.sendRtp(buf, len);
    } else if (len <= 1500) {
      // The leg protects in place and needs room for the tag (MediaLeg.sendRtp contract).
      const copy = (scratch ??= Buffer.alloc(SCRATCH));
      buf.copy(copy, 0, 0, len);
      out.sendRtp(copy, len);
    }
    // A direction JS has just forwarded is handed to the addon once its legs are settled
    // (and a bridge-tracked source never is: the addon updates the leg's own reception).
    if (route !== null && track === null && !this.closed && !this.silenced && !rw.jsOnly && route.tryInstall()) this.relink();
  }

  private scheduleRtcp(): void {
    if (this.rtcpIntervalMs <= 0 || this.closed) return;
    const delay = this.rtcpIntervalMs * (0.5 + Math.random());
    this.rtcpTimer = setTimeout(() => {
      this.sendReports();
      this.scheduleRtcp();
    }, delay);
    this.rtcpTimer.unref();
  }

  /** One report per leg: SR if we sent RTP on it since the last report, else RR. */
  sendReports(): void {
    if (this.silenced) return;
    this.pullRoutes();
    const now = performance.now();
    const wall = Date.now();
    const toA = this.toA;
    const toB = this.toB;
    const sentA = toA.packets !== this.sentAtLastReportA;
    const sentB = toB.packets !== this.sentAtLastReportB;
    this.sentAtLastReportA = toA.packets;
    this.sentAtLastReportB = toB.packets;
    const tsNow = (rw: HeaderRewriter): number => (rw.lastTs + Math.round(((wall - rw.lastAt) * this.clockRate) / 1000)) >>> 0;
    const buf = (rtcpBuf ??= Buffer.alloc(512));
    let n = writeRtcpReport(buf, sentA, { ssrc: toA.ssrc, wallclockMs: wall, rtpTimestamp: tsNow(toA), packetCount: toA.packets, octetCount: toA.octets }, this.fromA, now, this.cname);
    this.legA.sendRtcp(buf, n);
    n = writeRtcpReport(buf, sentB, { ssrc: toB.ssrc, wallclockMs: wall, rtpTimestamp: tsNow(toB), packetCount: toB.packets, octetCount: toB.octets }, this.fromB, now, this.cname);
    this.legB.sendRtcp(buf, n);
    // takeFractionLost() moved the reception state's interval marks: the routes keep them.
    this.routeToB?.pushReception();
    this.routeToA?.pushReception();
  }
}

/** FastPathLink on prototype methods: one small object per leg, not three closures. */
class RouteLink implements FastPathLink {
  constructor(private readonly bridge: Bridge, private readonly inbound: FastRoute | null) {}

  suspendIn(): void {
    this.inbound?.suspend();
    this.bridge.relink();
  }

  suspend(): void {
    this.bridge.suspendRoutes();
  }

  pull(): void {
    this.bridge.pullRoutes();
  }
}
