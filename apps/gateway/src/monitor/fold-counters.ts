// One call's legs' counters from a monitor sample (a row of MediaEngine.countersMany's
// table) folded into its running totals in place: each direction's delta since the last
// sample, and the receiving legs' jitter in seconds. Nothing is allocated per call: the
// sample runs every second for every call.

import { MEDIA_DIRECTIONS, readDirection, type DirectionCounters, type MediaDirectionName } from './directions.js';
import type { ObservedCall } from './observed-call.js';

/** The sample's counters and deltas per direction (reused from call to call). */
export interface FoldScratch {
  next: Record<MediaDirectionName, DirectionCounters>;
  delta: Record<MediaDirectionName, DirectionCounters>;
}

/** Folds row `row` into `ob.counters`; true when anything moved since the previous sample. */
export function foldCounters(ob: ObservedCall, values: Float64Array, row: number, { next, delta }: FoldScratch): boolean {
  let moved = false;
  for (const d of MEDIA_DIRECTIONS) {
    const prev = ob.counters[d];
    const n = readDirection(values, row, d, next[d]);
    // A late sample can be older than the one before it (the final counters won the race).
    const x = delta[d];
    x.packets = Math.max(0, n.packets - prev.packets);
    x.bytes = Math.max(0, n.bytes - prev.bytes);
    x.lost = Math.max(0, n.lost - prev.lost);
    x.jitter = n.jitter;
    if (x.packets > 0 || x.bytes > 0 || x.lost > 0) moved = true;
    prev.packets = Math.max(prev.packets, n.packets);
    prev.bytes = Math.max(prev.bytes, n.bytes);
    prev.lost = Math.max(prev.lost, n.lost);
    prev.jitter = n.jitter;
  }
  const browserSide = ob.call.browserSide;
  const trunkSide = browserSide === 'a' ? 'b' : 'a';
  ob.jitterSeconds.browser = next['browser->gateway'].jitter / (ob.sdp[browserSide]?.clockRate ?? 8000);
  ob.jitterSeconds.trunk = next['trunk->gateway'].jitter / (ob.sdp[trunkSide]?.clockRate ?? 8000);
  return moved;
}
