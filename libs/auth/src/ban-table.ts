// Failures counted per key in a sliding window, and a ban once they reach a limit
// (fail2ban's idea, kept in memory). The gateway keys authentication failures by
// (source address, user), so one client guessing passwords behind a NAT address is
// banned without locking out its neighbours behind the same address; other limits
// (a per-address flood ban) can key it by address alone.
//
// Both tables are bounded: an attacker rotating keys can make the table forget a
// counter (the oldest), never grow it without limit. Bans are kept apart from
// counters, so a flood of new keys (which only fills the counters) does not lift a
// ban; when bans themselves overflow, the one ending soonest goes.

export interface BanTableOptions {
  /** Failures within `windowMs` that start a ban. */
  maxFailures: number;
  windowMs: number;
  /** How long a ban lasts. */
  banMs: number;
  /** Most keys remembered (counters and bans each). Default 10,000. */
  maxKeys?: number;
  now?: () => number;
}

/** What failure() reports: the failure count in the window, and whether this failure started a ban. */
export interface FailureVerdict {
  failures: number;
  banned: boolean;
  /** True only for the failure that started the ban (log it once). */
  banStarted: boolean;
  /** Epoch ms the ban ends, when banned. */
  bannedUntil?: number;
}

interface Counter {
  /** Failure times within the window, oldest first (at most maxFailures kept). */
  times: number[];
}

export class BanTable {
  private readonly counters = new Map<string, Counter>();
  private readonly bans = new Map<string, number>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly banMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(opts: BanTableOptions) {
    if (!(opts.maxFailures >= 1)) throw new RangeError('BanTable: maxFailures must be at least 1');
    if (!(opts.windowMs > 0) || !(opts.banMs > 0)) throw new RangeError('BanTable: windowMs and banMs must be positive');
    this.maxFailures = opts.maxFailures;
    this.windowMs = opts.windowMs;
    this.banMs = opts.banMs;
    this.maxKeys = opts.maxKeys ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** The epoch ms a ban of `key` ends, or undefined when it is not banned. */
  bannedUntil(key: string): number | undefined {
    const until = this.bans.get(key);
    if (until === undefined) return undefined;
    if (until > this.now()) return until;
    this.bans.delete(key);
    return undefined;
  }

  isBanned(key: string): boolean {
    return this.bannedUntil(key) !== undefined;
  }

  /** Counts one failure of `key`; the one that reaches maxFailures in the window starts a ban. */
  failure(key: string): FailureVerdict {
    const now = this.now();
    const until = this.bannedUntil(key);
    if (until !== undefined) return { failures: this.maxFailures, banned: true, banStarted: false, bannedUntil: until };
    let c = this.counters.get(key);
    if (c === undefined) {
      if (this.counters.size >= this.maxKeys) this.forgetOldestCounter(now);
      c = { times: [] };
    } else {
      // Re-inserted so Map order stays "least recently failed first".
      this.counters.delete(key);
    }
    const since = now - this.windowMs;
    while (c.times.length > 0 && c.times[0]! <= since) c.times.shift();
    c.times.push(now);
    if (c.times.length < this.maxFailures) {
      this.counters.set(key, c);
      return { failures: c.times.length, banned: false, banStarted: false };
    }
    const bannedUntil = now + this.banMs;
    if (this.bans.size >= this.maxKeys) this.forgetSoonestBan();
    this.bans.set(key, bannedUntil);
    return { failures: c.times.length, banned: true, banStarted: true, bannedUntil };
  }

  /**
   * Bans `key` now, whatever its count (a scanner's signature seen): returns the epoch
   * ms the ban ends, or undefined when it was banned already.
   */
  ban(key: string): number | undefined {
    if (this.bannedUntil(key) !== undefined) return undefined;
    const until = this.now() + this.banMs;
    if (this.bans.size >= this.maxKeys) this.forgetSoonestBan();
    this.counters.delete(key);
    this.bans.set(key, until);
    return until;
  }

  /** A success clears the key's failures (a user who finally typed the right password). */
  success(key: string): void {
    this.counters.delete(key);
  }

  /** Lifts a ban (operator action). */
  unban(key: string): boolean {
    this.counters.delete(key);
    return this.bans.delete(key);
  }

  /** Keys with failures counted, and keys banned now. */
  get size(): { counting: number; banned: number } {
    this.sweep();
    return { counting: this.counters.size, banned: this.bans.size };
  }

  /** Drops counters whose window has passed and bans that ended. */
  sweep(): void {
    const now = this.now();
    const since = now - this.windowMs;
    for (const [k, c] of this.counters) if (c.times[c.times.length - 1]! <= since) this.counters.delete(k);
    for (const [k, until] of this.bans) if (until <= now) this.bans.delete(k);
  }

  private forgetOldestCounter(now: number): void {
    const since = now - this.windowMs;
    // The least recently failing key is first; stale ones go before it anyway.
    for (const [k, c] of this.counters) {
      this.counters.delete(k);
      if (c.times[c.times.length - 1]! > since) break;
    }
  }

  private forgetSoonestBan(): void {
    // Every ban lasts banMs, so insertion order is end order: the first ends soonest.
    const first = this.bans.keys().next();
    if (first.done !== true) this.bans.delete(first.value);
  }
}
