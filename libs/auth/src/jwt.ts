// JSON Web Tokens (RFC 7519) presented at the WebSocket upgrade: a JWS compact
// serialization (RFC 7515 §7.1) signed with HS256, RS256 or ES256 (RFC 7518 §3.2-3.4),
// verified with node:crypto against shared secrets and a JWK Set (RFC 7517 §5). The
// token's algorithm must be one allowed and match the kind of key that verifies it, so
// neither "none" nor an RSA public key used as an HMAC secret (the classic confusion)
// passes. Claims map to who the connection is (a configurable claim, `sub` by default)
// and what it may dial; `exp` is required, `nbf`, `iss` and `aud` are honoured.
//
// Why not a library: three algorithms, all in node:crypto, and nothing else of JOSE is
// needed (no JWE, no remote key sets); the tests check this verifier against tokens
// signed by an independent implementation (the jose package).

import { createHmac, createPublicKey, sign as signData, timingSafeEqual, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { ConnectionIdentity } from './identity.js';

export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';

/** A verification key: an HMAC secret (HS256) or a public key (RS256, ES256). */
export type JwtKey =
  | { alg: 'HS256'; kid?: string; secret: Buffer }
  | { alg: 'RS256' | 'ES256'; kid?: string; key: KeyObject };

export interface JwtOptions {
  keys: readonly JwtKey[];
  /** Accepted `alg` values; default every algorithm some key serves. */
  algorithms?: readonly JwtAlgorithm[];
  /** Required `iss` (one of). */
  issuer?: readonly string[];
  /** Required `aud` (the token's must name one of these). */
  audience?: readonly string[];
  /** Claim naming the SIP user: `alice`, `alice@example.com` or `sip:alice@example.com`. Default `sub`. */
  userClaim?: string;
  /** Claim listing what the user may dial (regular expressions on the dialled number). Default `dial`. */
  dialClaim?: string;
  /** Clock skew tolerated on exp and nbf, seconds. Default 30. */
  leewaySec?: number;
  now?: () => number;
}

export type JwtWhy =
  | 'malformed' | 'algorithm not allowed' | 'no key' | 'bad signature' | 'expired' | 'not yet valid'
  | 'no exp' | 'wrong issuer' | 'wrong audience' | 'no user' | 'bad dial claim';

export type JwtCheck =
  | { ok: true; identity: ConnectionIdentity; claims: Record<string, unknown> }
  | { ok: false; why: JwtWhy };

function jsonPart(part: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** The signature of `signingInput` checks out under `key`. */
function signatureValid(key: JwtKey, signingInput: string, signature: Buffer): boolean {
  const data = Buffer.from(signingInput, 'ascii');
  if (key.alg === 'HS256') {
    const expected = createHmac('sha256', key.secret).update(data).digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  }
  // RFC 7518 §3.4: ES256 signatures are R || S, 32 bytes each, not DER.
  if (key.alg === 'ES256') return signature.length === 64 && verifySignature('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature);
  return verifySignature('sha256', data, key.key, signature);
}

/** `alice`, `alice@example.com` or `sip:alice@example.com` as user and domain. */
function sipUser(value: unknown): { user: string; domain?: string } | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) return undefined;
  const v = value.replace(/^sips?:/i, '');
  const at = v.indexOf('@');
  const user = at === -1 ? v : v.slice(0, at);
  if (!/^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$/.test(user)) return undefined;
  return at === -1 ? { user } : { user, domain: v.slice(at + 1).toLowerCase() };
}

export class JwtVerifier {
  private readonly keys: readonly JwtKey[];
  private readonly algorithms: ReadonlySet<JwtAlgorithm>;
  private readonly opts: JwtOptions;
  private readonly now: () => number;

  constructor(opts: JwtOptions) {
    if (opts.keys.length === 0) throw new RangeError('JwtVerifier: no keys');
    this.keys = opts.keys;
    this.algorithms = new Set(opts.algorithms ?? opts.keys.map((k) => k.alg));
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  verify(token: string): JwtCheck {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, why: 'malformed' };
    const [h, p, s] = parts as [string, string, string];
    const header = jsonPart(h);
    const claims = jsonPart(p);
    if (header === undefined || claims === undefined || !/^[A-Za-z0-9_-]*$/.test(s)) return { ok: false, why: 'malformed' };
    // RFC 7515 §4.1.11: an extension we do not understand must not be ignored.
    if (header.crit !== undefined) return { ok: false, why: 'malformed' };
    const alg = header.alg;
    if (typeof alg !== 'string' || !this.algorithms.has(alg as JwtAlgorithm)) return { ok: false, why: 'algorithm not allowed' };
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const candidates = this.keys.filter((k) => k.alg === alg && (kid === undefined || k.kid === undefined || k.kid === kid));
    if (candidates.length === 0) return { ok: false, why: 'no key' };
    const signature = Buffer.from(s, 'base64url');
    if (!candidates.some((k) => signatureValid(k, `${h}.${p}`, signature))) return { ok: false, why: 'bad signature' };

    const nowSec = this.now() / 1000;
    const leeway = this.opts.leewaySec ?? 30;
    if (typeof claims.exp !== 'number') return { ok: false, why: 'no exp' };
    if (nowSec >= claims.exp + leeway) return { ok: false, why: 'expired' };
    if (typeof claims.nbf === 'number' && nowSec + leeway < claims.nbf) return { ok: false, why: 'not yet valid' };
    if (this.opts.issuer !== undefined && !this.opts.issuer.includes(String(claims.iss))) return { ok: false, why: 'wrong issuer' };
    if (this.opts.audience !== undefined) {
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!aud.some((a) => typeof a === 'string' && this.opts.audience!.includes(a))) return { ok: false, why: 'wrong audience' };
    }
    const who = sipUser(claims[this.opts.userClaim ?? 'sub']);
    if (who === undefined) return { ok: false, why: 'no user' };
    const identity: ConnectionIdentity = { ...who, method: 'jwt', expiresAt: claims.exp * 1000 };
    const dial = claims[this.opts.dialClaim ?? 'dial'];
    if (dial !== undefined) {
      const list = typeof dial === 'string' ? [dial] : dial;
      if (!Array.isArray(list) || !list.every((d) => typeof d === 'string' && validPattern(d))) return { ok: false, why: 'bad dial claim' };
      identity.dialPatterns = list as string[];
    }
    return { ok: true, identity, claims };
  }
}

