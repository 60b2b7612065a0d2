// The offer/answer state of a call's two legs (RFC 3264), and the one place where SDP
// crosses from one leg to the other: an offer from one party becomes our offer to the
// other through libs/sdp, that party's answer becomes our answer to the offerer, and
// the media bridge is pointed at both (addresses, ICE/DTLS parameters, payload types).
// One leg speaks WebRTC (the browser), the other plain RTP (the trunk); which one is 'a'
// depends on the call's direction. Only one offer is in progress at a time per call
// (RFC 3261 §14.1, RFC 3311 §5.2): the caller answers 491 while `busy`.

import {
  answerDirection, parseDirection, readOrigin, rtpAnswerToWebrtcAnswer, rtpRemoteOf, withDirection, rtpOfferToWebrtcOffer, webrtcAnswerToRtpAnswer, webrtcOfferToRtpOffer,
  type CodecPolicy, type Direction, type Negotiated, type OfferState, type PtMapping, type RtpRemote, type SdpOrigin,
  type WebRtcRemote,
} from '@trapezoid/sdp';
import type { CallMedia, MediaFlow } from '../media/call-media.js';
import type { IceDtlsParams, MediaEndpoint, WebRtcOfferResult } from '@trapezoid/sdp';
import type { LegSide } from './call.js';

export type LegProfile = 'webrtc' | 'rtp';

/** What is known of one leg's SDP. */
export interface LegSdp {
  profile: LegProfile;
  /** The SDP this leg's party last sent (offer or answer). */
  remote: string | null;
  /** The SDP we last sent on this leg, and its o= (the next one increments it, RFC 3264 §8). */
  local: string | null;
  origin: SdpOrigin | null;
  /** The party's stream direction as it last declared it (RFC 2543 hold folded in). */
  direction: Direction | null;
}

/** JSON-safe state, part of the call's snapshot. */
export interface OfferAnswerSnapshot {
  legs: Record<LegSide, LegSdp>;
  negotiated: Negotiated | null;
  /** The PT pairs between two trunks after a transfer. */
  relayMapping?: PtMapping[];
}

export interface OfferAnswerOptions {
  media: CallMedia;
  profiles: Record<LegSide, LegProfile>;
  /** The trunk's codec policy (both directions bridge without transcoding). */
  policy: CodecPolicy;
  /** Write RFC 2543 hold (c=0.0.0.0) toward the trunk when the browser holds. */
  legacyHold?: boolean;
}

interface Pending {
  from: LegSide;
  /** The offerer's previous SDP, restored if the offer fails (RFC 3261 §14.1: nothing changes). */
  before: { remote: string | null; direction: Direction | null };
  session: OfferState;
  /** The offerer's transport from its offer. */
  remote: WebRtcRemote | RtpRemote;
  offerSdp: string;
  /** The first offer of the call (media not bridged yet). */
  initial: boolean;
  /** Gateway-made offer (no offerer waiting for an answer): the mapped answer is dropped. */
  local: boolean;
  /** Our o= on the offerer's leg before the first answer: a repeated answer (183 then 200) keeps it. */
  originBefore: SdpOrigin | null;
  /** The browser's parameters reach the media worker while the offer travels (initial offer). */
  remoteSet: Promise<void> | null;
}

const other = (side: LegSide): LegSide => (side === 'a' ? 'b' : 'a');
const sends = (d: Direction | null): boolean => d === null || d === 'sendrecv' || d === 'sendonly';
const receives = (d: Direction | null): boolean => d === null || d === 'sendrecv' || d === 'recvonly';

export class OfferAnswer {
  readonly legs: Record<LegSide, LegSdp>;
  negotiated: Negotiated | null = null;
  /** Resolves when forwarding started after the first answer (rejects if it could not). */
  mediaStarted: Promise<void> = Promise.resolve();
  private pending: Pending | null = null;
  private readonly media: CallMedia;
  private readonly policy: CodecPolicy;
  private readonly legacyHold: boolean;
  /** The leg on the media's browser side (bridge leg 0), whatever party is there now. */
  private readonly browserSide: LegSide;
  /** The PT pairs in force after a transfer made both legs RTP (no Negotiated then). */
  private relayMapping: PtMapping[] | null = null;

