// The media of one call: a WebRTC leg toward the browser, an RTP leg toward the
// trunk, and the bridge that joins them once the codecs are negotiated — all living
// on a media worker of the gateway's MediaEngine (docs/architecture.md, "Where the time goes");
// this class is the call's handle on them. Legs are bound when the offer is converted
// (their ports go into the SDP); forwarding starts when the answer gives the
// payload-type mapping. close() releases all of it on every path, however far the
// call got.

import { randomBytes } from 'node:crypto';
import { generateIceCredentials, type BridgeDescription, type EngineBridgeState, type IceCredentials, type BridgeOptionsSpec, type LegChange, type LegEvent, type LegStats, type LegWatchEvent, type MediaWatch, type MediaEngine, type RtpLegDescription, type RtpRemoteChange, type WebRtcLegDescription, type WebRtcRemoteChange } from '@trapezoid/media';
import type { IceDtlsParams, LocalStream, MediaEndpoint, PtMapping, RtpRemote, WebRtcRemote } from '@trapezoid/sdp';
import { bridgeMapping, isHoldAddress, rtpChange, sameMapping, sameRtpRemote, sameWebRtcRemote, toLegRemote } from './media-changes.js';

/** A bind address and the address SDP names for it (NAT, floating IP). */
export interface MediaInterface {
  address: string;
  advertise?: string;
}

export interface CallMediaOptions {
  engine: MediaEngine;
  /** Address written into SDP (public or floating address); default the engine's bind address. */
  advertisedAddress?: string;
  /**
   * Separate media interfaces, like rtpengine's: the WebRTC leg binds and advertises
   * `browser` (public side), the RTP leg `trunk` (private side). Each falls back to
   * the engine's address and `advertisedAddress`.
   */
  interfaces?: { browser?: MediaInterface; trunk?: MediaInterface };
  /** The browser's offer (browser -> trunk calls); absent when we offer to the browser. */
  webrtcRemote?: WebRtcRemote;
  /** Networks the trunk's RTP may come from besides its SDP's address (trunk mediaNetworks). */
  mediaNetworks?: string[];
}

/** Which directions the bridge forwards: a party on hold gets nothing (RFC 3264 §8.4). */
export interface MediaFlow {
  toBrowser: boolean;
  toTrunk: boolean;
}

/** Index of each leg in the engine's bridge. */
const WEBRTC = 0;
const RTP = 1;

/**
 * One 'legEvent' listener per engine, routing by bridge id: a listener per call would
 * make every leg event cost O(live calls) and trip EventEmitter's leak warning past
 * ten calls.
 */
const routers = new WeakMap<MediaEngine, Map<string, (ev: LegEvent) => void>>();

function legEventRoutes(engine: MediaEngine): Map<string, (ev: LegEvent) => void> {
  let routes = routers.get(engine);
  if (!routes) {
    const created = new Map<string, (ev: LegEvent) => void>();
    engine.on('legEvent', (ev: LegEvent) => created.get(ev.id)?.(ev));
    routers.set(engine, created);
    routes = created;
  }
  return routes;
}

export class CallMedia {
  private bridged = false;
  private closed = false;
  /** What the worker was last told: renegotiate() sends only what changed. */
  private rtpRemote: RtpRemote | null = null;
  private webrtcRemote: WebRtcRemote | null = null;
  private mapping: PtMapping[] | null = null;
  /** Directions forwarding now (toBrowser: trunk -> browser); both until a hold says otherwise. */
  private flow = { toBrowser: true, toTrunk: true };
  /** Our ICE credentials after an ICE restart (RFC 8839 §4.4.1.1.1); the leg's own before. */
  private ice: IceCredentials | null = null;
  private iceRestart = false;
  /** A transfer's leg bound for the browser's side, and that side's RTP leg once swapped in. */
  private prepared: RtpLegDescription | null = null;
  private preparedWebRtc: WebRtcLegDescription | null = null;
  private side0: RtpLegDescription | null = null;
  private consentLost: (() => void) | null = null;
  private dtlsConnected: (() => void) | null = null;
  private legFailed: ((error: string) => void) | null = null;
  /** The browser's DTLS completed once: a leg error after that closed a leg media flowed on. */
  private dtlsUp = false;
  /** Silenced while this node may have lost the call (self-fencing): leg events are moot then. */
  private silenced = false;
  private watchListener: ((ev: LegWatchEvent & { side: 'browser' | 'trunk' }) => void) | null = null;

