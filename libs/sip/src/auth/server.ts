// Digest authentication on the server side (RFC 3261 §22.1-§22.4, RFC 7616 §3.3-§3.5,
// RFC 8760): issues challenges, one per offered algorithm, and verifies credentials
// against stateless nonces (nonce.ts) whose accepted nonce-counts are remembered
// (nonce-use.ts), so a captured Authorization cannot be replayed.
//
// What an outsider can learn is kept to nothing: an unknown user, a wrong password and
// a forged nonce fail with the same status (and the same hashing work: an unknown user
// is checked against a decoy password), and the failure's `reason` is for the log only.
// Only a client that knows the password hears more (stale=true: retry with a fresh
// nonce), which is what RFC 7616 §3.3 designed stale for.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { formatChallenge } from './challenge.js';
import { parseCredentials, type DigestCredentials } from './credentials.js';
import {
  baseAlgorithm, computeHA1, computeResponse, hashHexLength, normalizeAlgorithm, type DigestAlgorithm,
} from './hash.js';
import { SipError } from '../message/index.js';
import { NonceMint } from './nonce.js';
import { MemoryNonceUseStore, type NonceUseStore } from './nonce-use.js';

/** What a user store returns: the password(s), or HA1 = H(username:realm:password). */
export interface DigestUserRecord {
  password?: string;
  /**
   * Several passwords, any of which is right: ephemeral credentials derive one per
   * secret while secrets rotate (libs/auth). Each costs one more hash per check.
   */
  passwords?: readonly string[];
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
  /**
   * Nonce lifetime in seconds; an older nonce with a right response gets a stale=true
   * challenge, which clients answer at once without asking the user. Default 60.
   */
  nonceTtlSec?: number;
  /** Offered algorithms, most preferred first (RFC 8760 §2.4). Default SHA-256, MD5. */
  algorithms?: DigestAlgorithm[];
  /** qop-options offered. Default ['auth']; 'auth-int' is verified only when verify() gets the body. */
  qop?: string[];
  lookup: DigestLookup;
  /**
   * Status of every failed authentication, whether the user is unknown, the password
   * wrong or the nonce forged: 401 sends a fresh challenge (RFC 3261 §22.2, §22.3
   * SHOULD), 403 ends the attempt. Default 403.
   */
  wrongPasswordStatus?: 401 | 403;
  /**
   * Accept credentials without qop (RFC 2069 form, RFC 3261 §22.4 backward
   * compatibility); their nonce is then single-use. Default true.
   */
  allowNoQop?: boolean;
  /** Require digest-uri to equal the Request-URI (RFC 7616 §3.4.6). Default true. */
  checkUri?: boolean;
  /**
   * Where accepted nonce-counts are remembered: a nonce-count not above the highest
   * accepted for its nonce is a replay, answered stale=true. Default: a
   * MemoryNonceUseStore of 10,000 nonces; a cluster passes one shared by its nodes.
   * `false` makes the server fully stateless: a captured request can then be replayed
   * until its nonce expires.
   */
  nonceUses?: NonceUseStore | false;
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
    /**
     * Why, for the server's log only: it tells an unknown user from a wrong password,
     * so it must never be sent (reply with the status's standard phrase).
     */
    reason: string;
    /** The response to send: 401 with challenge(stale), 403, or 400 for malformed credentials. */
    status: 400 | 401 | 403;
    /** The user name the credentials claimed, when they parsed. */
    username?: string;
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
  private readonly nonceUses: NonceUseStore | undefined;
  /** Checked against when the user is unknown, so that costs the same hashing. */
  private readonly decoyPassword = randomBytes(16).toString('hex');

  constructor(opts: DigestServerOptions) {
    this.realm = opts.realm;
    this.algorithms = opts.algorithms ?? ['SHA-256', 'MD5'];
    if (this.algorithms.length === 0) throw new RangeError('DigestServer: no algorithms');
    for (const a of this.algorithms) {
      if (normalizeAlgorithm(a) !== a) throw new RangeError(`DigestServer: unsupported algorithm ${a}`);
    }
    this.qop = opts.qop ?? ['auth'];
    this.mint = new NonceMint(opts.secret ?? NonceMint.randomSecret(), opts.realm);
    this.ttlMs = (opts.nonceTtlSec ?? 60) * 1000;
    this.lookup = opts.lookup;
    this.wrongPasswordStatus = opts.wrongPasswordStatus ?? 403;
    this.allowNoQop = opts.allowNoQop ?? true;
    this.checkUri = opts.checkUri ?? true;
    this.nonceUses = opts.nonceUses === false ? undefined : (opts.nonceUses ?? new MemoryNonceUseStore());
  }

  /** WWW-Authenticate (or Proxy-Authenticate) values, one per offered algorithm. */
  challenge(stale = false): string[] {
    const nonce = this.mint.issue();
    return this.algorithms.map((algorithm) =>
      formatChallenge({ realm: this.realm, nonce, algorithm, qop: [...this.qop], stale }));
  }

