// Random bytes for identifiers (tags, Call-IDs, nonces, flow ids): drawn from the
// CSPRNG 4 KiB at a time. Each needs a few bytes, and every call setup makes several;
// one draw each cost a call into the crypto binding apiece (about 3% of the main
// thread's time at 160 calls/s). The bytes are the same CSPRNG output, handed out once.

import { randomFillSync } from 'node:crypto';

const POOL = Buffer.allocUnsafe(4096);
let at = POOL.length;

function take(n: number): number {
  if (n > POOL.length) throw new RangeError(`at most ${POOL.length} random bytes at a time`);
  if (at + n > POOL.length) {
    randomFillSync(POOL);
    at = 0;
  }
  const from = at;
  at += n;
  return from;
}

/** `n` random bytes as lowercase hex. */
export function randomHex(n: number): string {
  const from = take(n);
  return POOL.toString('hex', from, from + n);
}

/** `n` random bytes as base64url (no padding). */
export function randomBase64url(n: number): string {
  const from = take(n);
  return POOL.toString('base64url', from, from + n);
}

/** Writes `n` random bytes into `target` at `offset`. */
export function randomInto(target: Buffer, offset: number, n: number): void {
  const from = take(n);
  POOL.copy(target, offset, from, from + n);
}