  constructor(opts: OfferAnswerOptions) {
    this.media = opts.media;
    this.policy = opts.policy;
    this.legacyHold = opts.legacyHold ?? false;
    const leg = (profile: LegProfile): LegSdp => ({ profile, remote: null, local: null, origin: null, direction: null });
    this.legs = { a: leg(opts.profiles.a), b: leg(opts.profiles.b) };
    this.browserSide = opts.profiles.a === 'webrtc' ? 'a' : 'b';
  }

  /** Both legs are trunks (a transfer put one where the browser was): offers are answered here. */
  get bothRtp(): boolean {
    return this.legs.a.profile === 'rtp' && this.legs.b.profile === 'rtp';
  }

  /**
   * A transfer put a trunk party on `side` (the browser's): what we offered it, what it
   * answered and the PT pairs the bridge now maps.
   */
  transferred(side: LegSide, o: { offer: string; origin: SdpOrigin; answer: string; direction: Direction; mapping: PtMapping[] }): void {
    this.legs[side] = { profile: 'rtp', remote: o.answer, local: o.offer, origin: o.origin, direction: o.direction };
    this.relayMapping = o.mapping;
    this.negotiated = null;
  }

  /**
   * Between two trunks (after a transfer) an offer from one is answered by the gateway on
   * its own leg (hold, resume, a new address): our last SDP there with the direction that
   * answers it (RFC 3264 §6.1) and the version up by one; the media follows. The other
   * trunk is not re-INVITEd (the flow toward a held party stops here anyway).
   */
  /**
   * A transfer to another browser agent on `side` (the browser's): our WebRTC offer to it,
   * from the staying trunk's SDP (its codecs and numbers), on a new WebRTC leg.
   */
  agentOffer(side: LegSide, ice: IceDtlsParams, endpoint: MediaEndpoint): WebRtcOfferResult {
    const stay = this.legs[other(side)].remote;
    if (stay === null) throw new Error('no SDP from the staying party');
    return rtpOfferToWebrtcOffer(stay, this.policy, ice, endpoint, { stream: this.media.towardBrowser });
  }

  /** The new agent's answer to agentOffer(): the session of the new pair; nothing is sent to the trunk. */
  agentAnswered(side: LegSide, offer: WebRtcOfferResult, answer: string): { mapping: PtMapping[]; remote: WebRtcRemote } {
    const stay = other(side);
    const r = webrtcAnswerToRtpAnswer(offer.session, answer, this.media.rtpEndpoint, { origin: this.legs[stay].origin ?? undefined });
    this.legs[side] = { profile: 'webrtc', remote: answer, local: offer.sdp, origin: offer.origin, direction: r.remote.direction };
    this.negotiated = r.negotiated;
    this.relayMapping = null;
    return { mapping: r.mapping, remote: r.remote };
  }

  /** Between two trunks: our offer for an offerless re-INVITE, our last SDP again (RFC 3261 §14.2). */
  relayReoffer(side: LegSide): string {
    const ours = this.legs[side].local;
    if (ours === null) throw new Error('no SDP sent on this leg yet');
    const o = withDirection(ours, parseDirection(ours));
    this.legs[side] = { ...this.legs[side], local: o.sdp, origin: o.origin };
    return o.sdp;
  }

  /** Between two trunks: the answer (in the ACK) to relayReoffer(). */
  async relayAnswered(side: LegSide, answer: string): Promise<void> {
    const remote = rtpRemoteOf(answer);
    this.legs[side] = { ...this.legs[side], remote: answer, direction: remote.direction };
    await this.media.setRemoteOn(side === this.browserSide ? 'browser' : 'trunk', remote);
    const mapping = this.mapping;
    if (mapping) await this.media.renegotiate(mapping, {}, this.flow());
  }

  async localAnswer(side: LegSide, offer: string): Promise<string> {
    const remote = rtpRemoteOf(offer);
    const ours = this.legs[side].local;
    if (ours === null) throw new Error('no SDP sent on this leg yet');
    const answer = withDirection(ours, answerDirection(remote.direction, 'sendrecv'), { legacyHold: this.legacyHold });
    this.legs[side] = { ...this.legs[side], remote: offer, local: answer.sdp, origin: answer.origin, direction: remote.direction };
    await this.media.setRemoteOn(side === this.browserSide ? 'browser' : 'trunk', remote);
    const mapping = this.mapping;
    if (mapping) await this.media.renegotiate(mapping, {}, this.flow());
    return answer.sdp;
  }

