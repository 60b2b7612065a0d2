// Toll-fraud guards on calls (issue 8 item 6): what an authenticated client may dial,
// how many calls it and a trunk may hold at once, and how many they may start per
// minute. Checked once the call is routed and before anything is set up (no media
// port, no INVITE to a trunk), each refusal logged with the user, the source and the
// Call-ID. The statuses (RFC 3261 §21), chosen by who can do something about it:
// - the caller's own limits (dial pattern, concurrent calls, call rate) are policy on
//   that user: 403 Forbidden, with a reason naming the rule. 486 would say the callee
//   is busy and 503 that the server is overloaded, and both invite retrying elsewhere;
// - a trunk's limits are a shared resource that is full for now: 503 Service
//   Unavailable with Retry-After (§21.5.4), which lets an upstream proxy or client try
//   another route, and tells a carrier calling in that this gateway is at capacity.
// The guard owns its counters: a call's admission is released once when the call ends.

import type { ConnectionIdentity } from '@trapezoid/auth';
import { BanTable } from '@trapezoid/auth';
import type { GatewayConfig, TrunkConfig } from '../config/index.js';
import type { Logger } from '../logging.js';

export type GuardRule = 'dial-pattern' | 'user-calls' | 'user-rate' | 'trunk-calls' | 'trunk-rate';

/** A refused call: the response to send and the rule that refused it. */
export interface CallRefusal {
  rule: GuardRule;
  status: 403 | 503;
  reason: string;
  /** Seconds, for a 503's Retry-After. */
  retryAfter?: number;
}

/** An admitted call's hold on its counters; release() when the call ends (once). */
export interface CallAdmission {
  release(): void;
}

/** Where the request came from, for the refusal's log line. */
export interface CallFacts {
  callId: string;
  source: string;
  transport: string;
}

const MINUTE_MS = 60_000;

export class CallGuards {
  private readonly userCalls = new Map<string, number>();
  private readonly trunkCalls = new Map<string, number>();
  /** Calls started per key within the last minute; the one over the limit pauses the key for a minute. */
  private readonly userRate: BanTable;
  private readonly trunkRate = new Map<string, BanTable>();
  private readonly users: Map<string, GatewayConfig['users'][number]>;
  private readonly patterns = new Map<string, RegExp[]>();

  constructor(private readonly config: GatewayConfig, private readonly log: Logger, private readonly now: () => number = Date.now) {
    this.users = new Map(config.users.map((u) => [u.username, u]));
    // One table for every user: each user's own limit is applied by counting up to it.
    this.userRate = new BanTable({ maxFailures: Number.MAX_SAFE_INTEGER, windowMs: MINUTE_MS, banMs: MINUTE_MS, now });
  }

  /** Browser -> trunk: the identity's dial patterns and limits, then the trunk's. */
  admitOutbound(identity: ConnectionIdentity, dialled: string, trunk: TrunkConfig | undefined, facts: CallFacts): CallAdmission | CallRefusal {
    const user = identity.user;
    const u = this.users.get(user);
    const configured = u?.dialPatterns;
    if (!matchesAll(dialled, [this.compiled(configured), this.compiled(identity.dialPatterns)])) {
      return this.refuse({ rule: 'dial-pattern', status: 403, reason: 'Dial pattern not allowed' }, { user, dialled, ...facts });
    }
    const maxCalls = u?.maxCalls ?? this.config.security.calls.perUser;
    if ((this.userCalls.get(user) ?? 0) >= maxCalls) {
      return this.refuse({ rule: 'user-calls', status: 403, reason: 'Too many concurrent calls' }, { user, dialled, limit: maxCalls, ...facts });
    }
    const perMinute = u?.callsPerMinute ?? this.config.security.calls.perUserPerMinute;
    if (overRate(this.userRate, user, perMinute)) {
      return this.refuse({ rule: 'user-rate', status: 403, reason: 'Call rate limit reached' }, { user, dialled, limit: perMinute, ...facts });
    }
    const trunkHold = trunk ? this.admitTrunk(trunk, { user, dialled, ...facts }) : undefined;
    if (trunkHold !== undefined && !('release' in trunkHold)) return trunkHold;
    count(this.userCalls, user, 1);
    return once(() => {
      count(this.userCalls, user, -1);
      trunkHold?.release();
    });
  }

  /** Trunk -> browser: the trunk's limits (both directions share them). */
  admitInbound(trunk: TrunkConfig, facts: CallFacts & { called: string }): CallAdmission | CallRefusal {
    return this.admitTrunk(trunk, { ...facts });
  }

  /** Calls held now per user and per trunk (tests, the admin API). */
  holding(): { users: Record<string, number>; trunks: Record<string, number> } {
    return { users: Object.fromEntries(this.userCalls), trunks: Object.fromEntries(this.trunkCalls) };
  }

  private admitTrunk(trunk: TrunkConfig, meta: Record<string, unknown>): CallAdmission | CallRefusal {
    const name = trunk.name;
    if (trunk.maxCalls !== undefined && (this.trunkCalls.get(name) ?? 0) >= trunk.maxCalls) {
      return this.refuse({ rule: 'trunk-calls', status: 503, reason: 'Trunk call limit reached', retryAfter: 5 }, { trunk: name, limit: trunk.maxCalls, ...meta });
    }
    if (trunk.callsPerMinute !== undefined) {
      let table = this.trunkRate.get(name);
      if (!table) {
        table = new BanTable({ maxFailures: Number.MAX_SAFE_INTEGER, windowMs: MINUTE_MS, banMs: MINUTE_MS, now: this.now });
        this.trunkRate.set(name, table);
      }
      if (overRate(table, name, trunk.callsPerMinute)) {
        return this.refuse({ rule: 'trunk-rate', status: 503, reason: 'Trunk call rate limit reached', retryAfter: 60 }, { trunk: name, limit: trunk.callsPerMinute, ...meta });
      }
    }
    count(this.trunkCalls, name, 1);
    return once(() => count(this.trunkCalls, name, -1));
  }

  private refuse(r: CallRefusal, meta: Record<string, unknown>): CallRefusal {
    this.log.warn('call refused', { event: 'call-refused', rule: r.rule, status: r.status, reason: r.reason, ...meta });
    return r;
  }

  private compiled(list: readonly string[] | undefined): RegExp[] | undefined {
    if (list === undefined) return undefined;
    const key = list.join('\n');
    let res = this.patterns.get(key);
    if (!res) {
      // Anchored: a pattern names whole numbers, so "^00" cannot be dodged with a prefix.
      // A pattern that does not compile (a credential's claim) matches nothing.
      res = list.map((p) => {
        try {
          return new RegExp(`^(?:${p})$`);
        } catch {
          return /(?!)/;
        }
      });
      this.patterns.set(key, res);
    }
    return res;
  }
}

/** Every present list must have a pattern the number matches (the config's and the credential's). */
function matchesAll(dialled: string, lists: Array<RegExp[] | undefined>): boolean {
  return lists.every((l) => l === undefined || l.some((re) => re.test(dialled)));
}

/**
 * Counts one call start for `key` within the minute; true when it is over `limit`
 * (the start is then refused and the key paused for the rest of a minute).
 */
function overRate(table: BanTable, key: string, limit: number): boolean {
  if (table.isBanned(key)) return true;
  const v = table.failure(key);
  if (v.failures <= limit) return false;
  table.ban(key);
  return true;
}

function count(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

function once(fn: () => void): CallAdmission {
  let done = false;
  return { release: () => { if (!done) { done = true; fn(); } } };
}
