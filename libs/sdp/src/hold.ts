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
