// Where a digest server remembers which nonce-counts it has accepted (RFC 7616 §3.4:
// "the server can ... detect replays by ensuring the nc value is incremented"). The
// nonces themselves stay stateless (nonce.ts); only nonces that were *used* are
// recorded, and only for as long as they are valid, so the table is bounded by the
// request rate times the nonce lifetime.
//
// The store is an interface because the answer must be shared: in a cluster a nonce
// accepted by one node must not be accepted again by another, so the cluster store
// (libs/cluster) backs it with Redis (an atomic "set if greater" per nonce, expiring
// with the nonce). `use()` may return a promise for that reason. The in-memory store
// below serves one process.

/**
 * The nonce-count memory of a digest server. `use()` records one accepted use of a
 * nonce and says whether it is new; it must be atomic per nonce across every server
 * that shares the store (two nodes racing with the same nc: exactly one wins).
 */
export interface NonceUseStore {
  /**
   * Records nonce-count `nc` for `nonce` (a request without qop counts as nc 1: its
   * nonce is single-use). True when `nc` is above every count recorded before for this
   * nonce (first use included), false for a replay. `issuedAtMs` is when the nonce was
   * minted, `expiresAtMs` when it stops being valid: nothing need be kept after that.
   */
  use(nonce: string, nc: number, issuedAtMs: number, expiresAtMs: number): boolean | Promise<boolean>;
}

interface Entry {
  nc: number;
  issuedAtMs: number;
  expiresAtMs: number;
}

/**
 * One process's nonce-count table, at most `maxNonces` entries. Expired entries are
 * dropped as they come to the front; when the table is full, the oldest by first use.
 * Forgetting a live nonce must not reopen it to replay, so the store remembers the
 * newest issue time it ever evicted (the floor): a nonce minted at or before the floor
 * that is not in the table is refused as a replay. Its client gets stale=true and
 * retries with a fresh nonce, so a flood of used nonces costs honest clients one
 * round trip, never a replay window.
 */
export class MemoryNonceUseStore implements NonceUseStore {
  private readonly entries = new Map<string, Entry>();
  private floorMs = -Infinity;

  constructor(private readonly maxNonces = 10_000, private readonly now: () => number = Date.now) {
    if (!(maxNonces >= 1)) throw new RangeError('MemoryNonceUseStore: maxNonces must be at least 1');
  }

  use(nonce: string, nc: number, issuedAtMs: number, expiresAtMs: number): boolean {
    this.dropExpired(this.now());
    const e = this.entries.get(nonce);
    if (e !== undefined) {
      if (nc <= e.nc) return false;
      e.nc = nc;
      return true;
    }
    if (issuedAtMs <= this.floorMs) return false;
    while (this.entries.size >= this.maxNonces) {
      // Map iteration is insertion (first use) order: forget the oldest, raise the floor.
      const [k, oldest] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(k);
      if (oldest.issuedAtMs > this.floorMs) this.floorMs = oldest.issuedAtMs;
    }
    this.entries.set(nonce, { nc, issuedAtMs, expiresAtMs });
    return true;
  }

  /** Nonces currently remembered. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Expired entries gather at the front (first-use order follows issue order closely):
   * dropping them there costs amortised O(1) per use, and the table shrinks back
   * once a burst is over.
   */
  private dropExpired(now: number): void {
    for (const [k, e] of this.entries) {
      if (e.expiresAtMs > now) break;
      this.entries.delete(k);
    }
  }
}
