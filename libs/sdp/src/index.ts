// Public surface of @trapezoid/sdp: offer/answer between the WebRTC profile
// (UDP/TLS/RTP/SAVPF, ICE-lite, DTLS, BUNDLE) and plain RTP/AVP trunks. Pure functions
// over strings and plain JSON objects; every failure is an SdpError carrying a SIP status.
export { webrtcOfferToRtpOffer, rtpAnswerToWebrtcAnswer } from './browser-offer.js';
export type { RtpOfferOptions, RtpOfferResult, WebRtcAnswerOptions, WebRtcAnswerResult } from './browser-offer.js';
export { rtpOfferToWebrtcOffer, webrtcAnswerToRtpAnswer, WEBRTC_AUDIO_MID } from './trunk-offer.js';
export type { WebRtcOfferOptions, WebRtcOfferResult, RtpAnswerOptions, RtpAnswerResult } from './trunk-offer.js';
export { answerRtpOffer } from './rtp-answer.js';
export type { RtpAnswerToOfferResult } from './rtp-answer.js';
export { parseDirection, scanDirection, withDirection } from './hold.js';
export type { WithDirectionResult } from './hold.js';
export { answerDirection, reverseDirection } from './direction.js';
export type { Direction } from './direction.js';
export { nextOrigin, readOrigin } from './origin.js';
export type { SdpOrigin } from './origin.js';
export { parseCodecPolicy } from './policy.js';
export { SdpError, MalformedSdpError, NotAcceptableSdpError, NoCommonCodecError, SdpUsageError } from './errors.js';
export type { SdpErrorStatus } from './errors.js';
export type {
  CodecPolicy, MediaEndpoint, IceDtlsParams, LocalStream, PtMapping, IceCandidate, WebRtcRemote, RtpRemote, SdesCrypto,
  OfferState, OfferedCodec, OfferedMedia, LegLayout, Negotiated,
} from './types.js';
export { transferOffer, transferAnswer, rtpRemoteOf } from './transfer-offer.js';
export type { TransferOffer, TransferAnswer } from './transfer-offer.js';
