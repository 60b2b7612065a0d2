// The digest computation itself (RFC 7616 §3.4.1-§3.4.3, same formulas as RFC 2617
// §3.2.2 with H() chosen by the algorithm; RFC 8760 registers SHA-256 and
// SHA-512-256 for SIP).

import { createHash } from 'node:crypto';

export type DigestAlgorithm =
  | 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

const NODE_HASH: Record<string, string> = { 'MD5': 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

/** Client preference: the higher the stronger (RFC 7616 §3.7: pick the most preferred). */
const STRENGTH: Record<string, number> = { 'MD5': 1, 'SHA-256': 2, 'SHA-512-256': 3 };

/**
 * The canonical spelling of a supported algorithm (names are case-insensitive,
 * RFC 7616 §3.3), or undefined. An absent algorithm parameter means MD5.
 */
export function normalizeAlgorithm(name: string | undefined): DigestAlgorithm | undefined {
  if (name === undefined || name === '') return 'MD5';
  const upper = name.toUpperCase();
  const sess = upper.endsWith('-SESS');
  const base = sess ? upper.slice(0, -5) : upper;
  if (!(base in NODE_HASH)) return undefined;
  return (sess ? base + '-sess' : base) as DigestAlgorithm;
}

export function algorithmStrength(alg: DigestAlgorithm): number {
  return STRENGTH[baseAlgorithm(alg)] ?? 0;
}

export function baseAlgorithm(alg: DigestAlgorithm): 'MD5' | 'SHA-256' | 'SHA-512-256' {
  return (alg.endsWith('-sess') ? alg.slice(0, -5) : alg) as 'MD5' | 'SHA-256' | 'SHA-512-256';
}

/** H(data) as lowercase hex. */
export function digestHash(alg: DigestAlgorithm, data: string | Buffer): string {
  return createHash(NODE_HASH[baseAlgorithm(alg)]!).update(data).digest('hex');
}

/** Hex length of H() for the algorithm: tells which algorithm a stored HA1 was made for. */
export function hashHexLength(alg: DigestAlgorithm): number {
  return baseAlgorithm(alg) === 'MD5' ? 32 : 64;
}

/** H(username:realm:password), what a user store keeps instead of the password. */
export function computeHA1(alg: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(alg, `${username}:${realm}:${password}`);
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  /** H(username:realm:password), i.e. before any -sess step. */
  ha1: string;
  nonce: string;
  method: string;
  uri: string;
  /** 'auth', 'auth-int', or undefined for the RFC 2069 form (no qop). */
  qop?: string;
  nc?: string;
  cnonce?: string;
  /** Entity body, for qop=auth-int only. */
  body?: Buffer;
}

/** request-digest (RFC 7616 §3.4.1) as lowercase hex. */
export function computeResponse(d: DigestInput): string {
  // -sess: HA1 binds the client nonce too (RFC 7616 §3.4.2).
  const ha1 = d.algorithm.endsWith('-sess')
    ? digestHash(d.algorithm, `${d.ha1}:${d.nonce}:${d.cnonce ?? ''}`)
    : d.ha1;
  // auth-int covers the body (RFC 7616 §3.4.3); an absent body hashes as empty.
  const a2 = d.qop === 'auth-int'
    ? `${d.method}:${d.uri}:${digestHash(d.algorithm, d.body ?? Buffer.alloc(0))}`
    : `${d.method}:${d.uri}`;
  const ha2 = digestHash(d.algorithm, a2);
  if (d.qop === undefined) return digestHash(d.algorithm, `${ha1}:${d.nonce}:${ha2}`);
  return digestHash(d.algorithm, `${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`);
}