  /** True while an offer waits for its answer: a new offer from either leg is glare (491). */
  get busy(): boolean {
    return this.pending !== null;
  }

  /** The side whose offer is pending, if any. */
  get offerer(): LegSide | null {
    return this.pending?.from ?? null;
  }

  /** The payload-type mapping in force, once a first answer came. */
  get mapping(): PtMapping[] | null {
    return this.negotiated?.mapping ?? this.relayMapping;
  }

  /**
   * RFC 3264 §8: an SDP with the same o= session id and version as the party's previous
   * one is unchanged (a session refresh): it needs no offer on the other leg.
   */
  unchanged(side: LegSide, sdp: string): boolean {
    const prev = this.legs[side].remote;
    if (prev === null) return false;
    const a = readOrigin(prev);
    const b = readOrigin(sdp);
    return a !== undefined && b !== undefined && a.sessionId === b.sessionId && a.sessionVersion === b.sessionVersion;
  }

  /**
   * An offer from `from`'s party: returns our offer for the other leg. Throws SdpError
   * (488, 400) when it cannot be bridged; nothing changes then. The first offer of the
   * call also hands the browser's ICE/DTLS parameters to the media worker at once.
   */
  offer(from: LegSide, sdp: string): string {
    return this.map(from, sdp, false);
  }

  /**
   * Our own offer on `to` (an offerless re-INVITE from that party, RFC 3261 §14.2; a
   * session refresh): the other party's last SDP carried across again, so `to` is offered
   * what is in force now, with our o= version incremented.
   */
  localOffer(to: LegSide): string {
    const from = other(to);
    const sdp = this.legs[from].remote;
    if (sdp === null) throw new Error('no SDP from the other leg yet');
    return this.map(from, sdp, true);
  }

  private map(from: LegSide, sdp: string, local: boolean): string {
    if (this.pending) throw new Error(`an offer from leg ${this.pending.from} is in progress`);
    const to = other(from);
    const initial = this.negotiated === null && !this.media.connected;
    const established = this.negotiated ?? undefined;
    const origin = this.legs[to].origin ?? undefined;
    let out: string;
    let session: OfferState;
    let remote: WebRtcRemote | RtpRemote;
    if (this.legs[from].profile === 'webrtc') {
      const r = webrtcOfferToRtpOffer(sdp, this.policy, this.media.rtpEndpoint, { origin, established, legacyHold: this.legacyHold });
      out = r.sdp; session = r.session; remote = r.remote;
      this.legs[to].origin = r.origin;
    } else {
      const r = rtpOfferToWebrtcOffer(sdp, this.policy, this.media.iceDtls, this.media.webrtcEndpoint, { origin, established, stream: this.media.towardBrowser });
      out = r.sdp; session = r.session; remote = r.remote;
      this.legs[to].origin = r.origin;
    }
    this.legs[to].local = out;
    let remoteSet: Promise<void> | null = null;
    if (initial) {
      // The browser's ICE/DTLS parameters (or the trunk's address) reach the media worker
      // while the offer travels: requests to one worker run in order, and answer() awaits it.
      remoteSet = this.legs[from].profile === 'webrtc'
        ? this.media.setWebRtcRemote(remote as WebRtcRemote) : this.media.setRtpRemote(remote as RtpRemote);
      remoteSet.catch(() => undefined);
    }
    const before = { remote: this.legs[from].remote, direction: this.legs[from].direction };
    if (!local) this.setRemote(from, sdp, remote.direction);
    this.pending = { from, before, session, remote, offerSdp: sdp, initial, local, originBefore: this.legs[from].origin, remoteSet };
    return out;
  }

