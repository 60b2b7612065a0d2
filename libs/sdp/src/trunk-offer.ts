// Call flow 2, trunk -> browser: the trunk's RTP offer becomes a WebRTC offer to the
// browser agent, and the browser's answer becomes our RTP answer to the trunk. Also used
// for every later offer the trunk makes (hold, resume), with `established`.

import { mediaCodecs, selectCodecs, staticPayloadType } from './codec.js';
import { checkAnswerShape, checkEndpoint, checkPolicy, checkState, DEFAULT_PTIME, guarded } from './common.js';
import { answerDirection } from './direction.js';
import { MalformedSdpError, NotAcceptableSdpError } from './errors.js';
import { asCodec, assignPayloadTypes, establishedPt, matchAnswer, offeredCodecs, toMapping } from './mapping.js';
import { nextOrigin, type SdpOrigin } from './origin.js';
import { parseSdp, writeSdp } from './parse.js';
import { isSecureRtpProtocol, readRtpOffer, rtpAudioMedia } from './rtp.js';
import { describeMedia, sessionDescription, withRejected } from './session.js';
import type {
  CodecPolicy, IceDtlsParams, LegLayout, LocalStream, MediaEndpoint, Negotiated, OfferState, PtMapping,
  RtpRemote, SdesCrypto, WebRtcRemote,
} from './types.js';
import { isWebRtcProtocol, readWebRtcRemote, webrtcAudioMedia } from './webrtc.js';

/** The mid of the one m-line we offer a browser, bundled alone (RFC 8843). */
export const WEBRTC_AUDIO_MID = '0';

export interface WebRtcOfferOptions {
  /** The o= we last sent on the browser leg (re-INVITE): same session id, version + 1. */
  origin?: SdpOrigin;
  /**
   * The session so far, for a re-offer: the browser keeps its m-lines, mids, payload
   * types and our DTLS role (offered as active/passive instead of actpass, RFC 8842 §5.5,
   * so the DTLS association survives).
   */
  established?: Negotiated;
  /** Our outgoing stream, announced with a=ssrc/a=msid so werift and Chrome route it. */
  stream?: LocalStream;
}

export interface WebRtcOfferResult {
  sdp: string;
  session: OfferState;
  remote: RtpRemote;
  origin: SdpOrigin;
}

/**
 * Trunk's RTP offer -> our WebRTC offer to a browser: one audio m-line, mid "0" in a
 * BUNDLE group, a=setup:actpass (RFC 8842 §5.2), ICE-lite. The browser gets the codecs
 * the trunk offered that the policy allows, in policy order, with the trunk's PT numbers
 * (or those already used with the browser). Other trunk m-lines (video, T.38 image) are
 * rejected later in our answer and never reach the browser.
 */
export function rtpOfferToWebrtcOffer(
  rtpOffer: string, policy: CodecPolicy, ice: IceDtlsParams, local: MediaEndpoint, opts: WebRtcOfferOptions = {},
): WebRtcOfferResult {
  return guarded('trunk offer', () => {
    const entries = checkPolicy(policy);
    checkEndpoint(local);
    const { offer, audioIndex, media, remote } = readRtpOffer(rtpOffer, 'trunk offer');
    const chosen = selectCodecs(mediaCodecs(media), entries);
    const mapping = opts.established?.mapping;
    const webrtcPts = assignPayloadTypes(chosen,
      (c) => [establishedPt(mapping, c, 'trunk'), staticPayloadType(c.name, c.clockRate, c.channels)], (c) => [c.pt]);
    const codecs = offeredCodecs(chosen, webrtcPts, 'trunk');
    const previous = opts.established?.webrtc;
    const target: LegLayout = previous ?? {
      media: [{ type: 'audio', protocol: 'UDP/TLS/RTP/SAVPF', formats: webrtcPts.join(' '), mid: WEBRTC_AUDIO_MID, accepted: true }],
      audioIndex: 0, bundle: [WEBRTC_AUDIO_MID],
    };
    const mid = target.media[target.audioIndex]?.mid;
    const lines = withRejected(target, webrtcAudioMedia({
      codecs: codecs.map((c) => asCodec(c, 'webrtc')), ice, local, setup: previous?.setup ?? 'actpass', mid,
      direction: remote.direction, stream: opts.stream,
    }));
    const origin = nextOrigin(opts.origin, local.address);
    const sd = sessionDescription(origin, lines);
    sd.icelite = 'ice-lite';
    if (mid !== undefined) sd.groups = [{ type: 'BUNDLE', mids: mid }];
    const session: OfferState = {
      offerer: 'trunk', media: describeMedia(offer.media, audioIndex), audioIndex, target, codecs,
      direction: remote.direction, trunkProtocol: String(media.protocol), trunkRtcpMux: remote.rtcpMux,
    };
    const ptime = remote.ptime ?? policy.ptime ?? DEFAULT_PTIME;
    if (ptime) session.ptime = ptime;
    return { sdp: writeSdp(sd), session, remote, origin };
  });
}

