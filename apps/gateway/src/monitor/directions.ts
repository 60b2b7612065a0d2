// The four directions media takes through the gateway, named as an operator says them
// (and as the one-way-audio detector reports them), and how each maps onto the
// counters of the call's two media legs: leg 0 faces the browser (WebRTC), leg 1 the
// trunk (RTP), whichever side placed the call.

import { BRIDGE_COUNTERS_WIDTH, LEG_STATS_FIELDS, type LegStats } from '@trapezoid/media';

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

const FIELD = (f: (typeof LEG_STATS_FIELDS)[number]): number => LEG_STATS_FIELDS.indexOf(f);
const IN = { packets: FIELD('packetsIn'), bytes: FIELD('bytesIn'), lost: FIELD('packetsLost'), jitter: FIELD('jitter') };
const OUT = { packets: FIELD('packetsOut'), bytes: FIELD('bytesOut') };
const LAST_PACKET_AT = FIELD('lastPacketAt');

/**
 * directionCounters() of row `row` of a counters table (MediaEngine.countersMany), for
 * direction `d`, written into `into`: the monitor's per-second sample allocates nothing per call.
 */
export function readDirection(values: Float64Array, row: number, d: MediaDirectionName, into: DirectionCounters): DirectionCounters {
  const src = DIRECTION_SOURCE[d];
  const at = row * BRIDGE_COUNTERS_WIDTH + src.legIndex * LEG_STATS_FIELDS.length;
  if (Number.isNaN(values[at])) {
    into.packets = into.bytes = into.lost = into.jitter = 0;
  } else if (src.way === 'in') {
    into.packets = values[at + IN.packets]!;
    into.bytes = values[at + IN.bytes]!;
    into.lost = Math.max(0, values[at + IN.lost]!);
    into.jitter = values[at + IN.jitter]!;
  } else {
    into.packets = values[at + OUT.packets]!;
    into.bytes = values[at + OUT.bytes]!;
    into.lost = into.jitter = 0;
  }
  return into;
}

/** Date.now() of the last packet a leg (0 browser, 1 trunk) received, per row `row` of a counters table; 0 if none or unknown. */
export function lastPacketAt(values: Float64Array, row: number, leg: 0 | 1): number {
  const v = values[row * BRIDGE_COUNTERS_WIDTH + leg * LEG_STATS_FIELDS.length + LAST_PACKET_AT]!;
  return Number.isNaN(v) ? 0 : v;
}

/** A record of zeroed counters per direction (scratch space, or a call's starting totals). */
export function zeroCounters(): Record<MediaDirectionName, DirectionCounters> {
  return directionCounters([]);
}

/** A one-row counters table of a bridge's legs (its final counters, as 'bridgeDestroyed' reports them). */
export function countersRow(legs: readonly LegStats[]): Float64Array {
  const row = new Float64Array(BRIDGE_COUNTERS_WIDTH).fill(NaN);
  for (let leg = 0; leg < 2; leg++) {
    const s = legs[leg];
    if (s) LEG_STATS_FIELDS.forEach((f, i) => { row[leg * LEG_STATS_FIELDS.length + i] = s[f]; });
  }
  return row;
}
