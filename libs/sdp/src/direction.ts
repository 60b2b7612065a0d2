// Stream direction (RFC 3264 §5.1, §6.1, §8.4) and hold in both its forms: the
// direction attributes of RFC 3264, and RFC 2543's c=0.0.0.0 that old trunks still send.

import type { MediaDescription, SessionDescription } from 'sdp-transform';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

const SEND = 1;
const RECV = 2;
const BITS: Record<Direction, number> = { sendrecv: SEND | RECV, sendonly: SEND, recvonly: RECV, inactive: 0 };
const BY_BITS: Direction[] = ['inactive', 'sendonly', 'recvonly', 'sendrecv'];

export function isDirection(v: unknown): v is Direction {
  return v === 'sendrecv' || v === 'sendonly' || v === 'recvonly' || v === 'inactive';
}

/** The direction as written: media-level attribute, else session-level, else sendrecv (RFC 3264 §5.1). */
export function declaredDirection(session: SessionDescription, media: MediaDescription): Direction {
  return media.direction ?? session.direction ?? 'sendrecv';
}

/** True for the RFC 2543 hold address (0.0.0.0; `::` is its IPv6 counterpart). */
export function isHoldAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/**
 * RFC 3264 §8.4: a c=0.0.0.0 from a non-ICE peer means "do not send to me", so the peer
 * can at most send. Only for plain RTP: WebRTC SDP carries 0.0.0.0 routinely (RFC 8839
 * §4.2.1.1 default address with trickle ICE) and it means nothing there.
 */
export function foldLegacyHold(direction: Direction, address: string): Direction {
  if (!isHoldAddress(address)) return direction;
  return BY_BITS[BITS[direction] & SEND] as Direction;
}

/** The direction the other end of a stream sees (sendonly <-> recvonly). */
export function reverseDirection(direction: Direction): Direction {
  const b = BITS[direction];
  return BY_BITS[((b & SEND) << 1) | ((b & RECV) >> 1)] as Direction;
}

/**
 * The answer's direction: what we want, restricted to what the offer allows
 * (RFC 3264 §6.1: sendonly may be answered recvonly/inactive, recvonly sendonly/inactive,
 * inactive only inactive).
 */
export function answerDirection(offered: Direction, wanted: Direction): Direction {
  return BY_BITS[BITS[wanted] & BITS[reverseDirection(offered)]] as Direction;
}