  async verify(req: DigestVerifyRequest): Promise<DigestVerifyResult> {
    if (req.authorization === undefined) return fail('no credentials', 401);
    // Credentials of a scheme we do not know are none we can check: challenge (RFC 4475
    // regaut01, RFC 3261 §22.1), rather than refuse the request.
    const scheme = /^\s*([^\s,]+)/.exec(req.authorization)?.[1] ?? '';
    if (scheme.toLowerCase() !== 'digest') return fail(`credentials of the unknown scheme ${scheme || '(none)'}`, 401);
    let c: DigestCredentials;
    try {
      c = parseCredentials(req.authorization);
    } catch (e) {
      return fail(e instanceof SipError ? e.reason : 'Bad Authorization Header', 400);
    }
    const user = c.username;
    // Credentials for another realm are not ours to judge (RFC 3261 §22.3).
    if (c.realm !== this.realm) return fail(`credentials for realm ${c.realm}`, 401, user);
    const algorithm = normalizeAlgorithm(c.algorithm);
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) {
      return fail(`algorithm ${c.algorithm} not offered`, 401, user);
    }
    if (c.qop === undefined) {
      if (!this.allowNoQop) return fail('qop missing', 401, user);
    } else if (!this.qop.includes(c.qop) || (c.qop === 'auth-int' && req.body === undefined)) {
      return fail(`qop ${c.qop} not offered`, 401, user);
    } else if (!/^[0-9a-fA-F]{8}$/.test(c.nc!)) {
      return fail('bad nonce-count', 400, user);
    }
    if (this.checkUri && c.uri !== req.uri) return fail('digest-uri does not match the Request-URI', 400, user);

    const record = await this.lookup(user, c.realm);
    const ha1s = this.ha1sFor(record ?? { password: this.decoyPassword }, algorithm, user);
    const nonce = this.mint.check(c.nonce);
    let right = false;
    for (const ha1 of ha1s) {
      const expected = computeResponse({
        algorithm, ha1, nonce: c.nonce, method: req.method, uri: c.uri, qop: c.qop, nc: c.nc,
        cnonce: c.cnonce, body: req.body,
      });
      // Every candidate is computed and compared: the time does not say which matched.
      if (expected.length === c.response.length &&
        timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(c.response, 'latin1'))) right = true;
    }
    if (record === undefined || !right) {
      // One status for all three: a wrong response over a nonce we never issued proves
      // nothing about the password, and must not tell a known user from an unknown one.
      const why = record === undefined ? 'unknown user'
        : ha1s.length === 0 ? `no HA1 for ${algorithm}`
          : !nonce.valid ? `wrong response over an invalid nonce (${nonce.reason})` : 'wrong password';
      return fail(why, this.wrongPasswordStatus, user);
    }
    // Right password but a nonce we cannot vouch for (expired, or minted under
    // another secret, e.g. before a restart): stale=true so the client retries with
    // a fresh nonce without asking the user again (RFC 2617 §3.2.1, RFC 7616 §3.3).
    if (!nonce.valid) return staleFail(`invalid nonce (${nonce.reason})`, user);
    if (nonce.ageMs > this.ttlMs) return staleFail('nonce expired', user);
    if (this.nonceUses !== undefined) {
      const nc = c.nc === undefined ? 1 : parseInt(c.nc, 16);
      const fresh = await this.nonceUses.use(c.nonce, nc, nonce.issuedAtMs, nonce.issuedAtMs + this.ttlMs);
      // RFC 7616 §3.4: a nonce-count not incremented is a replay; stale=true lets the
      // honest client (whose request this may be, resent) recover with a fresh nonce.
      if (!fresh) return staleFail('replayed nonce-count', user);
    }
    return { ok: true, username: user, credentials: c };
  }

  private ha1sFor(record: DigestUserRecord, algorithm: DigestAlgorithm, username: string): string[] {
    const base = baseAlgorithm(algorithm);
    if (record.password !== undefined) return [computeHA1(base, username, this.realm, record.password)];
    if (record.passwords !== undefined) return record.passwords.map((p) => computeHA1(base, username, this.realm, p));
    const h = record.ha1;
    if (h === undefined) return [];
    if (typeof h === 'string') {
      // An MD5 HA1 and a SHA-256 HA1 differ in length; SHA-256 and SHA-512-256 do not,
      // so a bare 64-digit HA1 is taken as SHA-256.
      if (h.length !== hashHexLength(base) || base === 'SHA-512-256') return [];
      return [h.toLowerCase()];
    }
    const one = h[base];
    return one === undefined ? [] : [one.toLowerCase()];
  }
}

function fail(reason: string, status: 400 | 401 | 403, username?: string): DigestVerifyResult {
  return username === undefined ? { ok: false, stale: false, reason, status } : { ok: false, stale: false, reason, status, username };
}

function staleFail(reason: string, username: string): DigestVerifyResult {
  return { ok: false, stale: true, reason, status: 401, username };
}
