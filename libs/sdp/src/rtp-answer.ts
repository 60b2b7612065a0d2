// A plain RTP endpoint answering an RTP offer itself (no second leg): the gateway's
// built-in echo number. Same reading and writing as the bridged flows, so the echo
// answers exactly as strictly as a trunk leg is read.

import { mediaCodecs, selectCodecs } from './codec.js';
import { checkEndpoint, checkPolicy, guarded } from './common.js';
import { answerDirection } from './direction.js';
import { NotAcceptableSdpError } from './errors.js';
import { nextOrigin, type SdpOrigin } from './origin.js';
import { writeSdp } from './parse.js';
import { isSecureRtpProtocol, readRtpOffer, rtpAudioMedia } from './rtp.js';
import { describeMedia, sessionDescription, withRejected } from './session.js';
import type { CodecPolicy, MediaEndpoint, RtpRemote } from './types.js';

export interface RtpAnswerToOfferResult {
  sdp: string;
  /** The offerer's transport for the audio m-line. */
  remote: RtpRemote;
  origin: SdpOrigin;
}

/**
 * Our answer to an RTP/AVP offer, terminated here: the first active audio m-line with
 * the offered codecs the policy allows (in policy order, with the offerer's PT numbers
 * and fmtp, RFC 3264 §6.1), the offer's ptime, a=rtcp-mux when offered and `rtcpMux`
 * is set; every other m-line rejected (RFC 3264 §6). RTP/SAVP offers are refused (488):
 * no SDES keys here. Throws NoCommonCodecError (488), NotAcceptableSdpError (488) or
 * MalformedSdpError (400).
 */
export function answerRtpOffer(
  rtpOffer: string, policy: CodecPolicy, local: MediaEndpoint, opts: { rtcpMux?: boolean } = {},
): RtpAnswerToOfferResult {
  return guarded('RTP offer', () => {
    const entries = checkPolicy(policy);
    checkEndpoint(local);
    const { offer, audioIndex, media, remote } = readRtpOffer(rtpOffer, 'RTP offer');
    const protocol = String(media.protocol);
    if (isSecureRtpProtocol(protocol)) throw new NotAcceptableSdpError(`RTP offer uses ${protocol}; expected RTP/AVP`);
    const codecs = selectCodecs(mediaCodecs(media), entries).map((codec) => ({ pt: codec.pt, codec }));
    const audio = rtpAudioMedia({
      protocol, codecs, local, direction: answerDirection(remote.direction, 'sendrecv'), ptime: remote.ptime,
      rtcpMux: opts.rtcpMux === true && remote.rtcpMux,
    });
    const origin = nextOrigin(undefined, local.address);
    const lines = withRejected({ media: describeMedia(offer.media, audioIndex), audioIndex }, audio);
    return { sdp: writeSdp(sessionDescription(origin, lines)), remote, origin };
  });
}
