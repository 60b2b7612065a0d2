// The WebRTC side of a session: reading the browser's ICE (RFC 8839), DTLS (RFC 8122,
// RFC 8842) and BUNDLE (RFC 8843) parameters, and writing our ICE-lite audio m-line.

import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type { Codec } from './codec.js';
import { declaredDirection, type Direction } from './direction.js';
import { NotAcceptableSdpError, SdpUsageError } from './errors.js';
import { ipVersion } from './origin.js';
import { connectionAddress, sharedAttr } from './parse.js';
import type { IceCandidate, IceDtlsParams, LocalStream, MediaEndpoint, WebRtcRemote } from './types.js';

export type Setup = 'active' | 'passive' | 'actpass';

/** RTP profiles a WebRTC endpoint may use for DTLS-SRTP (RFC 5764 §8, RFC 8827). */
export function isWebRtcProtocol(protocol: string): boolean {
  return protocol === 'UDP/TLS/RTP/SAVPF' || protocol === 'RTP/SAVPF' || protocol === 'TCP/TLS/RTP/SAVPF';
}

/**
 * a=setup as written, with RFC 4145 §4.1's defaults when absent: active in an offer,
 * passive in an answer.
 */
export function readSetup(value: string | undefined, inOffer: boolean, what: string): Setup {
  if (value === undefined) return inOffer ? 'active' : 'passive';
  if (value === 'active' || value === 'passive' || value === 'actpass') return value;
  throw new NotAcceptableSdpError(`${what} has a=setup:${value}; expected active, passive or actpass`);
}

/**
 * The answerer's DTLS role (RFC 8842 §5.3). For actpass we default to passive: as an
 * ICE-lite agent (RFC 8445 §2.5) we never run connectivity checks, so we only learn the
 * browser's address when its first check arrives; as DTLS server the browser sends its
 * ClientHello as soon as its own check succeeds, with no extra round trip through us.
 * (RFC 5763 §5 recommends active for latency, which assumes a full ICE answerer.)
 */
export function answerSetup(offered: Setup, preferred: IceDtlsParams['setup']): 'active' | 'passive' {
  if (offered === 'active') return 'passive';
  if (offered === 'passive') return 'active';
  return preferred === 'active' ? 'active' : 'passive';
}

/** The browser's parameters for its audio m-line. Throws 488 when it is not DTLS-SRTP with ICE. */
export function readWebRtcRemote(
  session: SessionDescription,
  media: MediaDescription,
  inOffer: boolean,
  what: string,
): WebRtcRemote {
  const ufrag = sharedAttr(session, media, 'iceUfrag');
  const pwd = sharedAttr(session, media, 'icePwd');
  if (!ufrag || !pwd) throw new NotAcceptableSdpError(`${what} has no a=ice-ufrag/a=ice-pwd (RFC 8839)`);
  const fp = sharedAttr(session, media, 'fingerprint');
  if (!fp || !fp.type || !fp.hash) throw new NotAcceptableSdpError(`${what} has no a=fingerprint (RFC 8122)`);
  const setup = readSetup(sharedAttr(session, media, 'setup'), inOffer, what);
  const candidates: IceCandidate[] = (media.candidates ?? []).map((c) => {
    const out: IceCandidate = {
      foundation: String(c.foundation), component: Number(c.component), transport: String(c.transport).toLowerCase(),
      priority: Number(c.priority), address: String(c.ip), port: Number(c.port), type: String(c.type),
    };
    if (c.raddr !== undefined) out.relatedAddress = String(c.raddr);
    if (c.rport !== undefined) out.relatedPort = Number(c.rport);
    if (c.tcptype !== undefined) out.tcpType = String(c.tcptype);
    return out;
  });
  const ssrc: number[] = [];
  for (const s of media.ssrcs ?? []) if (!ssrc.includes(Number(s.id))) ssrc.push(Number(s.id));
  const remote: WebRtcRemote = {
    ufrag: String(ufrag), pwd: String(pwd),
    fingerprint: { algorithm: String(fp.type).toLowerCase(), value: String(fp.hash).toUpperCase() },
    setup, iceLite: session.icelite === 'ice-lite',
    candidates, endOfCandidates: media.endOfCandidates === 'end-of-candidates',
    rtcpMux: media.rtcpMux === 'rtcp-mux', ssrc, direction: declaredDirection(session, media),
    address: connectionAddress(session, media), port: Number(media.port),
  };
  if (media.mid !== undefined) remote.mid = String(media.mid);
  return remote;
}

