// Session-level skeleton shared by every SDP we write (RFC 8866 §5: v, o, s, t).

import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { ipVersion, type SdpOrigin } from './origin.js';
import type { OfferedMedia } from './types.js';

export function sessionDescription(origin: SdpOrigin, media: MediaDescription[]): SessionDescription {
  return {
    version: 0,
    origin: {
      username: origin.username, sessionId: origin.sessionId, sessionVersion: origin.sessionVersion,
      netType: 'IN', ipVer: ipVersion(origin.address), address: origin.address,
    },
    name: '-',
    timing: { start: 0, stop: 0 },
    media,
  };
}

/** The offered m-lines as kept in OfferState. */
export function describeMedia(media: MediaDescription[], acceptedIndex: number): OfferedMedia[] {
  return media.map((m, i) => {
    const d: OfferedMedia = {
      type: String(m.type), protocol: String(m.protocol), formats: String(m.payloads ?? ''), accepted: i === acceptedIndex,
    };
    if (m.mid !== undefined) d.mid = String(m.mid);
    return d;
  });
}

/** The tags of the offer's first BUNDLE group (RFC 8843 §7.1), if any. */
export function bundleTags(session: SessionDescription): string[] | undefined {
  const g = session.groups?.find((x) => String(x.type).toUpperCase() === 'BUNDLE');
  return g ? String(g.mids).split(' ').filter((t) => t !== '') : undefined;
}

/** An m-line we refuse (RFC 3264 §6: port 0, same media type and formats, mid kept for BUNDLE). */
export function rejectedMedia(type: string, protocol: string, formats: string, mid?: string): MediaDescription {
  // c= kept although the port is 0: some parsers want one per m-line (RFC 8866 §5.7).
  const m: MediaDescription = {
    type, port: 0, protocol, payloads: formats, rtp: [], fmtp: [], connection: { version: 4, ip: '0.0.0.0' },
  };
  if (mid !== undefined) m.mid = mid;
  return m;
}

/**
 * The m-lines of an answer or re-offer shaped like `layout`: `audio` in the bridged
 * place, every other m-line rejected (RFC 3264 §6: same count and order).
 */
export function withRejected(layout: { media: OfferedMedia[]; audioIndex: number }, audio: MediaDescription): MediaDescription[] {
  return layout.media.map((m, i) => (i === layout.audioIndex ? audio : rejectedMedia(m.type, m.protocol, m.formats, m.mid)));
}
