// The call monitor: everything metrics, call records, the one-way-audio detector and the
// admin API know about a call, gathered without a hook in the call flows. It listens to
// the call registry's typed events (started, state, ended), to the transport's message
// tap (the INVITE's source, when the 18x and the 2xx left for the caller, the SDP of
// every offer and answer, hence hold), and to the media engine: leg events (ICE, DTLS,
// consent) and the legs' counters, sampled for all calls in one request per worker on
// a coarse timer, plus a short fast timer only while an answered call waits for its
// first packet (the 200 -> first media figure). Nothing here runs per packet.

import { EventEmitter } from 'node:events';
import { parseCSeq, type TappedMessage, type TransportInfo, type TransportLayer } from '@trapezoid/sip';
import { BRIDGE_COUNTERS_WIDTH, type BridgeCounters, type LegEvent, type MediaEngine } from '@trapezoid/media';
import type { Call, CallRegistry } from '../calls/call.js';
import type { Logger } from '../logging.js';
import { countersRow, lastPacketAt, MEDIA_DIRECTIONS, zeroCounters, type DirectionCounters, type MediaDirectionName, type MediaLegName } from './directions.js';
import type { MediaVerdict } from './one-way-audio.js';
import { sdpFacts, sdpOf } from './sdp-facts.js';
import { foldCounters, type FoldScratch } from './fold-counters.js';
import { detached, identityOf, isHeld, newObservedCall, sameSilence, type LegIdentity, type ObservedCall, type WebRtcFailureStage } from './observed-call.js';

export type { LegIdentity, ObservedCall, WebRtcFailureStage } from './observed-call.js';

export interface ObserverEvents {
  /** A call started, its trunk resolved. */
  attempted: [ob: ObservedCall];
  /** The caller got the 2xx: seconds from its INVITE. */
  answered: [ob: ObservedCall, setupSeconds: number];
  /** The first packet from a leg after the answer (0 when it came with early media). */
  firstMedia: [ob: ObservedCall, leg: MediaLegName, seconds: number];
  /** Packets, bytes and loss moved since the previous sample. */
  media: [ob: ObservedCall, delta: Record<MediaDirectionName, DirectionCounters>];
  /** The detector's verdict changed. */
  verdict: [ob: ObservedCall, verdict: MediaVerdict, previous: MediaVerdict];
  webrtcFailure: [ob: ObservedCall, stage: WebRtcFailureStage];
  /** The call is over and its record complete (final media counters included). */
  ended: [ob: ObservedCall];
  /** A dead node's call carried on here (issue 10 takeover); its record is written here when it ends. */
  adopted: [ob: ObservedCall];
  /** Either leg's SDP put the call on hold (true) or took it off (false). */
  hold: [ob: ObservedCall, held: boolean];
}

export interface CallObserverOptions {
  calls: CallRegistry;
  transport: TransportLayer;
  log: Logger;
  /** The trunk a request's source belongs to, for calls whose flow names none. */
  trunkAt: (source: TransportInfo) => string | undefined;
  /** How often the legs' counters are sampled. */
  intervalMs: number;
  /** A direction silent this long on an answered call that is not on hold is flagged. */
  oneWayAudioMs: number;
}

/** How often an answered call waiting for its first packet is sampled, and for how long. */
const FIRST_MEDIA_POLL_MS = 50;
const FIRST_MEDIA_WAIT_MS = 10_000;
/**
 * INVITEs wait here for the call they start, created milliseconds later once the INVITE
 * passed authentication and routing. Every INVITE on the wire is seen, those the edge
 * then drops included: kept small and brief (a 20,000-INVITE UDP flood left 10 MiB here for 32 s).
 */
const PENDING_INVITE_MS = 5_000;
/** Each leg's first packet: its name, the direction that carries it in, and its leg index in the bridge. */
const FIRST_MEDIA = [['browser', 'browser->gateway', 0], ['trunk', 'trunk->gateway', 1]] as const;
const MAX_PENDING_INVITES = 1_000;

export class CallObserver extends EventEmitter<ObserverEvents> {
  private readonly live = new Map<string, ObservedCall>();
  private readonly byCallId = new Map<string, { ob: ObservedCall; leg: 'a' | 'b' }>();
  private readonly byBridge = new Map<string, ObservedCall>();
  private readonly pendingInvites = new Map<string, { transport: TransportInfo; at: number; identity: LegIdentity }>();
  /** Call-IDs of calls ended lately, to their A-leg Call-ID: the last BYE's 200 still correlates. */
  private readonly endedCallIds = new Map<string, { aCallId: string; at: number }>();
  private engine: MediaEngine | null = null;
  private timer: NodeJS.Timeout | null = null;
  private fastTimer: NodeJS.Timeout | null = null;
  private sampling = false;
  private readonly untap: () => void;
  private readonly onLegEvent = (ev: LegEvent): void => this.legEvent(ev);
  private readonly onBridgeDestroyed = (c: BridgeCounters): void => {
    const ob = this.bridgeOwner(c.id);
    if (ob && !ob.final) {
      this.absorb(ob, countersRow(c.legs), 0, Date.now());
      ob.final = true;
    }
  };
  /** Scratch space of absorb(): each sample's counters and deltas, valid during its 'media' event only. */
  private readonly scratch: FoldScratch = { next: zeroCounters(), delta: zeroCounters() };
  private readonly packets = {} as Record<MediaDirectionName, number>;