/** RFC 8445 §5.1.2.1 priority of a host candidate: type preference 126, local preference 65535. */
export function hostPriority(component: number): number {
  return 126 * 2 ** 24 + 65535 * 2 ** 8 + (256 - component);
}

function checkIce(ice: IceDtlsParams): void {
  // RFC 8839 §5.4: ufrag at least 4, pwd at least 22 ice-chars.
  if (!/^[A-Za-z0-9+/]{4,256}$/.test(ice?.ufrag ?? '') || !/^[A-Za-z0-9+/]{22,256}$/.test(ice?.pwd ?? '')) {
    throw new SdpUsageError('ICE ufrag/pwd must be 4+/22+ ice-chars (RFC 8839 §5.4)');
  }
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$/.test(ice.fingerprint?.value ?? '')) {
    throw new SdpUsageError('DTLS fingerprint must be a sha-256 hash as 32 colon-separated hex bytes');
  }
}

export interface WebRtcAudioOptions {
  codecs: { pt: number; codec: Codec }[];
  ice: IceDtlsParams;
  local: MediaEndpoint;
  setup: Setup;
  mid: string | undefined;
  direction: Direction;
  stream?: LocalStream;
}

/**
 * Our audio m-line toward a browser: DTLS-SRTP profile, our ICE-lite credentials, one
 * host candidate and a=end-of-candidates (RFC 8840 §4.1: a lite agent has nothing to
 * trickle), rtcp-mux (RFC 5761, mandatory in WebRTC, RFC 8834 §4.5). No a=rtcp line: with
 * rtcp-mux it is redundant, and werift rejects a=rtcp:PORT without an address.
 * a=ssrc/a=msid name our stream (RFC 5576, RFC 8830) so receivers that ignore
 * unsignalled SSRCs (werift) route it.
 */
export function webrtcAudioMedia(o: WebRtcAudioOptions): MediaDescription {
  checkIce(o.ice);
  const m: MediaDescription = {
    type: 'audio', port: o.local.port, protocol: 'UDP/TLS/RTP/SAVPF',
    payloads: o.codecs.map((c) => c.pt).join(' '),
    connection: { version: ipVersion(o.local.address), ip: o.local.address },
    rtp: o.codecs.map(({ pt, codec }) => (codec.channels !== 1
      ? { payload: pt, codec: codec.name, rate: codec.clockRate, encoding: codec.channels }
      : { payload: pt, codec: codec.name, rate: codec.clockRate })),
    fmtp: o.codecs.filter((c) => c.codec.fmtp !== undefined).map(({ pt, codec }) => ({ payload: pt, config: codec.fmtp as string })),
    iceUfrag: o.ice.ufrag, icePwd: o.ice.pwd,
    fingerprint: { type: 'sha-256', hash: o.ice.fingerprint.value.toUpperCase() },
    setup: o.setup, direction: o.direction, rtcpMux: 'rtcp-mux',
    candidates: [{
      foundation: '1', component: 1, transport: 'udp', priority: hostPriority(1),
      ip: o.local.address, port: o.local.port, type: 'host',
    }],
    endOfCandidates: 'end-of-candidates',
  };
  if (o.mid !== undefined) m.mid = o.mid;
  if (o.stream) {
    const streamId = o.stream.streamId ?? 'trapezoid';
    const trackId = o.stream.trackId ?? 'audio';
    m.msid = [{ id: streamId, appdata: trackId }];
    m.ssrcs = [
      { id: o.stream.ssrc, attribute: 'cname', value: o.stream.cname },
      { id: o.stream.ssrc, attribute: 'msid', value: `${streamId} ${trackId}` },
    ];
  }
  return m;
}
