// Digest credentials in Authorization / Proxy-Authorization (RFC 3261 §22.2, §22.3,
// §20.7; RFC 7616 §3.4) and the client side that computes them.

import { randomBase64url } from '../message/random.js';
import { SipError } from '../message/index.js';
import { parseAuthParams, quote } from './params.js';
import { computeHA1, computeResponse, normalizeAlgorithm, type DigestAlgorithm } from './hash.js';
import { chooseChallenge, parseChallenge, type DigestChallenge } from './challenge.js';

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  /** Canonical name when supported, else as received; MD5 when absent. */
  algorithm: DigestAlgorithm | string;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  /** nonce-count as sent: 8 hex digits. */
  nc?: string;
}

export interface DigestRequest {
  method: string;
  /** The Request-URI exactly as it will be sent (it becomes digest-uri). */
  uri: string;
  body?: Buffer;
}

export interface UserCredentials {
  username: string;
  password: string;
}

/** Parses credentials; throws SipError(400) when a required field is missing. */
export function parseCredentials(headerValue: string): DigestCredentials {
  const { scheme, params } = parseAuthParams(headerValue);
  if (scheme.toLowerCase() !== 'digest') throw new SipError(400, `Unsupported Auth Scheme ${scheme}`);
  const get = (name: string): string => {
    const v = params.get(name);
    if (v === undefined) throw new SipError(400, `Bad Authorization Header: missing ${name}`);
    return v;
  };
  const rawAlg = params.get('algorithm');
  const c: DigestCredentials = {
    username: get('username'),
    realm: get('realm'),
    nonce: get('nonce'),
    uri: get('uri'),
    response: get('response').toLowerCase(),
    algorithm: normalizeAlgorithm(rawAlg) ?? rawAlg!,
  };
  const qop = params.get('qop');
  if (qop !== undefined) {
    c.qop = qop.toLowerCase();
    // RFC 7616 §3.4: cnonce and nc MUST be present when qop is.
    c.cnonce = get('cnonce');
    c.nc = get('nc');
  } else {
    const cnonce = params.get('cnonce');
    if (cnonce !== undefined) c.cnonce = cnonce;
  }
  const opaque = params.get('opaque');
  if (opaque !== undefined) c.opaque = opaque;
  return c;
}

/** Serializes credentials; qop, nc and algorithm are tokens (RFC 3261 §25.1), the rest quoted. */
export function formatCredentials(c: DigestCredentials): string {
  let s = `Digest username=${quote(c.username)}, realm=${quote(c.realm)}, nonce=${quote(c.nonce)}` +
    `, uri=${quote(c.uri)}, response=${quote(c.response)}, algorithm=${c.algorithm}`;
  if (c.cnonce !== undefined) s += `, cnonce=${quote(c.cnonce)}`;
  if (c.opaque !== undefined) s += `, opaque=${quote(c.opaque)}`;
  if (c.qop !== undefined) s += `, qop=${c.qop}, nc=${c.nc}`;
  return s;
}

/** nonce-count as 8 lowercase hex digits (RFC 7616 §3.4). */
export function formatNc(nc: number): string {
  return (nc >>> 0).toString(16).padStart(8, '0');
}

export interface AuthorizationOptions {
  /** Fixed client nonce, for test vectors; random (96 bits) otherwise. */
  cnonce?: string;
}

/**
 * The Authorization / Proxy-Authorization value answering `challenge` for `req`.
 * qop=auth is preferred; auth-int is used only when it is the sole option (it
 * hashes req.body). `nc` is the count of requests sent with this nonce, from 1:
 * DigestClient keeps it; a caller using this directly must count itself.
 */
export function createAuthorization(
  challenge: string | DigestChallenge,
  req: DigestRequest,
  creds: UserCredentials,
  nc = 1,
  opts: AuthorizationOptions = {},
): string {
  const c = typeof challenge === 'string' ? parseChallenge(challenge) : challenge;
  const algorithm = normalizeAlgorithm(c.algorithm);
  if (algorithm === undefined) throw new SipError(400, `Unsupported digest algorithm ${c.algorithm}`);
  let qop: string | undefined;
  if (c.qop !== undefined) {
    if (c.qop.includes('auth')) qop = 'auth';
    else if (c.qop.includes('auth-int')) qop = 'auth-int';
    else throw new SipError(400, `Unsupported qop ${c.qop.join(',')}`);
  }
  const needCnonce = qop !== undefined || algorithm.endsWith('-sess');
  const cnonce = needCnonce ? (opts.cnonce ?? randomBase64url(12)) : undefined;
  const ncHex = qop !== undefined ? formatNc(nc) : undefined;
  const ha1 = computeHA1(algorithm, creds.username, c.realm, creds.password);
  const response = computeResponse({
    algorithm, ha1, nonce: c.nonce, method: req.method, uri: req.uri, qop, nc: ncHex, cnonce,
    body: req.body,
  });
  const out: DigestCredentials = {
    username: creds.username, realm: c.realm, nonce: c.nonce, uri: req.uri, response, algorithm,
  };
  if (cnonce !== undefined) out.cnonce = cnonce;
  if (c.opaque !== undefined) out.opaque = c.opaque;
  if (qop !== undefined) {
    out.qop = qop;
    out.nc = ncHex;
  }
  return formatCredentials(out);
}

/**
 * Client-side digest state for one user: counts nc per nonce, remembers the last
 * challenge per realm so later requests can carry credentials up front (RFC 3261
 * §22.3 permits reusing them), and refuses to loop on a rejected password.
 */
export class DigestClient {
  private readonly creds: UserCredentials;
  private readonly byRealm = new Map<string, { challenge: DigestChallenge; nc: number }>();

  constructor(creds: UserCredentials) {
    this.creds = creds;
  }

  /**
   * Answer to a 401/407: `challengeValues` are all its WWW-Authenticate (or
   * Proxy-Authenticate) values, `previous` the credentials value the rejected
   * request carried, if any. Returns undefined when no challenge is usable or when
   * retrying is pointless (RFC 3261 §22.2: same realm, not stale, already tried ->
   * the password is wrong).
   */
  respond(challengeValues: readonly string[], req: DigestRequest, previous?: string): string | undefined {
    const c = chooseChallenge(challengeValues);
    if (c === undefined) return undefined;
    if (previous !== undefined && !c.stale) {
      try {
        const prev = parseCredentials(previous);
        if (prev.realm === c.realm) return undefined;
      } catch {
        // an unparseable previous value says nothing about this challenge
      }
    }
    const entry = { challenge: c, nc: 1 };
    this.byRealm.set(c.realm, entry);
    return createAuthorization(c, req, this.creds, entry.nc);
  }

  /** Credentials for a new request reusing the last challenge of `realm`, nc counted up. */
  preemptive(realm: string, req: DigestRequest): string | undefined {
    const entry = this.byRealm.get(realm);
    if (entry === undefined) return undefined;
    entry.nc++;
    return createAuthorization(entry.challenge, req, this.creds, entry.nc);
  }
}
