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