  constructor(private readonly opts: CallObserverOptions) {
    super();
    this.untap = opts.transport.addTap((m) => this.tapped(m));
    opts.calls.on('started', (call) => this.started(call));
    opts.calls.on('adopted', (call) => this.started(call, true));
    opts.calls.on('state', (call, state) => this.state(call, state));
    opts.calls.on('ended', (call) => this.ended(call));
    // Another node owns it now: it writes the record; here it is only forgotten.
    opts.calls.on('handedOver', (call) => this.forget(call));
  }

  /** Starts sampling the engine's legs (the engine starts after the gateway is built). */
  attachEngine(engine: MediaEngine): void {
    this.engine = engine;
    engine.on('legEvent', this.onLegEvent);
    engine.on('bridgeDestroyed', this.onBridgeDestroyed);
    this.timer = setInterval(() => void this.sample(false), this.opts.intervalMs);
    this.timer.unref();
  }

  close(): void {
    this.untap();
    if (this.timer) clearInterval(this.timer);
    if (this.fastTimer) clearInterval(this.fastTimer);
    this.timer = this.fastTimer = null;
    this.engine?.off('legEvent', this.onLegEvent);
    this.engine?.off('bridgeDestroyed', this.onBridgeDestroyed);
  }

  get(callId: string): ObservedCall | undefined {
    return this.live.get(callId);
  }

  list(): ObservedCall[] {
    return [...this.live.values()];
  }

  /** True while either leg's latest SDP holds the media (a direction other than sendrecv). */
  isHeld(callId: string): boolean {
    const ob = this.live.get(callId);
    return ob !== undefined && (isHeld(ob.sdp.a) || isHeld(ob.sdp.b));
  }

  /** The correlation id of a SIP message's Call-ID: its call's A-leg Call-ID, shared by both legs. */
  correlationId(callId: string): string | undefined {
    return this.byCallId.get(callId)?.ob.call.record.aCallId ?? this.endedCallIds.get(callId)?.aCallId;
  }

  // ---- call registry ----

  private started(call: Call, adopted = false): void {
    const ob = newObservedCall(call, this.opts.oneWayAudioMs);
    this.live.set(call.id, ob);
    this.byCallId.set(call.record.aCallId, { ob, leg: 'a' });
    call.once('ended', (end) => { ob.end = end; });
    const invite = this.pendingInvites.get(call.record.aCallId);
    if (invite) {
      this.pendingInvites.delete(call.record.aCallId);
      ob.aSource = invite.transport;
      ob.inviteAt = invite.at;
      ob.aInvite = invite.identity;
    }
    // The call flow names the trunk right after creating the call: read it once that ran.
    queueMicrotask(() => {
      const src = ob.aSource;
      ob.trunk = call.record.trunk ?? (call.record.direction === 'inbound' && src ? this.opts.trunkAt(src) : undefined);
      this.emit(adopted ? 'adopted' : 'attempted', ob);
    });
  }

  private state(call: Call, state: string): void {
    const ob = this.live.get(call.id);
    if (!ob) return;
    const b = call.record.bCallId;
    if (b && !this.byCallId.has(b)) {
      this.byCallId.set(b, { ob, leg: 'b' });
      ob.callIds.add(b);
    }
    if (state === 'answered' && ob.answerSentAt === undefined) this.answered(ob, call.record.answeredAt ?? Date.now());
  }

  /** The caller got its 2xx: counted once, whether or not the call lived to be 'answered'. */
  private answered(ob: ObservedCall, at: number): void {
    ob.answerSentAt = at;
    this.emit('answered', ob, Math.max(0, at - (ob.inviteAt ?? ob.call.record.createdAt)) / 1000);
    this.startFastSampling();
  }

  /** Answered as the wire says (a BYE right behind the ACK can end a call before its state moves). */
  static wasAnswered(ob: ObservedCall): boolean {
    return ob.answerSentAt !== undefined || ob.call.record.answeredAt !== undefined;
  }

