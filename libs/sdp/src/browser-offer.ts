// Call flow 1, browser -> trunk: the browser's WebRTC offer becomes an RTP/AVP offer to
// the trunk, and the trunk's answer becomes our WebRTC answer to the browser. Also used
// for every later offer the browser makes (hold, resume), with `established`.

import { codecLabel, mediaCodecs, selectCodecs, staticPayloadType } from './codec.js';
import { checkAnswerShape, checkEndpoint, checkPolicy, checkState, DEFAULT_PTIME, DEFAULT_TRUNK_PAYLOAD_TYPES, guarded } from './common.js';
import { answerDirection } from './direction.js';
import { NotAcceptableSdpError } from './errors.js';
import { asCodec, assignPayloadTypes, establishedPt, matchAnswer, offeredCodecs, toMapping } from './mapping.js';
import { nextOrigin, type SdpOrigin } from './origin.js';
import { parseSdp, writeSdp } from './parse.js';
import { isRtpProtocol, readRtpRemote, rtpAudioMedia } from './rtp.js';
import { bundleTags, describeMedia, sessionDescription, withRejected } from './session.js';
import type {
  CodecPolicy, IceDtlsParams, LegLayout, LocalStream, MediaEndpoint, Negotiated, OfferState, PtMapping,
  RtpRemote, SdesCrypto, WebRtcRemote,
} from './types.js';
import { answerSetup, isWebRtcProtocol, readWebRtcRemote, webrtcAudioMedia } from './webrtc.js';

export interface RtpOfferOptions {
  /** The o= we last sent on the trunk leg (re-INVITE): same session id, version + 1. */
  origin?: SdpOrigin;
  /** The session so far, for a re-offer: the trunk keeps its m-lines and payload types. */
  established?: Negotiated;
  /** Offer RTP/SAVP with these SDES keys (RFC 4568) instead of RTP/AVP. */
  crypto?: SdesCrypto[];
  /** Offer a=rtcp-mux to the trunk (RFC 5761); default off. */
  rtcpMux?: boolean;
  /** Write RFC 2543 hold (c=0.0.0.0) when the browser holds, for trunks that predate RFC 3264. */
  legacyHold?: boolean;
}

export interface RtpOfferResult {
  sdp: string;
  session: OfferState;
  remote: WebRtcRemote;
  origin: SdpOrigin;
}

/**
 * Browser's WebRTC offer -> our RTP offer to the trunk. The first audio m-line is bridged;
 * every other m-line (video, data, more audio) is kept only in the state, to be rejected
 * in the answer. Trunk PTs: the session's earlier number for the codec, RFC 3551's static
 * number, the policy's (telephone-event/8000 -> 101 by default), the browser's.
 * Throws NoCommonCodecError (488), NotAcceptableSdpError (488) or MalformedSdpError (400).
 */
export function webrtcOfferToRtpOffer(
  webrtcOffer: string, policy: CodecPolicy, local: MediaEndpoint, opts: RtpOfferOptions = {},
): RtpOfferResult {
  return guarded('WebRTC offer', () => {
    const entries = checkPolicy(policy);
    checkEndpoint(local);
    const offer = parseSdp(webrtcOffer, 'WebRTC offer');
    const audioIndex = offer.media.findIndex((m) => m.type === 'audio' && Number(m.port) !== 0);
    const media = offer.media[audioIndex];
    if (!media) throw new NotAcceptableSdpError('WebRTC offer has no audio stream');
    if (!isWebRtcProtocol(String(media.protocol))) {
      throw new NotAcceptableSdpError(`WebRTC offer uses ${media.protocol}; expected UDP/TLS/RTP/SAVPF`);
    }
    const remote = readWebRtcRemote(offer, media, true, 'WebRTC offer');
    const chosen = selectCodecs(mediaCodecs(media), entries);
    const mapping = opts.established?.mapping;
    const trunkPts = assignPayloadTypes(chosen,
      (c) => [establishedPt(mapping, c, 'webrtc'), staticPayloadType(c.name, c.clockRate, c.channels)],
      (c) => [policy.payloadTypes?.[codecLabel(c, true)] ?? DEFAULT_TRUNK_PAYLOAD_TYPES[codecLabel(c, true)], c.pt]);
    const codecs = offeredCodecs(chosen, trunkPts, 'webrtc');
    const ptime = policy.ptime ?? DEFAULT_PTIME;
    const secure = (opts.crypto?.length ?? 0) > 0;
    const protocol = secure ? 'RTP/SAVP' : 'RTP/AVP';
    const target: LegLayout = opts.established?.trunk
      ?? { media: [{ type: 'audio', protocol, formats: trunkPts.join(' '), accepted: true }], audioIndex: 0 };
    const lines = withRejected(target, rtpAudioMedia({
      protocol, codecs: codecs.map((c) => asCodec(c, 'trunk')), local, direction: remote.direction, ptime,
      crypto: opts.crypto, rtcpMux: opts.rtcpMux, legacyHold: opts.legacyHold,
    }));
    const origin = nextOrigin(opts.origin, local.address);
    const session: OfferState = {
      offerer: 'webrtc', media: describeMedia(offer.media, audioIndex), audioIndex, target, codecs,
      direction: remote.direction, setup: remote.setup, trunkProtocol: protocol,
    };
    const bundle = bundleTags(offer);
    if (bundle) session.bundle = bundle;
    if (ptime) session.ptime = ptime;
    if (opts.established?.webrtc.setup) session.localSetup = opts.established.webrtc.setup;
    return { sdp: writeSdp(sessionDescription(origin, lines)), session, remote, origin };
  });
}

