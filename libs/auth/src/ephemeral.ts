// Ephemeral credentials in the scheme of Kamailio's auth_ephemeral and the TURN REST
// API (draft-uberti-behave-turn-rest-00), the design trapezoid comes from: a web
// service that shares a secret with the gateway hands its user a user name carrying an
// expiry, `<expiry>:<user>` (the older form: `<user>:<expiry>`, expiry in UNIX seconds),
// and the password base64(HMAC(secret, user name)) with SHA-1 (the draft's) or SHA-256.
// The gateway keeps no account: it derives the password from the user name. Several
// secrets are accepted at once so the shared one can be rotated without a cut.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ConnectionIdentity } from './identity.js';

export type EphemeralFormat = 'expiry:user' | 'user:expiry';
export type EphemeralAlgorithm = 'sha1' | 'sha256';

export interface EphemeralOptions {
  /** Shared secrets, newest first; a credential made with any of them is accepted. */
  secrets: readonly string[];
  /** HMAC hash. Default sha1 (the draft's and auth_ephemeral's default). */
  algorithm?: EphemeralAlgorithm;
  /** User name layout. Default `expiry:user` (the draft's; auth_ephemeral's username_format 1). */
  format?: EphemeralFormat;
  now?: () => number;
}

/** A parsed ephemeral user name. */
export interface EphemeralName {
  /** The user part the credential is for (before any `@`). */
  user: string;
  /** The domain, when the web service issued `user@domain`. */
  domain?: string;
  /** Epoch ms. */
  expiresAt: number;
}

export type EphemeralCheck =
  | { ok: true; identity: ConnectionIdentity }
  | { ok: false; why: 'malformed' | 'expired' | 'wrong password' };

/** base64(HMAC(secret, username)): the password of an ephemeral user name. */
export function ephemeralPassword(secret: string, username: string, algorithm: EphemeralAlgorithm = 'sha1'): string {
  return createHmac(algorithm, secret).update(username, 'utf8').digest('base64');
}

export interface MintOptions {
  secret: string;
  user: string;
  /** Seconds from now. */
  ttl: number;
  algorithm?: EphemeralAlgorithm;
  format?: EphemeralFormat;
  now?: number;
}

/** A credential as the web service hands it out (the TURN REST response's fields). */
export function mintEphemeral(o: MintOptions): { username: string; password: string; ttl: number } {
  const expiry = Math.floor((o.now ?? Date.now()) / 1000) + Math.round(o.ttl);
  const username = (o.format ?? 'expiry:user') === 'expiry:user' ? `${expiry}:${o.user}` : `${o.user}:${expiry}`;
  return { username, password: ephemeralPassword(o.secret, username, o.algorithm), ttl: o.ttl };
}

export class EphemeralCredentials {
  private readonly secrets: readonly string[];
  private readonly algorithm: EphemeralAlgorithm;
  private readonly format: EphemeralFormat;
  private readonly now: () => number;

  constructor(opts: EphemeralOptions) {
    if (opts.secrets.length === 0) throw new RangeError('EphemeralCredentials: at least one secret');
    this.secrets = opts.secrets;
    this.algorithm = opts.algorithm ?? 'sha1';
    this.format = opts.format ?? 'expiry:user';
    this.now = opts.now ?? Date.now;
  }

  /** The parts of an ephemeral user name, or undefined when it is not one (a static user's name). */
  parse(username: string): EphemeralName | undefined {
    const colon = this.format === 'expiry:user' ? username.indexOf(':') : username.lastIndexOf(':');
    if (colon <= 0 || colon === username.length - 1) return undefined;
    const [expiryText, who] = this.format === 'expiry:user'
      ? [username.slice(0, colon), username.slice(colon + 1)]
      : [username.slice(colon + 1), username.slice(0, colon)];
    if (!/^\d{1,12}$/.test(expiryText)) return undefined;
    const at = who.indexOf('@');
    const user = at === -1 ? who : who.slice(0, at);
    if (user.length === 0) return undefined;
    const name: EphemeralName = { user, expiresAt: Number(expiryText) * 1000 };
    if (at !== -1 && at < who.length - 1) name.domain = who.slice(at + 1).toLowerCase();
    return name;
  }

  /** True when the name's expiry has passed. */
  expired(name: EphemeralName): boolean {
    return name.expiresAt <= this.now();
  }

  /** One password per secret (what a digest check tries, RFC 3261 §22 with a derived password). */
  passwords(username: string): string[] {
    return this.secrets.map((s) => ephemeralPassword(s, username, this.algorithm));
  }

  /** The identity the credential proves, or why not (auth_ephemeral's autheph_authenticate). */
  verify(username: string, password: string): EphemeralCheck {
    const name = this.parse(username);
    if (name === undefined) return { ok: false, why: 'malformed' };
    const given = Buffer.from(password, 'utf8');
    let right = false;
    // Every secret is tried: the time does not say which one matched.
    for (const p of this.passwords(username)) {
      const expected = Buffer.from(p, 'utf8');
      if (expected.length === given.length && timingSafeEqual(expected, given)) right = true;
    }
    if (!right) return { ok: false, why: 'wrong password' };
    // Checked after the password, so only the holder of a real credential learns it expired.
    if (this.expired(name)) return { ok: false, why: 'expired' };
    return { ok: true, identity: this.identity(name) };
  }

  identity(name: EphemeralName): ConnectionIdentity {
    const id: ConnectionIdentity = { user: name.user, method: 'ephemeral', expiresAt: name.expiresAt };
    if (name.domain !== undefined) id.domain = name.domain;
    return id;
  }
}