  private ended(call: Call): void {
    const ob = this.forget(call);
    if (!ob) return;
    if (CallObserver.wasAnswered(ob) && !ob.webrtc.failure) {
      if (ob.webrtc.iceConnectedAt === undefined) this.fail(ob, 'ice');
      else if (ob.webrtc.dtlsConnectedAt === undefined) this.fail(ob, 'dtls');
    }
    this.emit('ended', ob);
  }

  private forget(call: Call): ObservedCall | undefined {
    const ob = this.live.get(call.id);
    if (!ob) return undefined;
    this.live.delete(call.id);
    for (const id of ob.callIds) {
      if (this.byCallId.get(id)?.ob !== ob) continue;
      this.byCallId.delete(id);
      this.endedCallIds.set(id, { aCallId: call.record.aCallId, at: Date.now() });
    }
    if (ob.bridgeId) this.byBridge.delete(ob.bridgeId);
    return ob;
  }

  // ---- transport tap ----

  private tapped(m: TappedMessage): void {
    const msg = m.message;
    if (!msg) return;
    const callId = msg.callId;
    const known = this.byCallId.get(callId) ?? (m.direction === 'sent' && msg.isRequest && msg.method === 'INVITE' ? this.bLegOf(callId) : undefined);
    if (!known) {
      if (m.direction === 'received' && msg.isRequest && msg.method === 'INVITE' && !/;\s*tag=/i.test(msg.headers.get('to') ?? '')) {
        // Re-inserted, so the table stays in arrival order (pruning stops at the first young one).
        this.pendingInvites.delete(callId);
        if (this.pendingInvites.size >= MAX_PENDING_INVITES) this.pendingInvites.delete(this.pendingInvites.keys().next().value!);
        this.pendingInvites.set(callId, { transport: m.transport, at: m.at, identity: detached(identityOf(msg)) });
      }
      return;
    }
    const { ob, leg } = known;
    if (leg === 'b' && m.direction === 'sent' && msg.isRequest && msg.method === 'INVITE' && !ob.bTarget) {
      ob.bTarget = m.transport;
      ob.bInvite = identityOf(msg);
    }
    if (leg === 'a' && m.direction === 'sent' && !msg.isRequest && parseCSeq(msg.headers.get('cseq') ?? '').method === 'INVITE') {
      if (msg.status >= 180 && msg.status < 190) ob.ringSentAt ??= m.at;
      else if (msg.status >= 200 && msg.status < 300 && ob.answerSentAt === undefined && !ob.call.ended) this.answered(ob, m.at);
    }
    const sdp = sdpOf(msg);
    if (sdp !== undefined) {
      const facts = sdpFacts(sdp);
      if (facts) {
        const wasHeld = isHeld(ob.sdp.a) || isHeld(ob.sdp.b);
        ob.sdp[leg] = facts;
        const held = isHeld(ob.sdp.a) || isHeld(ob.sdp.b);
        if (held !== wasHeld) this.emit('hold', ob, held);
      }
    }
  }

  /**
   * A B-leg INVITE the gateway just sent: the call flow set its Call-ID on the record
   * (no event says so), so the live calls are searched, once per B-leg INVITE.
   */
  private bLegOf(callId: string): { ob: ObservedCall; leg: 'b' } | undefined {
    for (const ob of this.live.values()) {
      if (ob.call.record.bCallId === callId) {
        const entry = { ob, leg: 'b' as const };
        this.byCallId.set(callId, entry);
        ob.callIds.add(callId);
        return entry;
      }
    }
    return undefined;
  }

  // ---- media engine ----

  private bridgeOwner(bridgeId: string): ObservedCall | undefined {
    let ob = this.byBridge.get(bridgeId);
    if (!ob) {
      ob = [...this.live.values()].find((o) => o.call.media?.id === bridgeId);
      if (ob) {
        ob.bridgeId = bridgeId;
        this.byBridge.set(bridgeId, ob);
      }
    }
    return ob;
  }

  private legEvent(ev: LegEvent): void {
    if (ev.leg !== 0) return;
    const ob = this.bridgeOwner(ev.id);
    if (!ob) return;
    const now = Date.now();
    if (ev.name === 'connected') ob.webrtc.iceConnectedAt ??= now;
    else if (ev.name === 'dtlsConnected') {
      ob.webrtc.dtlsConnectedAt ??= now;
      if (typeof ev.detail === 'string') ob.webrtc.srtpProfile = ev.detail;
    } else if (ev.name === 'error' && ob.webrtc.dtlsConnectedAt === undefined) this.fail(ob, 'dtls');
    else if (ev.name === 'consentLost') this.fail(ob, 'consent');
  }

  private fail(ob: ObservedCall, stage: WebRtcFailureStage): void {
    if (ob.webrtc.failure) return;
    ob.webrtc.failure = stage;
    this.emit('webrtcFailure', ob, stage);
  }

