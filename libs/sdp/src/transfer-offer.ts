// A transfer puts a new party where the browser was: when it is another trunk, the
// gateway offers it the codecs in force with the party that stays (so the staying party
// needs no new offer: RFC 3264 §8 would allow one, but carriers dislike needless
// re-INVITEs), on our new RTP leg, and the new party's answer gives the payload-type
// pairs the bridge maps between the two trunks. In the result, `webrtcPt` is the new
// party's number (the bridge side the browser had) and `trunkPt` the staying party's.

import { mediaCodecs, type Codec } from './codec.js';
import { checkAnswerShape, checkEndpoint, DEFAULT_PTIME, guarded } from './common.js';
import type { Direction } from './direction.js';
import { NotAcceptableSdpError, SdpUsageError } from './errors.js';
import { matchAnswer, toMapping } from './mapping.js';
import { nextOrigin, type SdpOrigin } from './origin.js';
import { parseSdp, writeSdp } from './parse.js';
import { isRtpProtocol, readRtpRemote, rtpAudioMedia } from './rtp.js';
import { sessionDescription } from './session.js';
import type { MediaEndpoint, OfferedCodec, PtMapping, RtpRemote } from './types.js';

export interface TransferOffer {
  sdp: string;
  origin: SdpOrigin;
  /** What was offered, for transferAnswer(). Plain JSON. */
  offered: OfferedCodec[];
  direction: Direction;
}

export interface TransferAnswer {
  remote: RtpRemote;
  /** webrtcPt: the new party's PT; trunkPt: the staying party's. */
  mapping: PtMapping[];
  /** The new party's direction. */
  direction: Direction;
}

/**
 * Our RTP/AVP offer to a new trunk party: the codecs of `inForce` (the staying trunk's
 * numbers, which the new party may renumber in its answer), on `local`.
 */
export function transferOffer(
  inForce: readonly PtMapping[], local: MediaEndpoint, opts: { origin?: SdpOrigin; ptime?: number; direction?: Direction } = {},
): TransferOffer {
  return guarded('transfer offer', () => {
    checkEndpoint(local);
    if (inForce.length === 0) throw new SdpUsageError('no codec in force to offer');
    const offered: OfferedCodec[] = inForce.map((m) => {
      const c: OfferedCodec = { webrtcPt: m.trunkPt, trunkPt: m.trunkPt, name: m.codec, clockRate: m.clockRate, channels: m.channels ?? 1 };
      // RFC 4733 §7.1.1: 0-15 (the digits) are what a DTMF peer needs.
      if (m.codec.toLowerCase() === 'telephone-event') { c.webrtcFmtp = '0-16'; c.trunkFmtp = '0-16'; }
      return c;
    });
    const codecs = offered.map((c) => {
      const codec: Codec = { pt: c.trunkPt, name: c.name, clockRate: c.clockRate, channels: c.channels };
      if (c.trunkFmtp !== undefined) codec.fmtp = c.trunkFmtp;
      return { pt: c.trunkPt, codec };
    });
    const direction = opts.direction ?? 'sendrecv';
    const media = rtpAudioMedia({ protocol: 'RTP/AVP', codecs, local, direction, ptime: opts.ptime ?? DEFAULT_PTIME });
    const origin = nextOrigin(opts.origin, local.address);
    return { sdp: writeSdp(sessionDescription(origin, [media])), origin, offered, direction };
  });
}

/** The new party's answer to transferOffer(): its transport and the PT pairs. */
export function transferAnswer(offer: TransferOffer, answer: string): TransferAnswer {
  return guarded('transfer answer', () => {
    const s = parseSdp(answer, 'transfer answer');
    const media = checkAnswerShape(s, 1, 0, 'transfer answer');
    if (Number(media.port) === 0) throw new NotAcceptableSdpError('the transfer target rejected the audio stream');
    if (!isRtpProtocol(String(media.protocol))) throw new NotAcceptableSdpError(`the transfer target answered ${media.protocol}`);
    const remote = readRtpRemote(s, media, 'transfer answer');
    const accepted = matchAnswer(offer.offered, mediaCodecs(media), 'webrtc');
    return { remote, mapping: toMapping(accepted), direction: remote.direction };
  });
}

/** A trunk's RTP SDP (offer or answer) as a transport: its first active RTP audio m-line. */
export function rtpRemoteOf(sdp: string): RtpRemote {
  return guarded('RTP SDP', () => {
    const s = parseSdp(sdp, 'RTP SDP');
    const media = s.media.find((m) => m.type === 'audio' && Number(m.port) !== 0 && isRtpProtocol(String(m.protocol)));
    if (!media) throw new NotAcceptableSdpError('RTP SDP has no active audio stream');
    return readRtpRemote(s, media, 'RTP SDP');
  });
}
