// Digest authentication on the server side (RFC 3261 §22.1-§22.4, RFC 7616 §3.3-§3.5,
// RFC 8760): issues challenges, one per offered algorithm, and verifies credentials
// against stateless nonces (nonce.ts).

import { timingSafeEqual } from 'node:crypto';
import { formatChallenge } from './challenge.js';
import { parseCredentials, type DigestCredentials } from './credentials.js';
import {
  baseAlgorithm, computeHA1, computeResponse, hashHexLength, normalizeAlgorithm, type DigestAlgorithm,
} from './hash.js';
import { NonceMint } from './nonce.js';

/** What a user store returns: the password, or HA1 = H(username:realm:password). */
export interface DigestUserRecord {
  password?: string;
  /**
   * One HA1 (its hex length tells MD5 from SHA-256/SHA-512-256) or one per base
   * algorithm. An HA1 cannot serve an algorithm it was not made with.
   */
  ha1?: string | Partial<Record<'MD5' | 'SHA-256' | 'SHA-512-256', string>>;
}

export type DigestLookup = (username: string, realm: string) =>
  Promise<DigestUserRecord | undefined> | DigestUserRecord | undefined;

export interface DigestServerOptions {
  realm: string;
  /** HMAC key for nonces; random per instance if absent (share it across a cluster). */
  secret?: Buffer;
  /** Nonce lifetime; older nonces with a right response get a stale=true challenge. Default 300. */
  nonceTtlSec?: number;
  /** Offered algorithms, most preferred first (RFC 8760 §2.4). Default SHA-256, MD5. */
  algorithms?: DigestAlgorithm[];
  /** qop-options offered. Default ['auth']; 'auth-int' is verified only when verify() gets the body. */
  qop?: string[];
  lookup: DigestLookup;
  /**
   * Status for a wrong password or unknown user: 403 ends the attempt, 401 sends a
   * fresh challenge (RFC 3261 §22.4 allows either). Default 403.
   */
  wrongPasswordStatus?: 401 | 403;
  /**
   * Accept credentials without qop (RFC 2069 form, RFC 3261 §22.4 backward
   * compatibility). Default true.
   */
  allowNoQop?: boolean;
  /** Require digest-uri to equal the Request-URI (RFC 7616 §3.4.6). Default true. */
  checkUri?: boolean;
  /**
   * Reject a nonce-count not above the highest seen for the nonce (replay, RFC 7616
   * §3.4). Off by default: the server is then fully stateless and a captured request
   * can be replayed until its nonce expires (the TTL bounds the window); on, it keeps
   * the highest nc of up to `maxTrackedNonces` nonces and answers replays stale=true.
   */
  rejectReplayedNc?: boolean;
  maxTrackedNonces?: number;
}

export interface DigestVerifyRequest {
  method: string;
  uri: string;
  authorization: string | undefined;
  body?: Buffer;
}

export type DigestVerifyResult =
  | { ok: true; username: string; credentials: DigestCredentials }
  | {
    ok: false;
    /** Send a new challenge with stale=true: the password was right. */
    stale: boolean;
    reason: string;
    /** The response to send: 401 with challenge(stale), 403, or 400 for malformed credentials. */
    status: 400 | 401 | 403;
  };

export class DigestServer {
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  private readonly qop: readonly string[];
  private readonly mint: NonceMint;
  private readonly ttlMs: number;
  private readonly lookup: DigestLookup;
  private readonly wrongPasswordStatus: 401 | 403;
  private readonly allowNoQop: boolean;
  private readonly checkUri: boolean;
  private readonly ncSeen: Map<string, number> | undefined;
  private readonly maxTracked: number;

  constructor(opts: DigestServerOptions) {
    this.realm = opts.realm;
    this.algorithms = opts.algorithms ?? ['SHA-256', 'MD5'];
    if (this.algorithms.length === 0) throw new RangeError('DigestServer: no algorithms');
    for (const a of this.algorithms) {
      if (normalizeAlgorithm(a) !== a) throw new RangeError(`DigestServer: unsupported algorithm ${a}`);
    }
    this.qop = opts.qop ?? ['auth'];
    this.mint = new NonceMint(opts.secret ?? NonceMint.randomSecret(), opts.realm);
    this.ttlMs = (opts.nonceTtlSec ?? 300) * 1000;
    this.lookup = opts.lookup;
    this.wrongPasswordStatus = opts.wrongPasswordStatus ?? 403;
    this.allowNoQop = opts.allowNoQop ?? true;
    this.checkUri = opts.checkUri ?? true;
    this.ncSeen = opts.rejectReplayedNc ? new Map() : undefined;
    this.maxTracked = opts.maxTrackedNonces ?? 10000;
  }

