// Sharing the media port range out between workers: each worker binds only inside
// its own slice, so two workers never race for a port and a crashed worker's slice
// can be handed whole to its replacement.

export interface PortSlice {
  min: number;
  max: number;
}

/**
 * Splits [min, max] into n contiguous slices. Slices start on even ports so a leg
 * that needs an RTP/RTCP pair (RFC 3550 §11: RTP even, RTCP the next odd) never
 * straddles two workers.
 */
export function sliceRange(min: number, max: number, n: number): PortSlice[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`worker count ${n} must be a positive integer`);
  const start = min % 2 === 0 ? min : min + 1;
  const total = max - start + 1;
  const per = Math.floor(total / n / 2) * 2;
  if (per < 2) throw new RangeError(`port range ${min}-${max} is too small for ${n} workers`);
  const out: PortSlice[] = [];
  for (let i = 0; i < n; i++) {
    const lo = start + i * per;
    out.push({ min: lo, max: i === n - 1 ? max : lo + per - 1 });
  }
  return out;
}