  /**
   * The answer of `from`'s party to the pending offer: returns our answer for the offerer
   * and points the media at both parties with the negotiated payload types. May be called
   * again for the same offer (183 with SDP, then the 200; forked early dialogs): the
   * media follows the latest answer. settle() ends the exchange.
   */
  async answer(from: LegSide, sdp: string): Promise<string> {
    const p = this.pending;
    if (!p || p.from === from) throw new Error(`no offer pending toward leg ${from}`);
    const offerer = p.from;
    const origin = p.originBefore ?? undefined;
    let out: string;
    let mapping: PtMapping[];
    let negotiated: Negotiated;
    let rtp: RtpRemote;
    let webrtc: WebRtcRemote;
    if (this.legs[from].profile === 'rtp') {
      // The browser offered: a new ufrag and pwd is an ICE restart (RFC 8839 §4.4.1.1.1),
      // answered with new credentials of ours.
      webrtc = p.remote as WebRtcRemote;
      const ice = p.initial ? this.media.iceDtls : this.media.iceFor(webrtc);
      const r = rtpAnswerToWebrtcAnswer(p.session, sdp, ice, this.media.webrtcEndpoint, { origin, stream: this.media.towardBrowser });
      out = r.sdp; mapping = r.mapping; negotiated = r.negotiated; rtp = r.remote;
      if (!p.local) this.legs[offerer].origin = r.origin;
    } else {
      rtp = p.remote as RtpRemote;
      const r = webrtcAnswerToRtpAnswer(p.session, sdp, this.media.rtpEndpoint, { origin, legacyHold: this.legacyHold });
      out = r.sdp; mapping = r.mapping; negotiated = r.negotiated; webrtc = r.remote;
      if (!p.local) this.legs[offerer].origin = r.origin;
    }
    this.setRemote(from, sdp, this.legs[from].profile === 'rtp' ? rtp.direction : webrtc.direction);
    if (!p.local) this.legs[offerer].local = out;
    this.negotiated = negotiated;
    await p.remoteSet;
    if (p.initial && !this.media.connected) {
      // The answer is fixed already (ports, ICE and DTLS parameters were chosen when the
      // legs were bound), so the answer does not wait for forwarding to start: the
      // browser's first RTP follows ICE and DTLS, long after this update has run. The
      // offerer's side was set when the offer was mapped.
      const started = this.media.connect(mapping, this.legs[from].profile === 'rtp' ? { rtp } : { webrtc }, this.flow());
      started.catch(() => undefined);
      this.mediaStarted = started;
    } else {
      await this.media.renegotiate(mapping, { rtp, webrtc }, this.flow());
    }
    return out;
  }

  /** The exchange is over: the final answer was relayed. */
  settle(): void {
    this.pending = null;
  }

  /**
   * The offer failed on the other leg (or the answer could not be used): RFC 3261 §14.1,
   * the session stays as it was. Media already moved by an early answer stays where it is.
   */
  fail(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (!p.local) {
      this.legs[p.from].remote = p.before.remote;
      this.legs[p.from].direction = p.before.direction;
    }
  }

  /**
   * The directions media may flow now, from what each party last declared: toward a
   * party only if the other sends and it receives. A party on hold (sendonly, inactive,
   * c=0.0.0.0) gets nothing, whatever the other keeps sending.
   */
  flow(): MediaFlow {
    const browser = this.legs[this.browserSide];
    const trunk = this.legs[other(this.browserSide)];
    return {
      toBrowser: sends(trunk.direction) && receives(browser.direction),
      toTrunk: sends(browser.direction) && receives(trunk.direction),
    };
  }

  /** True while the party on `side` is expected to send media (not on hold either way). */
  expectsMediaFrom(side: LegSide): boolean {
    const f = this.flow();
    return side === this.browserSide ? f.toTrunk : f.toBrowser;
  }

  snapshot(): OfferAnswerSnapshot {
    return structuredClone({ legs: this.legs, negotiated: this.negotiated, ...(this.relayMapping ? { relayMapping: this.relayMapping } : {}) });
  }

  /**
   * The offer/answer state of a call carried on from its snapshot (takeover): later
   * offers keep each leg's m-lines, payload types, DTLS role and o= counters.
   */
  static restore(snapshot: OfferAnswerSnapshot, opts: OfferAnswerOptions): OfferAnswer {
    const profiles = { a: snapshot.legs.a.profile, b: snapshot.legs.b.profile };
    // After a transfer both legs are RTP: the browser's side is the one the media's leg 0 serves.
    const oa = new OfferAnswer({ ...opts, profiles: profiles.a === 'rtp' && profiles.b === 'rtp' ? opts.profiles : profiles });
    Object.assign(oa.legs.a, structuredClone(snapshot.legs.a));
    Object.assign(oa.legs.b, structuredClone(snapshot.legs.b));
    oa.negotiated = structuredClone(snapshot.negotiated);
    oa.relayMapping = snapshot.relayMapping ? structuredClone(snapshot.relayMapping) : null;
    return oa;
  }

  private setRemote(side: LegSide, sdp: string, direction: Direction): void {
    this.legs[side].remote = sdp;
    this.legs[side].direction = direction;
  }
}