/**
 * A signed token, for tests and the credential CLI (a web service would use its own
 * JOSE library): HS256 with a secret, RS256 or ES256 with a private key.
 */
export function signJwt(alg: JwtAlgorithm, key: Buffer | KeyObject, claims: Record<string, unknown>, kid?: string): string {
  const head = Buffer.from(JSON.stringify({ alg, typ: 'JWT', ...(kid !== undefined ? { kid } : {}) })).toString('base64url');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const input = Buffer.from(`${head}.${body}`, 'ascii');
  const sig = alg === 'HS256'
    ? createHmac('sha256', key as Buffer).update(input).digest()
    : signData('sha256', input, alg === 'ES256' ? { key: key as KeyObject, dsaEncoding: 'ieee-p1363' } : key as KeyObject);
  return `${head}.${body}.${sig.toString('base64url')}`;
}

function validPattern(p: string): boolean {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The keys of a JWK Set (RFC 7517 §5): RSA keys verify RS256, P-256 EC keys ES256,
 * `oct` keys HS256. A key whose `use` is not `sig`, or whose `alg` names another
 * algorithm, is skipped; a key that does not load throws, naming it.
 */
export function jwksKeys(jwks: unknown): JwtKey[] {
  const list = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new RangeError('JWK Set: no "keys" array');
  const out: JwtKey[] = [];
  list.forEach((jwk: Record<string, unknown>, i) => {
    const name = typeof jwk.kid === 'string' ? `key ${jwk.kid}` : `key #${i}`;
    if (jwk.use !== undefined && jwk.use !== 'sig') return;
    const kid = typeof jwk.kid === 'string' ? { kid: jwk.kid } : {};
    const alg: JwtAlgorithm | undefined = jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : jwk.kty === 'oct' ? 'HS256' : undefined;
    if (alg === undefined) throw new RangeError(`JWK Set: ${name}: kty ${String(jwk.kty)}${jwk.crv ? ` ${String(jwk.crv)}` : ''} is not RSA, EC P-256 or oct`);
    if (jwk.alg !== undefined && jwk.alg !== alg) return;
    if (alg === 'HS256') {
      if (typeof jwk.k !== 'string' || jwk.k.length === 0) throw new RangeError(`JWK Set: ${name}: oct key without "k"`);
      out.push({ alg, secret: Buffer.from(jwk.k, 'base64url'), ...kid });
      return;
    }
    try {
      // Only the public members: a private key in the set must not turn into a signing key here.
      const pub = alg === 'RS256' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
      out.push({ alg, key: createPublicKey({ key: pub as import('node:crypto').JsonWebKey, format: 'jwk' }), ...kid });
    } catch (err) {
      throw new RangeError(`JWK Set: ${name}: ${(err as Error).message}`);
    }
  });
  return out;
}