  /** WWW-Authenticate (or Proxy-Authenticate) values, one per offered algorithm. */
  challenge(stale = false): string[] {
    const nonce = this.mint.issue();
    return this.algorithms.map((algorithm) =>
      formatChallenge({ realm: this.realm, nonce, algorithm, qop: [...this.qop], stale }));
  }

  async verify(req: DigestVerifyRequest): Promise<DigestVerifyResult> {
    if (req.authorization === undefined) return fail('no credentials', 401);
    let c: DigestCredentials;
    try {
      c = parseCredentials(req.authorization);
    } catch (e) {
      return fail((e as Error).message, 400);
    }
    // Credentials for another realm are not ours to judge (RFC 3261 §22.3).
    if (c.realm !== this.realm) return fail(`credentials for realm ${c.realm}`, 401);
    const algorithm = normalizeAlgorithm(c.algorithm);
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) {
      return fail(`algorithm ${c.algorithm} not offered`, 401);
    }
    if (c.qop === undefined) {
      if (!this.allowNoQop) return fail('qop missing', 401);
    } else if (!this.qop.includes(c.qop) || (c.qop === 'auth-int' && req.body === undefined)) {
      return fail(`qop ${c.qop} not offered`, 401);
    } else if (!/^[0-9a-fA-F]{8}$/.test(c.nc!)) {
      return fail('bad nonce-count', 400);
    }
    if (this.checkUri && c.uri !== req.uri) return fail('digest-uri does not match the Request-URI', 400);

    const record = await this.lookup(c.username, c.realm);
    const ha1 = record === undefined ? undefined : this.ha1For(record, algorithm, c.username);
    const nonce = this.mint.check(c.nonce);
    if (ha1 === undefined) {
      return fail(record === undefined ? 'unknown user' : `no HA1 for ${algorithm}`, this.wrongPasswordStatus);
    }
    const expected = computeResponse({
      algorithm, ha1, nonce: c.nonce, method: req.method, uri: c.uri, qop: c.qop, nc: c.nc,
      cnonce: c.cnonce, body: req.body,
    });
    const right = expected.length === c.response.length &&
      timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(c.response, 'latin1'));
    if (!right) {
      // A wrong response over a nonce we never issued proves nothing about the password.
      if (!nonce.valid) return fail(`invalid nonce (${nonce.reason})`, 401);
      return fail('wrong password', this.wrongPasswordStatus);
    }
    // Right password but a nonce we cannot vouch for (expired, or minted under
    // another secret, e.g. before a restart): stale=true so the client retries with
    // a fresh nonce without asking the user again (RFC 2617 §3.2.1, RFC 7616 §3.3).
    if (!nonce.valid) return { ok: false, stale: true, reason: `invalid nonce (${nonce.reason})`, status: 401 };
    if (nonce.ageMs > this.ttlMs) return { ok: false, stale: true, reason: 'nonce expired', status: 401 };
    if (this.ncSeen !== undefined && c.nc !== undefined && !this.acceptNc(c.nonce, parseInt(c.nc, 16))) {
      return { ok: false, stale: true, reason: 'replayed nonce-count', status: 401 };
    }
    return { ok: true, username: c.username, credentials: c };
  }

  private ha1For(record: DigestUserRecord, algorithm: DigestAlgorithm, username: string): string | undefined {
    const base = baseAlgorithm(algorithm);
    if (record.password !== undefined) return computeHA1(base, username, this.realm, record.password);
    const h = record.ha1;
    if (h === undefined) return undefined;
    if (typeof h === 'string') {
      // An MD5 HA1 and a SHA-256 HA1 differ in length; SHA-256 and SHA-512-256 do not,
      // so a bare 64-digit HA1 is taken as SHA-256.
      if (h.length !== hashHexLength(base) || base === 'SHA-512-256') return undefined;
      return h.toLowerCase();
    }
    return h[base]?.toLowerCase();
  }

  private acceptNc(nonce: string, nc: number): boolean {
    const seen = this.ncSeen!;
    const last = seen.get(nonce);
    if (last !== undefined && nc <= last) return false;
    if (last === undefined && seen.size >= this.maxTracked) {
      // Map iteration is insertion order: drop the oldest nonce.
      const oldest = seen.keys().next().value as string;
      seen.delete(oldest);
    }
    seen.set(nonce, nc);
    return true;
  }
}

function fail(reason: string, status: 400 | 401 | 403): DigestVerifyResult {
  return { ok: false, stale: false, reason, status };
}