  private startFastSampling(): void {
    if (this.fastTimer || !this.engine) return;
    this.fastTimer = setInterval(() => void this.sample(true), FIRST_MEDIA_POLL_MS);
    this.fastTimer.unref();
  }

  /** Answered calls still waiting for a leg's first packet (and not for too long). */
  private awaitingFirstMedia(now: number): ObservedCall[] {
    return [...this.live.values()].filter((ob) => {
      const at = ob.answerSentAt;
      return at !== undefined && now - at < FIRST_MEDIA_WAIT_MS && (ob.firstMediaAt.browser === undefined || ob.firstMediaAt.trunk === undefined);
    });
  }

  private async sample(fast: boolean): Promise<void> {
    const engine = this.engine;
    if (!engine || (this.sampling && !fast)) return;
    const now = Date.now();
    const obs = fast ? this.awaitingFirstMedia(now) : [...this.live.values()];
    if (fast && obs.length === 0) {
      if (this.fastTimer) clearInterval(this.fastTimer);
      this.fastTimer = null;
      return;
    }
    const ids: string[] = [];
    for (const ob of obs) {
      const id = ob.bridgeId ?? ob.call.media?.id;
      if (id === undefined) continue;
      if (ob.bridgeId === undefined) {
        ob.bridgeId = id;
        this.byBridge.set(id, ob);
      }
      ids.push(id);
    }
    if (!fast) this.sampling = true;
    try {
      const table = ids.length > 0 ? await engine.countersMany(ids) : null;
      const at = Date.now();
      for (let row = 0; table && row < table.ids.length; row++) {
        const ob = this.byBridge.get(table.ids[row]!);
        if (ob && !ob.final && !Number.isNaN(table.values[row * BRIDGE_COUNTERS_WIDTH])) this.absorb(ob, table.values, row, at);
      }
      if (!fast) for (const ob of this.live.values()) this.judge(ob, at);
    } finally {
      if (!fast) this.sampling = false;
      if (!fast) this.prunePendingInvites(now);
    }
  }

  /** Takes a sample of a call's legs' counters (row `row` of a counters table): deltas, first media, jitter. */
  private absorb(ob: ObservedCall, values: Float64Array, row: number, at: number): void {
    const { next, delta } = this.scratch;
    const moved = foldCounters(ob, values, row, this.scratch);
    const since = ob.answerSentAt;
    if (since !== undefined) {
      for (const [leg, d, index] of FIRST_MEDIA) {
        if (ob.firstMediaAt[leg] === undefined && next[d].packets > 0) {
          // Packets counted before this sample came with early media: media was there at the
          // answer. Else the last packet's arrival is the first's, to within one fast period.
          const lastAt = lastPacketAt(values, row, index) || at;
          const first = next[d].packets > delta[d].packets ? since : Math.min(lastAt, at);
          ob.firstMediaAt[leg] = first;
          this.emit('firstMedia', ob, leg, Math.max(0, first - since) / 1000);
        }
      }
    }
    if (moved) this.emit('media', ob, delta);
  }

  /** The one-way-audio verdict of one call at a coarse sample. */
  private judge(ob: ObservedCall, now: number): void {
    const call = ob.call;
    const live = call.record.state === 'answered' && call.media?.connected === true;
    const held = isHeld(ob.sdp.a) || isHeld(ob.sdp.b);
    const packets = this.packets;
    for (const d of MEDIA_DIRECTIONS) packets[d] = ob.counters[d].packets;
    const verdict = ob.detector.sample(now, packets, live, held);
    const previous = ob.verdict;
    ob.verdict = verdict;
    if (verdict.status === previous.status && sameSilence(verdict, previous)) return;
    const flagged = verdict.status === 'one-way' || verdict.status === 'no-media';
    if (flagged) {
      ob.flaggedAt ??= now;
      call.log.warn(verdict.status === 'one-way' ? 'one-way audio' : 'no media in either direction', {
        event: 'one-way-audio', status: verdict.status,
        silent: verdict.silent.map((s) => `${s.leg} leg: ${s.direction} silent ${Math.round(s.silentMs / 100) / 10} s`),
        directions: verdict.silent.map((s) => s.direction), legs: verdict.silent.map((s) => s.leg),
      });
    } else if (previous.status === 'one-way' || previous.status === 'no-media') {
      ob.flaggedAt = undefined;
      call.log.info('media flowing again', { event: 'media-restored', status: verdict.status });
    }
    this.emit('verdict', ob, verdict, previous);
  }

  private prunePendingInvites(now: number): void {
    for (const map of [this.pendingInvites, this.endedCallIds]) {
      for (const [id, p] of map) {
        if (now - p.at < PENDING_INVITE_MS) break;
        map.delete(id);
      }
    }
  }
}

