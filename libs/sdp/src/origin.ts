// The o= line (RFC 8866 §5.2) and its version counter (RFC 3264 §8: every new SDP a side
// sends in a session keeps the session id and increments the version by one).

import { randomBytes } from 'node:crypto';

export interface SdpOrigin {
  username: string;
  /** Decimal digits, up to 63 bits, kept as a string so no precision is lost. */
  sessionId: string;
  sessionVersion: number;
  address: string;
}

/**
 * The origin for the next SDP we send on one leg: a fresh one (random id, RFC 8866 §5.2
 * suggests an NTP-like value; uniqueness is what matters) when `previous` is absent, else
 * the previous with the version incremented and the address updated.
 */
export function nextOrigin(previous: SdpOrigin | undefined, address: string): SdpOrigin {
  if (previous) return { ...previous, sessionVersion: previous.sessionVersion + 1, address };
  const id = (randomBytes(8).readBigUInt64BE(0) >> 2n).toString();
  return { username: '-', sessionId: id, sessionVersion: 1, address };
}

export function ipVersion(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

const O_LINE = /^o=(\S+) (\d+) (\d+) IN IP[46] (\S+)\r?$/m;

/**
 * The o= of an SDP body, or undefined when it has none. RFC 3264 §8: an SDP whose session
 * id and version equal those of the previous one from the same party is unchanged (a
 * session refresh), so it needs no new offer/answer on the other leg.
 */
export function readOrigin(sdp: string): SdpOrigin | undefined {
  const m = O_LINE.exec(sdp);
  if (!m) return undefined;
  return { username: m[1]!, sessionId: m[2]!, sessionVersion: Number(m[3]), address: m[4]! };
}
