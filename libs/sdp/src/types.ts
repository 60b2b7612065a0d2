// Plain-object types of the public API. Everything here is JSON-serialisable so call
// state can be stored (Redis) and handed to another node after failover.

import type { Direction } from './direction.js';

/**
 * Codecs a trunk may use, most preferred first. Each entry is `name[/clock[/channels]]`,
 * matched case-insensitively against rtpmap (RFC 8866 §6.6); a missing clock matches any.
 * `telephone-event` (RFC 4733) and `CN` (RFC 3389) entries are paired only with an audio
 * codec of the same clock rate.
 */
export interface CodecPolicy {
  codecs: string[];
  /**
   * Payload type to offer a trunk for a dynamic codec, e.g. `{ 'telephone-event/8000': 101 }`
   * (that one is the default: many carriers expect 101).
   */
  payloadTypes?: Record<string, number>;
  /** a=ptime written in SDP sent to trunks (RFC 8866 §6.4); default 20, 0 to omit. */
  ptime?: number;
}

/** Where one of our media legs listens. */
export interface MediaEndpoint {
  address: string;
  port: number;
}

/** Our ICE-lite and DTLS parameters for a WebRTC leg (RFC 8839, RFC 8122, RFC 8842). */
export interface IceDtlsParams {
  ufrag: string;
  pwd: string;
  fingerprint: { algorithm: 'sha-256'; value: string };
  /**
   * DTLS role we take when the browser offers actpass; default 'passive' (see
   * webrtc-answer.ts for why). Ignored when the offer forces a role.
   */
  setup?: 'active' | 'passive' | 'actpass';
}

/** Our outgoing RTP stream on a WebRTC leg, signalled so werift and Chrome route it (RFC 5576, RFC 8830). */
export interface LocalStream {
  ssrc: number;
  cname: string;
  /** a=msid stream and track ids; default `trapezoid` and `audio`. */
  streamId?: string;
  trackId?: string;
}

/** One codec as both legs number it. Media rewrites PT `webrtcPt` <-> `trunkPt`. */
export interface PtMapping {
  webrtcPt: number;
  trunkPt: number;
  codec: string;
  clockRate: number;
  channels?: number;
}

export interface IceCandidate {
  foundation: string;
  component: number;
  transport: string;
  priority: number;
  address: string;
  port: number;
  type: string;
  relatedAddress?: string;
  relatedPort?: number;
  tcpType?: string;
}

/** What libs/media needs from the browser's SDP. */
export interface WebRtcRemote {
  ufrag: string;
  pwd: string;
  fingerprint: { algorithm: string; value: string };
  /** The browser's a=setup (RFC 8842 §5). */
  setup: 'active' | 'passive' | 'actpass';
  iceLite: boolean;
  /** Component-1 and component-2 candidates as signalled (none when the browser trickles). */
  candidates: IceCandidate[];
  endOfCandidates: boolean;
  rtcpMux: boolean;
  /** The browser's SSRCs on the audio m-line (a=ssrc, RFC 5576), in order of appearance. */
  ssrc: number[];
  mid?: string;
  /** Direction of the browser's stream as the browser wrote it. */
  direction: Direction;
  /** c=/m= address and port of the audio m-line (often 0.0.0.0:9 with trickle ICE). */
  address: string;
  port: number;
}

export interface SdesCrypto {
  tag: number;
  suite: string;
  /** e.g. `inline:<base64 key||salt>|2^31|1:1` (RFC 4568 §6.1). */
  keyParams: string;
  sessionParams?: string;
}

/** What libs/media needs from the trunk's SDP. */
export interface RtpRemote {
  address: string;
  port: number;
  /** From a=rtcp (RFC 3605) or port + 1 (RFC 3550 §11); absent with rtcp-mux. */
  rtcpPort?: number;
  rtcpAddress?: string;
  rtcpMux: boolean;
  /**
   * Direction of the trunk's stream, with RFC 2543 hold (c=0.0.0.0) folded in: the trunk
   * will not receive, so sendrecv becomes sendonly and recvonly becomes inactive.
   */
  direction: Direction;
  /** RTP/SAVP with SDES keys (RFC 4568), as offered or answered. */
  crypto?: SdesCrypto[];
  ptime?: number;
}

/** One codec carried from an offer to the other leg's offer. */
export interface OfferedCodec {
  webrtcPt: number;
  trunkPt: number;
  name: string;
  clockRate: number;
  channels: number;
  /** a=fmtp as each leg sees it (RFC 8866 §6.15). */
  webrtcFmtp?: string;
  trunkFmtp?: string;
}

/** An m-line of the original offer, kept to shape the answer (RFC 3264 §6: same count and order). */
export interface OfferedMedia {
  type: string;
  protocol: string;
  /** Format list as offered; echoed on rejected m-lines (RFC 3264 §6). */
  formats: string;
  mid?: string;
  accepted: boolean;
}

/** The m-lines of one leg, as negotiated or offered. */
export interface LegLayout {
  media: OfferedMedia[];
  /** Index in `media` of the audio m-line that is bridged. */
  audioIndex: number;
  /** a=group:BUNDLE tags in effect (WebRTC leg), in order (RFC 8843). */
  bundle?: string[];
  /** Our DTLS role on a WebRTC leg once negotiated; re-offers keep it (RFC 8842 §5.5). */
  setup?: 'active' | 'passive';
}

/**
 * What an offer/answer exchange settled on both legs. Keep it with the call: a later
 * offer on either leg (hold, resume, re-INVITE) must keep each leg's m-lines, mids and
 * payload types (RFC 3264 §8, RFC 8843 §7.5), so pass it back as `established`.
 */
export interface Negotiated {
  webrtc: LegLayout;
  trunk: LegLayout;
  mapping: PtMapping[];
}

/** Everything needed between an offer and its answer. Plain JSON. */
export interface OfferState {
  /** Which leg sent the original offer. */
  offerer: 'webrtc' | 'trunk';
  /** The offerer's m-lines (RFC 3264 §6: the answer has the same count and order). */
  media: OfferedMedia[];
  /** Index in `media` of the audio m-line that is bridged. */
  audioIndex: number;
  /** a=group:BUNDLE tags as offered (RFC 8843), in order. */
  bundle?: string[];
  /** The m-lines of the offer we sent to the other leg. */
  target: LegLayout;
  codecs: OfferedCodec[];
  /** Direction of the offered audio stream (RFC 2543 hold folded in for trunks). */
  direction: Direction;
  /** The offerer's a=setup (webrtc offers). */
  setup?: 'active' | 'passive' | 'actpass';
  /** Our DTLS role already in use on the WebRTC leg (re-offers): an actpass re-offer keeps it. */
  localSetup?: 'active' | 'passive';
  /** a=ptime for our answer to a trunk: the trunk offer's, else the policy's. */
  ptime?: number;
  /** The trunk's profile (RTP/AVP, RTP/SAVP, ...): an answer uses the offer's (RFC 3264 §6). */
  trunkProtocol?: string;
  /** The trunk offered a=rtcp-mux (RFC 5761). */
  trunkRtcpMux?: boolean;
}