export interface RtpAnswerOptions {
  /** The o= we last sent on the trunk leg (re-INVITE). */
  origin?: SdpOrigin;
  /** Our SDES key when the trunk offered RTP/SAVP: one of its suites (RFC 4568 §7.1.2). */
  crypto?: SdesCrypto[];
  /** Accept the trunk's a=rtcp-mux offer (RFC 5761 §5.1.1); default off: RTCP on port + 1. */
  rtcpMux?: boolean;
  /** Write RFC 2543 hold (c=0.0.0.0) when the browser holds. */
  legacyHold?: boolean;
}

export interface RtpAnswerResult {
  sdp: string;
  mapping: PtMapping[];
  remote: WebRtcRemote;
  origin: SdpOrigin;
  negotiated: Negotiated;
}

/**
 * Browser's WebRTC answer -> our RTP answer to the trunk's offer: every m-line the trunk
 * offered, in order, the bridged audio one with the codecs the browser accepted (trunk PT
 * numbers, trunk fmtp) and the others with port 0 (RFC 3264 §6).
 */
export function webrtcAnswerToRtpAnswer(
  state: OfferState, webrtcAnswer: string, local: MediaEndpoint, opts: RtpAnswerOptions = {},
): RtpAnswerResult {
  return guarded('WebRTC answer', () => {
    checkState(state, 'trunk');
    checkEndpoint(local);
    const answer = parseSdp(webrtcAnswer, 'WebRTC answer');
    const media = checkAnswerShape(answer, state.target.media.length, state.target.audioIndex, 'WebRTC answer');
    if (Number(media.port) === 0) throw new NotAcceptableSdpError('browser rejected the audio stream');
    if (!isWebRtcProtocol(String(media.protocol))) {
      throw new NotAcceptableSdpError(`WebRTC answer uses ${media.protocol}; expected UDP/TLS/RTP/SAVPF`);
    }
    const remote = readWebRtcRemote(answer, media, false, 'WebRTC answer');
    // RFC 8842 §5.3: the answerer picks a role; actpass is only for offers.
    if (remote.setup === 'actpass') throw new MalformedSdpError('WebRTC answer has a=setup:actpass (RFC 8842 §5.3)');
    const accepted = matchAnswer(state.codecs, mediaCodecs(media), 'webrtc');
    const protocol = state.trunkProtocol ?? 'RTP/AVP';
    const secure = isSecureRtpProtocol(protocol);
    if (secure && !(opts.crypto && opts.crypto.length > 0)) {
      throw new NotAcceptableSdpError(`trunk offered ${protocol} and no SDES key was supplied`);
    }
    const lines = withRejected(state, rtpAudioMedia({
      protocol, codecs: accepted.map((c) => asCodec(c, 'trunk')), local,
      direction: answerDirection(state.direction, remote.direction), ptime: state.ptime,
      crypto: secure ? opts.crypto : undefined, rtcpMux: opts.rtcpMux === true && state.trunkRtcpMux === true,
      legacyHold: opts.legacyHold,
    }));
    const origin = nextOrigin(opts.origin, local.address);
    const mapping = toMapping(accepted);
    const webrtc: LegLayout = { ...state.target, setup: remote.setup === 'active' ? 'passive' : 'active' };
    return {
      sdp: writeSdp(sessionDescription(origin, lines)), mapping, remote, origin,
      negotiated: { webrtc, trunk: { media: state.media, audioIndex: state.audioIndex }, mapping },
    };
  });
}
