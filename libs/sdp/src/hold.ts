// Hold and resume on SDP we already sent (RFC 3264 §8.4): re-offer the same session with
// a new direction and the o= version incremented (RFC 3264 §8).

import { declaredDirection, foldLegacyHold, isDirection, type Direction } from './direction.js';
import { guarded } from './common.js';
import { NotAcceptableSdpError, SdpUsageError } from './errors.js';
import { ipVersion, type SdpOrigin } from './origin.js';
import { connectionAddress, parseSdp, writeSdp } from './parse.js';
import { isWebRtcProtocol } from './webrtc.js';

/**
 * Direction of the first active audio m-line. For plain RTP, RFC 2543 hold (c=0.0.0.0)
 * is folded in (sendrecv -> sendonly); WebRTC SDP uses 0.0.0.0 for other reasons.
 */
export function parseDirection(sdp: string): Direction {
  return guarded('SDP', () => {
    const s = parseSdp(sdp);
    const m = s.media.find((x) => x.type === 'audio' && Number(x.port) !== 0);
    if (!m) throw new NotAcceptableSdpError('SDP has no audio stream');
    const declared = declaredDirection(s, m);
    return isWebRtcProtocol(String(m.protocol)) ? declared : foldLegacyHold(declared, connectionAddress(s, m));
  });
}

/**
 * parseDirection's answer from a scan of the lines, without parsing the whole SDP: for
 * observers that follow every offer and answer on the wire (the call monitor's hold
 * detection) and must not pay a full parse per message. It validates nothing (the call
 * flow parses what it uses); undefined when there is no active audio m-line.
 */
export function scanDirection(sdp: string): Direction | undefined {
  // The section the current line belongs to: the session, an m-line we skip, or the first active audio one.
  let section: 'session' | 'other' | 'audio' = 'session';
  let protocol = '';
  let sessionDirection: Direction | undefined;
  let sessionAddress: string | undefined;
  let direction: Direction | undefined;
  let address: string | undefined;
  for (let start = 0; start < sdp.length;) {
    let end = sdp.indexOf('\n', start);
    if (end === -1) end = sdp.length;
    const line = sdp.slice(start, sdp.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    const type = line.charCodeAt(0);
    if (type === 109 /* m */) {
      if (section === 'audio') break;
      const parts = line.slice(2).split(' ');
      section = parts[0] === 'audio' && parts.length >= 4 && Number(parts[1]!.split('/')[0]) !== 0 ? 'audio' : 'other';
      protocol = parts[2] ?? '';
    } else if (section !== 'other' && (type === 97 /* a */ || type === 99 /* c */)) {
      if (type === 97) {
        const value = line.slice(2);
        if (!isDirection(value)) continue;
        if (section === 'audio') direction = value;
        else sessionDirection = value;
      } else {
        const ip = C_ADDRESS.exec(line)?.[1];
        if (section === 'audio') address = ip;
        else sessionAddress = ip;
      }
    }
  }
  if (section !== 'audio') return undefined;
  const declared = direction ?? sessionDirection ?? 'sendrecv';
  return isWebRtcProtocol(protocol) ? declared : foldLegacyHold(declared, address ?? sessionAddress ?? '0.0.0.0');
}

/** The address of a c= line (RFC 8866 §5.7), TTL and count stripped. */
const C_ADDRESS = /^c=IN IP[46] ([^\s/]+)/;

export interface WithDirectionResult {
  sdp: string;
  origin: SdpOrigin;
}

/**
 * `sdp` (one we sent earlier) re-offered with `direction` on every active m-line and the
 * o= version + 1. With `legacyHold`, plain-RTP m-lines also get c=0.0.0.0 while we do not
 * want to receive (sendonly, inactive), and our address back on resume via `address`.
 */
export function withDirection(
  sdp: string, direction: Direction, opts: { legacyHold?: boolean; address?: string } = {},
): WithDirectionResult {
  return guarded('SDP', () => {
    if (!isDirection(direction)) throw new SdpUsageError(`not a direction: ${String(direction)}`);
    const s = parseSdp(sdp);
    delete s.direction;
    for (const m of s.media) {
      if (Number(m.port) === 0) continue;
      m.direction = direction;
      if (opts.legacyHold && !isWebRtcProtocol(String(m.protocol))) {
        const hold = direction === 'sendonly' || direction === 'inactive';
        const address = hold ? '0.0.0.0' : (opts.address ?? s.origin.address);
        m.connection = { version: ipVersion(address), ip: address };
      }
    }
    s.origin.sessionVersion = Number(s.origin.sessionVersion) + 1;
    const origin: SdpOrigin = {
      username: String(s.origin.username), sessionId: String(s.origin.sessionId),
      sessionVersion: s.origin.sessionVersion, address: String(s.origin.address),
    };
    return { sdp: writeSdp(s), origin };
  });
}