export interface WebRtcAnswerOptions {
  /** The o= we last sent on the browser leg (re-INVITE). */
  origin?: SdpOrigin;
  /** Our outgoing stream, announced with a=ssrc/a=msid. */
  stream?: LocalStream;
}

export interface WebRtcAnswerResult {
  sdp: string;
  mapping: PtMapping[];
  remote: RtpRemote;
  origin: SdpOrigin;
  negotiated: Negotiated;
}

/**
 * Trunk's RTP answer -> our WebRTC answer to the browser's offer. Same m-lines as the
 * browser offered (RFC 3264 §6), the non-bridged ones with port 0 and their mid. The
 * BUNDLE group is kept (Chrome with max-bundle rejects an answer without it) and lists
 * the accepted tags only (RFC 8843 §7.3.3: a rejected m-line's tag leaves the group);
 * Chromium 156 accepts exactly that (testdata/chromium-accepted-answer-audio-video.sdp).
 */
export function rtpAnswerToWebrtcAnswer(
  state: OfferState, rtpAnswer: string, ice: IceDtlsParams, local: MediaEndpoint, opts: WebRtcAnswerOptions = {},
): WebRtcAnswerResult {
  return guarded('trunk answer', () => {
    checkState(state, 'webrtc');
    checkEndpoint(local);
    const answer = parseSdp(rtpAnswer, 'trunk answer');
    const media = checkAnswerShape(answer, state.target.media.length, state.target.audioIndex, 'trunk answer');
    if (Number(media.port) === 0) throw new NotAcceptableSdpError('trunk rejected the audio stream');
    if (!isRtpProtocol(String(media.protocol)) || media.protocol !== state.trunkProtocol) {
      throw new NotAcceptableSdpError(`trunk answered ${media.protocol} to an ${state.trunkProtocol} offer`);
    }
    const remote = readRtpRemote(answer, media, 'trunk answer');
    const accepted = matchAnswer(state.codecs, mediaCodecs(media), 'trunk');
    const direction = answerDirection(state.direction, remote.direction);
    // A re-offer keeps the DTLS role in use: Chromium re-offers actpass, and a changed role
    // would mean a new DTLS association (RFC 8842 §5.5).
    const setup = answerSetup(state.setup ?? 'actpass', state.localSetup ?? ice?.setup);
    const audio = state.media[state.audioIndex];
    const lines = withRejected(state, webrtcAudioMedia({
      codecs: accepted.map((c) => asCodec(c, 'webrtc')), ice, local, setup, mid: audio?.mid, direction, stream: opts.stream,
    }));
    const origin = nextOrigin(opts.origin, local.address);
    const sd = sessionDescription(origin, lines);
    sd.icelite = 'ice-lite';
    const bundle = state.bundle?.filter((t) => t === audio?.mid);
    if (bundle && bundle.length > 0) sd.groups = [{ type: 'BUNDLE', mids: bundle.join(' ') }];
    const mapping = toMapping(accepted);
    const webrtc: LegLayout = { media: state.media, audioIndex: state.audioIndex, setup };
    if (bundle && bundle.length > 0) webrtc.bundle = bundle;
    return { sdp: writeSdp(sd), mapping, remote, origin, negotiated: { webrtc, trunk: state.target, mapping } };
  });
}