  private constructor(
    private readonly engine: MediaEngine,
    readonly id: string,
    private webrtc: WebRtcLegDescription,
    private readonly rtp: RtpLegDescription,
    private readonly browserAdvertised: string | undefined,
    private readonly trunkAdvertised: string | undefined,
    /**
     * The stream we send the browser, fixed before the bridge exists so the SDP can
     * signal it (a=ssrc/msid, RFC 5576/8830): werift drops RTP from unsignalled SSRCs.
     */
    readonly towardBrowser: LocalStream = { ssrc: randomBytes(4).readUInt32BE(0) >>> 0, cname: randomBytes(8).toString('base64url') },
  ) {
    legEventRoutes(engine).set(id, (ev) => {
      if (this.silenced) return;
      if (ev.name === 'mediaTimeout' || ev.name === 'iceTimeout') {
        this.watchListener?.({ ...ev, side: ev.leg === WEBRTC ? 'browser' : 'trunk' });
        return;
      }
      if (ev.leg !== WEBRTC) return;
      if (ev.name === 'consentLost') this.consentLost?.();
      else if (ev.name === 'dtlsConnected') {
        this.dtlsUp = true;
        this.dtlsConnected?.();
      } else if (ev.name === 'error' && this.dtlsUp) {
        // The leg closed itself (a DTLS fault): the call would go on without media.
        const d = (ev as { detail?: unknown }).detail;
        this.legFailed?.(typeof d === 'object' && d !== null && 'message' in d ? String(d.message) : String(d));
      }
    });
  }

  private static fromDescription(
    engine: MediaEngine, d: BridgeDescription, browserAdvertised: string | undefined, trunkAdvertised: string | undefined, towardBrowser?: LocalStream,
  ): CallMedia {
    const webrtc = d.legs[WEBRTC];
    const rtp = d.legs[RTP];
    if (webrtc?.kind !== 'webrtc' || rtp?.kind !== 'rtp') throw new Error(`media worker bound ${webrtc?.kind}/${rtp?.kind} legs, not webrtc/rtp`);
    return new CallMedia(engine, d.id, webrtc, rtp, browserAdvertised, trunkAdvertised, towardBrowser);
  }

  /**
   * Rebinds a call's media from its stored state (takeover): same addresses and ports,
   * same ICE credentials and SRTP contexts, forwarding at once if it was.
   */
  static async restore(engine: MediaEngine, state: EngineBridgeState, advertised: { browser?: string; trunk?: string } = {}): Promise<CallMedia> {
    const d = await engine.restoreBridge(state);
    const b = state.bridge;
    const media = CallMedia.fromDescription(engine, d, advertised.browser, advertised.trunk, b ? { ssrc: b.toA.ssrc, cname: b.cname } : undefined);
    media.bridged = b !== null;
    return media;
  }

  /** Binds both legs on a media worker, not forwarding yet. */
  static async create(opts: CallMediaOptions): Promise<CallMedia> {
    const browser = opts.interfaces?.browser;
    const trunk = opts.interfaces?.trunk;
    const trunkAdvertised = trunk ? trunk.advertise : opts.advertisedAddress;
    const browserAdvertised = browser ? browser.advertise : opts.advertisedAddress;
    const d = await opts.engine.createBridge({
      legs: [
        {
          kind: 'webrtc', ...(opts.webrtcRemote ? { remote: toLegRemote(opts.webrtcRemote) } : {}),
          ...(browser ? { address: browser.address } : {}),
        },
        {
          kind: 'rtp', ...(trunkAdvertised ? { advertisedAddress: trunkAdvertised } : {}), ...(opts.mediaNetworks ? { mediaNetworks: opts.mediaNetworks } : {}),
          ...(trunk ? { address: trunk.address } : {}),
        },
      ],
      bridge: null,
    });
    return CallMedia.fromDescription(opts.engine, d, browserAdvertised, trunkAdvertised);
  }

  /** Called each time the browser's DTLS handshake completes (SRTP keys exist: time to replicate). */
  onDtlsConnected(fn: () => void): void {
    this.dtlsConnected = fn;
  }

  /** Everything another node needs to carry this media on (legs, keys, rewrite offsets). */
  exportState(): Promise<EngineBridgeState> {
    return this.engine.exportState(this.id);
  }

