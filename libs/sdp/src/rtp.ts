// The trunk side of a session: plain RTP/AVP (RFC 3551), or RTP/SAVP with SDES keys
// (RFC 4568) on TLS trunks. Reading the trunk's transport and writing our audio m-line.

import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type { Codec } from './codec.js';
import { declaredDirection, foldLegacyHold, type Direction } from './direction.js';
import { NotAcceptableSdpError } from './errors.js';
import { ipVersion } from './origin.js';
import { connectionAddress, parseSdp } from './parse.js';
import type { MediaEndpoint, RtpRemote, SdesCrypto } from './types.js';

/** Profiles we bridge to a trunk: AVP, its feedback variant (RFC 4585), SAVP with SDES. */
export function isRtpProtocol(protocol: string): boolean {
  return protocol === 'RTP/AVP' || protocol === 'RTP/AVPF' || protocol === 'RTP/SAVP' || protocol === 'RTP/SAVPF';
}

export function isSecureRtpProtocol(protocol: string): boolean {
  return protocol === 'RTP/SAVP' || protocol === 'RTP/SAVPF';
}

/**
 * A trunk's RTP offer: its first active RTP audio m-line (the one bridged) and the
 * trunk's transport for it. Throws NotAcceptableSdpError (488) when there is none.
 */
export function readRtpOffer(
  rtpOffer: string, what: string,
): { offer: SessionDescription; audioIndex: number; media: MediaDescription; remote: RtpRemote } {
  const offer = parseSdp(rtpOffer, what);
  const audioIndex = offer.media.findIndex((m) => m.type === 'audio' && Number(m.port) !== 0
    && isRtpProtocol(String(m.protocol)));
  const media = offer.media[audioIndex];
  if (!media) {
    const other = offer.media.find((m) => m.type === 'audio' && Number(m.port) !== 0);
    throw new NotAcceptableSdpError(other ? `${what} uses ${other.protocol}; expected RTP/AVP` : `${what} has no audio stream`);
  }
  return { offer, audioIndex, media, remote: readRtpRemote(offer, media, what) };
}

/** The trunk's transport for its audio m-line. */
export function readRtpRemote(session: SessionDescription, media: MediaDescription, what: string): RtpRemote {
  const address = connectionAddress(session, media);
  const port = Number(media.port);
  const rtcpMux = media.rtcpMux === 'rtcp-mux';
  const remote: RtpRemote = {
    address, port, rtcpMux,
    direction: foldLegacyHold(declaredDirection(session, media), address),
  };
  if (!rtcpMux) {
    // RFC 3605 a=rtcp overrides RFC 3550 §11's "next higher (odd) port".
    remote.rtcpPort = media.rtcp?.port !== undefined && Number.isInteger(Number(media.rtcp.port)) && Number(media.rtcp.port) > 0
      ? Number(media.rtcp.port) : port + 1;
    if (media.rtcp?.address) remote.rtcpAddress = String(media.rtcp.address);
  }
  if (isSecureRtpProtocol(String(media.protocol))) {
    const crypto = (media.crypto ?? []).map((c) => {
      const out: SdesCrypto = { tag: Number(c.id), suite: String(c.suite), keyParams: String(c.config) };
      if (c.sessionConfig !== undefined) out.sessionParams = String(c.sessionConfig);
      return out;
    });
    if (crypto.length === 0) throw new NotAcceptableSdpError(`${what} uses ${media.protocol} without a=crypto (RFC 4568)`);
    remote.crypto = crypto;
  }
  if (typeof media.ptime === 'number' && media.ptime > 0) remote.ptime = media.ptime;
  return remote;
}

export interface RtpAudioOptions {
  /** RTP/AVP in offers; in answers the offer's own profile (RFC 3264 §6). */
  protocol: string;
  codecs: { pt: number; codec: Codec }[];
  local: MediaEndpoint;
  direction: Direction;
  ptime?: number;
  crypto?: SdesCrypto[];
  rtcpMux?: boolean;
  /** RFC 2543 hold: write c=0.0.0.0 when we do not want to receive (see withDirection). */
  legacyHold?: boolean;
}

/**
 * Our audio m-line toward a trunk. Deliberately plain: no ICE, DTLS, rtcp-fb, extmap,
 * ssrc or msid (the trunk has no use for them and some SBCs reject unknown lines).
 * a=rtcp-mux only when asked (RFC 5761 §5.1.1: offering it is allowed, but few trunks
 * support it, and without it RTCP is expected on port + 1).
 */
export function rtpAudioMedia(o: RtpAudioOptions): MediaDescription {
  const address = o.legacyHold && (o.direction === 'sendonly' || o.direction === 'inactive')
    ? (ipVersion(o.local.address) === 6 ? '::' : '0.0.0.0') : o.local.address;
  const m: MediaDescription = {
    type: 'audio', port: o.local.port, protocol: o.protocol,
    payloads: o.codecs.map((c) => c.pt).join(' '),
    connection: { version: ipVersion(address), ip: address },
    rtp: o.codecs.map(({ pt, codec }) => (codec.channels !== 1
      ? { payload: pt, codec: codec.name, rate: codec.clockRate, encoding: codec.channels }
      : { payload: pt, codec: codec.name, rate: codec.clockRate })),
    fmtp: o.codecs.filter((c) => c.codec.fmtp !== undefined).map(({ pt, codec }) => ({ payload: pt, config: codec.fmtp as string })),
    direction: o.direction,
  };
  if (o.ptime) m.ptime = o.ptime;
  if (o.rtcpMux) m.rtcpMux = 'rtcp-mux';
  if (o.crypto && o.crypto.length > 0) {
    m.crypto = o.crypto.map((c) => (c.sessionParams !== undefined
      ? { id: c.tag, suite: c.suite, config: c.keyParams, sessionConfig: c.sessionParams }
      : { id: c.tag, suite: c.suite, config: c.keyParams }));
  }
  return m;
}

