// What the monitor reads from the SDP a call's messages carry, seen on the wire (the
// transport tap), so hold detection follows every offer and answer whoever sends them
// (initial INVITE, 183, 200, re-INVITE, UPDATE) without a hook in the call flows.

import { scanDirection, type Direction } from '@trapezoid/sdp';
import type { SipRequest, SipResponse } from '@trapezoid/sip';

export interface SdpFacts {
  direction: Direction;
  /** RTP clock rate of the first payload type of the audio stream (8000 when unknown). */
  clockRate: number;
}

/** Static payload types' clocks (RFC 3551 §6); G.722 keeps 8000 for historical reasons. */
const STATIC_CLOCK: Record<string, number> = { 0: 8000, 3: 8000, 4: 8000, 8: 8000, 9: 8000, 18: 8000 };

export function sdpOf(msg: SipRequest | SipResponse): string | undefined {
  if (msg.body.length === 0) return undefined;
  if (!/^\s*application\/sdp\b/i.test(msg.headers.get('content-type') ?? '')) return undefined;
  return msg.body.toString('utf8');
}

/** Direction and clock of an SDP body; undefined when it has no usable audio stream. */
export function sdpFacts(sdp: string): SdpFacts | undefined {
  // A line scan, not a parse: this runs on every SDP the gateway sends or receives.
  const direction = scanDirection(sdp);
  if (direction === undefined) return undefined;
  const m = /^m=audio \d+ \S+ (\d+)/m.exec(sdp);
  const pt = m?.[1];
  let clockRate = 8000;
  if (pt !== undefined) {
    const rtpmap = new RegExp(`^a=rtpmap:${pt} [^/\\s]+/(\\d+)`, 'm').exec(sdp);
    clockRate = rtpmap ? Number(rtpmap[1]) : STATIC_CLOCK[pt] ?? 8000;
  }
  return { direction, clockRate };
}
