// The four directions media takes through the gateway, named as an operator says them
// (and as the one-way-audio detector reports them), and how each maps onto the
// counters of the call's two media legs: leg 0 faces the browser (WebRTC), leg 1 the
// trunk (RTP), whichever side placed the call.

import type { LegStats } from '@trapezoid/media';

export type MediaLegName = 'browser' | 'trunk';
export type MediaDirectionName = 'browser->gateway' | 'gateway->trunk' | 'trunk->gateway' | 'gateway->browser';

export const MEDIA_DIRECTIONS: readonly MediaDirectionName[] = ['browser->gateway', 'gateway->trunk', 'trunk->gateway', 'gateway->browser'];

/** Where a direction's counters live: the leg index in the bridge, and in or out of the gateway. */
export const DIRECTION_SOURCE: Record<MediaDirectionName, { legIndex: 0 | 1; leg: MediaLegName; way: 'in' | 'out' }> = {
  'browser->gateway': { legIndex: 0, leg: 'browser', way: 'in' },
  'gateway->trunk': { legIndex: 1, leg: 'trunk', way: 'out' },
  'trunk->gateway': { legIndex: 1, leg: 'trunk', way: 'in' },
  'gateway->browser': { legIndex: 0, leg: 'browser', way: 'out' },
};

/**
 * The two paths audio travels, each hop in order: when a hop is silent, every hop after
 * it is silent too, and the first silent hop is where the audio stopped.
 */
export const MEDIA_PATHS: readonly (readonly [MediaDirectionName, MediaDirectionName])[] = [
  ['browser->gateway', 'gateway->trunk'],
  ['trunk->gateway', 'gateway->browser'],
];

/** One direction's running totals, from a leg's LegStats. */
export interface DirectionCounters {
  packets: number;
  bytes: number;
  /** Receiving directions only: estimated lost packets (RFC 3550 A.3) and jitter in RTP timestamp units. */
  lost: number;
  jitter: number;
}

/** The counters of each direction from a bridge's two legs' LegStats. */
export function directionCounters(legs: readonly LegStats[]): Record<MediaDirectionName, DirectionCounters> {
  const out = {} as Record<MediaDirectionName, DirectionCounters>;
  for (const d of MEDIA_DIRECTIONS) {
    const src = DIRECTION_SOURCE[d];
    const s = legs[src.legIndex];
    out[d] = !s ? { packets: 0, bytes: 0, lost: 0, jitter: 0 }
      : src.way === 'in'
        ? { packets: s.packetsIn, bytes: s.bytesIn, lost: Math.max(0, s.packetsLost), jitter: s.jitter }
        : { packets: s.packetsOut, bytes: s.bytesOut, lost: 0, jitter: 0 };
  }
  return out;
}