  /** Stops (true) or resumes all forwarding and ICE/DTLS answers (self-fencing). */
  async silence(on: boolean): Promise<void> {
    this.silenced = on;
    await this.engine.updateBridge(this.id, { silenced: on });
  }

  /** Called when the browser's WebRTC leg fails after its DTLS was up (the leg is closed then). */
  onLegFailed(fn: (error: string) => void): void {
    this.legFailed = fn;
  }

  /** Called once when the browser stops answering ICE consent checks (RFC 7675). */
  onConsentLost(fn: () => void): void {
    this.consentLost = () => {
      this.consentLost = null;
      fn();
    };
  }

  /**
   * Arms or changes the media worker's lifetime watch of this call (silence per leg,
   * hold, ICE/DTLS completion: MediaWatch); what it reports goes to onWatchEvent.
   */
  async watch(w: MediaWatch): Promise<void> {
    if (this.closed) return;
    try {
      await this.engine.updateBridge(this.id, { watch: w });
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  /** The one listener of what the watch reports ('browser' is the WebRTC leg). */
  onWatchEvent(fn: (ev: LegWatchEvent & { side: 'browser' | 'trunk' }) => void): void {
    this.watchListener = fn;
  }

  /** Our ICE-lite/DTLS parameters, for the SDP we send the browser. */
  get iceDtls(): IceDtlsParams {
    const p = this.webrtc;
    const ice = this.ice ?? { ufrag: p.ufrag, pwd: p.pwd };
    return { ufrag: ice.ufrag, pwd: ice.pwd, fingerprint: p.fingerprint, setup: p.setup === 'active' ? 'active' : p.setup === 'passive' ? 'passive' : 'actpass' };
  }

  /**
   * Our ICE/DTLS parameters for the answer to the browser's re-offer `remote`: a new
   * ufrag and pwd from the browser is an ICE restart (RFC 8839 §4.4.1.1.1), answered with
   * new credentials of ours; the DTLS association and the SRTP contexts are kept (the
   * fingerprint is unchanged). The worker gets them with the next renegotiate().
   */
  iceFor(remote: WebRtcRemote): IceDtlsParams {
    const prev = this.webrtcRemote;
    if (prev !== null && (prev.ufrag !== remote.ufrag || prev.pwd !== remote.pwd)) {
      this.ice = generateIceCredentials();
      this.iceRestart = true;
    }
    return this.iceDtls;
  }

  get webrtcEndpoint(): MediaEndpoint {
    return { address: this.browserAdvertised ?? this.webrtc.address, port: this.webrtc.port };
  }

  get rtpEndpoint(): MediaEndpoint {
    return { address: this.trunkAdvertised ?? this.rtp.address, port: this.rtp.port };
  }

  /**
   * Binds the RTP leg a transfer puts on the browser's side (leg 0) for a new trunk
   * party, on the trunk interface; the browser's leg carries the call until the swap.
   * Returns the endpoint for our offer to the new party.
   */
  async prepareTransferLeg(mediaNetworks: string[] = []): Promise<MediaEndpoint> {
    const d = await this.engine.updateBridge(this.id, {
      legs: [{
        prepare: {
          kind: 'rtp', address: this.rtp.address, ...(this.trunkAdvertised ? { advertisedAddress: this.trunkAdvertised } : {}),
          ...(mediaNetworks.length > 0 ? { mediaNetworks } : {}),
        },
      }, null],
    });
    const p = d.pending?.[WEBRTC];
    if (!p || p.kind === 'webrtc') throw new Error('the media worker prepared no RTP leg');
    this.prepared = p;
    return { address: this.trunkAdvertised ?? p.address, port: p.port };
  }

  /**
   * Binds the WebRTC leg a transfer to another browser agent puts on the browser's side:
   * our ICE-lite and DTLS parameters and endpoint for the offer to the new agent.
   */
  async prepareTransferWebRtcLeg(): Promise<{ ice: IceDtlsParams; endpoint: MediaEndpoint }> {
    const d = await this.engine.updateBridge(this.id, { legs: [{ prepare: { kind: 'webrtc', address: this.webrtc.address } }, null] });
    const p = d.pending?.[WEBRTC];
    if (!p || p.kind !== 'webrtc') throw new Error('the media worker prepared no WebRTC leg');
    this.preparedWebRtc = p;
    return {
      ice: { ufrag: p.ufrag, pwd: p.pwd, fingerprint: p.fingerprint, setup: 'actpass' },
      endpoint: { address: this.browserAdvertised ?? p.address, port: p.port },
    };
  }

  /** The new agent answered: its WebRTC leg takes the browser's side (new ICE, DTLS and SRTP). */
  async swapInTransferWebRtcLeg(remote: WebRtcRemote, mapping: PtMapping[], flow: MediaFlow): Promise<void> {
    const p = this.preparedWebRtc;
    if (!p || this.closed) return;
    this.preparedWebRtc = null;
    this.webrtc = p;
    this.ice = null;
    this.iceRestart = false;
    this.webrtcRemote = remote;
    this.mapping = mapping;
    this.flow = { ...flow };
    await this.update([{ swap: true }, null]);
    await this.engine.updateBridge(this.id, {
      legs: [{ remote: toLegRemote(remote) }, null], mapping: bridgeMapping(mapping), flow: { toA: flow.toBrowser, toB: flow.toTrunk },
    }).catch((err: unknown) => {
      if (!this.closed) throw err;
    });
  }

  /** The transfer failed: the prepared leg goes, the call stays as it was. */
  async discardTransferLeg(): Promise<void> {
    if ((!this.prepared && !this.preparedWebRtc) || this.closed) return;
    this.prepared = null;
    this.preparedWebRtc = null;
    await this.update([{ discard: true }, null]);
  }

  /**
   * The new party answered: its leg takes the browser's side over (sequence numbers and
   * timestamps toward the staying party go on), pointed at `remote` with the new PT pairs.
   */
  async swapInTransferLeg(remote: RtpRemote, mapping: PtMapping[], flow: MediaFlow): Promise<void> {
    if (!this.prepared || this.closed) return;
    this.side0 = this.prepared;
    this.prepared = null;
    this.webrtcRemote = null;
    this.consentLost = null;
    this.mapping = mapping;
    this.flow = { ...flow };
    await this.update([{ swap: true }, null]);
    await this.engine.updateBridge(this.id, {
      legs: [rtpChange(remote), null], mapping: bridgeMapping(mapping), flow: { toA: flow.toBrowser, toB: flow.toTrunk },
    }).catch((err: unknown) => {
      if (!this.closed) throw err;
    });
  }

  /** After a transfer to a trunk: our RTP endpoint on the side the browser had, else null. */
  get transferredEndpoint(): MediaEndpoint | null {
    return this.side0 ? { address: this.trunkAdvertised ?? this.side0.address, port: this.side0.port } : null;
  }

  /** A new address for the RTP party on leg 0 (after a transfer) or on the trunk leg. */
  async setRemoteOn(side: 'browser' | 'trunk', remote: RtpRemote): Promise<void> {
    if (side === 'trunk') {
      await this.setRtpRemote(remote);
      return;
    }
    if (isHoldAddress(remote.address) || !this.side0) return;
    await this.update([rtpChange(remote), null]);
  }

  /** The trunk's address from its SDP (latching may move it later). */
  async setRtpRemote(remote: RtpRemote): Promise<void> {
    if (isHoldAddress(remote.address)) return;
    this.rtpRemote = remote;
    await this.update([null, rtpChange(remote)]);
  }

  /** The browser's ICE/DTLS parameters (its offer, or its answer to ours). */
  async setWebRtcRemote(remote: WebRtcRemote): Promise<void> {
    this.webrtcRemote = remote;
    await this.update([{ remote: toLegRemote(remote) }, null]);
  }

  /**
   * A later offer/answer (re-INVITE, UPDATE, a 200 after a 183, a forked early answer):
   * tells the worker only what changed: the trunk's media address (an RFC 2543 hold
   * address 0.0.0.0 keeps the last one: the trunk will not receive anyway), the
   * browser's ICE/DTLS parameters (with our new ICE credentials after a restart), the
   * payload-type mapping. Sequence numbers and timestamps sent on either leg continue.
   */
  async renegotiate(mapping: PtMapping[], remote: { rtp?: RtpRemote; webrtc?: WebRtcRemote }, flow?: MediaFlow): Promise<void> {
    if (this.closed) return;
    if (!this.bridged) {
      await this.connect(mapping, remote, flow);
      return;
    }
    let rtp: RtpRemoteChange | null = null;
    let webrtc: WebRtcRemoteChange | null = null;
    const r = remote.rtp;
    if (r && !isHoldAddress(r.address) && !sameRtpRemote(this.rtpRemote, r)) {
      this.rtpRemote = r;
      rtp = rtpChange(r);
    }
    const w = remote.webrtc;
    if (w && (this.iceRestart || !sameWebRtcRemote(this.webrtcRemote, w))) {
      this.webrtcRemote = w;
      webrtc = { remote: toLegRemote(w), ...(this.iceRestart && this.ice ? { ice: { ...this.ice } } : {}) };
      this.iceRestart = false;
    }
    const remap = !sameMapping(this.mapping, mapping);
    const reflow = flow !== undefined && (flow.toBrowser !== this.flow.toBrowser || flow.toTrunk !== this.flow.toTrunk);
    if (!rtp && !webrtc && !remap && !reflow) return;
    if (remap) this.mapping = mapping;
    if (reflow) this.flow = { ...flow };
    await this.engine.updateBridge(this.id, {
      ...(rtp || webrtc ? { legs: [webrtc, rtp] } : {}),
      ...(remap ? { mapping: bridgeMapping(mapping) } : {}),
      ...(reflow ? { flow: { toA: flow.toBrowser, toB: flow.toTrunk } } : {}),
    }).catch((err: unknown) => {
      if (!this.closed) throw err;
    });
  }

  /**
   * Starts forwarding with the negotiated payload types. The answer's remote side (the
   * trunk's RTP address or the browser's ICE/DTLS parameters) can ride along: one round
   * trip to the media worker instead of two on the path to the 200.
   */
  async connect(mapping: PtMapping[], remote?: { rtp?: RtpRemote; webrtc?: WebRtcRemote }, flow?: MediaFlow): Promise<void> {
    if (this.closed || this.bridged) return;
    this.bridged = true;
    this.mapping = mapping;
    if (remote?.webrtc) this.webrtcRemote = remote.webrtc;
    const rtp = remote?.rtp && !isHoldAddress(remote.rtp.address) ? remote.rtp : undefined;
    if (rtp) this.rtpRemote = rtp;
    const legs: [LegChange | null, LegChange | null] | undefined = remote
      ? [remote.webrtc ? { remote: toLegRemote(remote.webrtc) } : null, rtp ? rtpChange(rtp) : null]
      : undefined;
    if (flow) this.flow = { ...flow };
    await this.update(legs, {
      ...bridgeMapping(mapping),
      ssrcToA: this.towardBrowser.ssrc,
      cname: this.towardBrowser.cname,
    }, flow && (!flow.toBrowser || !flow.toTrunk) ? { toA: flow.toBrowser, toB: flow.toTrunk } : undefined);
  }

  /**
   * Plays an RFC 4733 event toward the trunk or the browser in that direction's stream
   * (an INFO digit carried on as RTP), with that leg's telephone-event payload type.
   */
  async sendDtmf(toward: 'trunk' | 'browser', digit: { event: number; durationMs: number }, pt: number): Promise<void> {
    if (this.closed || !this.bridged) return;
    await this.engine.updateBridge(this.id, { event: { toward: toward === 'browser' ? 'a' : 'b', pt, event: digit.event, durationMs: digit.durationMs } });
  }

  /**
   * Per-leg counters (LegStats), read from the media worker, and which directions the
   * native fast path forwards now (leg a is the browser's, so a->b is toward the trunk).
   */
  async stats(): Promise<{ webrtc: LegStats; rtp: LegStats; native: { toTrunk: boolean; toBrowser: boolean } }> {
    const s = await this.engine.stats(this.id);
    const native = s.bridge?.native;
    return { webrtc: s.legs[WEBRTC]!, rtp: s.legs[RTP]!, native: { toTrunk: native?.toB === true, toBrowser: native?.toA === true } };
  }

  get connected(): boolean {
    return this.bridged;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.consentLost = null;
    this.dtlsConnected = null;
    this.legFailed = null;
    this.watchListener = null;
    legEventRoutes(this.engine).delete(this.id);
    await this.engine.destroyBridge(this.id);
  }

  /** A change after close() (the call ended meanwhile) is moot, not an error. */
  private async update(legs?: [LegChange | null, LegChange | null], bridge?: BridgeOptionsSpec, flow?: { toA: boolean; toB: boolean }): Promise<void> {
    if (this.closed) return;
    try {
      await this.engine.updateBridge(this.id, { ...(legs ? { legs } : {}), ...(bridge ? { bridge } : {}), ...(flow ? { flow } : {}) });
    } catch (err) {
      if (!this.closed) throw err;
    }
  }
}
