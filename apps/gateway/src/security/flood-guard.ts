// Per-address request rate limit with a ban (Kamailio pike's idea): every request is
// counted against its source address before any transaction exists, and an address
// that sends more than `requests` in `window` seconds is ignored for `ban` seconds:
// its requests are dropped unanswered, so a flood costs a parse and a table lookup and
// reflects nothing. Trunks' source addresses and configured CIDR blocks (a call centre
// behind one NAT address) are never limited. The table is bounded (libs/auth BanTable):
// a spoofed flood from many addresses makes it forget the oldest, never grow.

import { BanTable, CidrSet } from '@trapezoid/auth';
import type { Logger } from '../logging.js';

export interface FloodGuardOptions {
  requests: number;
  windowSeconds: number;
  banSeconds: number;
  tableSize: number;
  exempt: readonly string[];
  /** Trunk addresses: exempt too (asked once per address, then cached). */
  isTrunkAddress: (address: string) => boolean;
  log: Logger;
  now?: () => number;
}

/** What the log says about the request that tipped an address over. */
export interface RequestFacts {
  method: string;
  callId: string;
  source: string;
  transport: string;
}

/** Most exemption decisions cached; beyond it the cache starts over. */
const EXEMPT_CACHE_SIZE = 10_000;

export class FloodGuard {
  private readonly table: BanTable;
  private readonly exemptBlocks: CidrSet;
  private readonly exemptCache = new Map<string, boolean>();
  private readonly opts: FloodGuardOptions;
  /** Requests dropped because their address was banned, and bans started. */
  readonly counters = { dropped: 0, bans: 0 };

  constructor(opts: FloodGuardOptions) {
    this.opts = opts;
    // The request one over the limit starts the ban (BanTable bans at its count).
    this.table = new BanTable({
      maxFailures: opts.requests + 1, windowMs: opts.windowSeconds * 1000, banMs: opts.banSeconds * 1000, maxKeys: opts.tableSize,
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.exemptBlocks = new CidrSet(opts.exempt);
  }

  /** Counts one request from `address`; false when it is to be dropped. */
  admit(address: string, facts: RequestFacts): boolean {
    if (this.exempt(address)) return true;
    const v = this.table.failure(address);
    if (!v.banned) return true;
    this.counters.dropped++;
    if (v.banStarted) {
      this.counters.bans++;
      this.opts.log.warn('request flood: address banned', {
        event: 'flood-banned', address, ...facts, requests: v.failures, windowSeconds: this.opts.windowSeconds,
        until: new Date(v.bannedUntil!).toISOString(),
      });
    }
    return false;
  }

  /**
   * Bans `address` now (a scanner): 'started' for a new ban (log it once), 'banned'
   * when it already was, 'exempt' for an address never banned (its requests are still
   * refused one by one).
   */
  ban(address: string): 'started' | 'banned' | 'exempt' {
    if (this.exempt(address)) return 'exempt';
    if (this.table.ban(address) === undefined) return 'banned';
    this.counters.bans++;
    return 'started';
  }

  /** Addresses banned now. */
  get banned(): number {
    return this.table.size.banned;
  }

  private exempt(address: string): boolean {
    let e = this.exemptCache.get(address);
    if (e === undefined) {
      e = this.exemptBlocks.has(address) || this.opts.isTrunkAddress(address);
      if (this.exemptCache.size >= EXEMPT_CACHE_SIZE) this.exemptCache.clear();
      this.exemptCache.set(address, e);
    }
    return e;
  }
}
