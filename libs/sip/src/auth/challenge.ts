// Digest challenges as a client sees them in WWW-Authenticate / Proxy-Authenticate
// (RFC 3261 §22.1, §20.44, §20.27; RFC 7616 §3.3). One challenge per header value:
// SIP never folds several challenges into one field line.

import { SipError } from '../message/index.js';
import { parseAuthParams, quote } from './params.js';
import { algorithmStrength, normalizeAlgorithm, type DigestAlgorithm } from './hash.js';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** Canonical name when supported (see normalizeAlgorithm), else as received. */
  algorithm: DigestAlgorithm | string;
  /** qop-options, e.g. ['auth', 'auth-int']; undefined for an RFC 2069 challenge. */
  qop?: string[];
  stale?: boolean;
  domain?: string;
  /** RFC 7616 §3.4.4; parsed so a client can see it, not implemented (SIP does not use it). */
  userhash?: boolean;
}

/** Parses one challenge; throws SipError(400) for a non-Digest scheme or missing fields. */
export function parseChallenge(headerValue: string): DigestChallenge {
  const { scheme, params } = parseAuthParams(headerValue);
  if (scheme.toLowerCase() !== 'digest') throw new SipError(400, `Unsupported Auth Scheme ${scheme}`);
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined) throw new SipError(400, 'Bad Authentication Header: missing realm');
  if (nonce === undefined) throw new SipError(400, 'Bad Authentication Header: missing nonce');
  const rawAlg = params.get('algorithm');
  const c: DigestChallenge = { realm, nonce, algorithm: normalizeAlgorithm(rawAlg) ?? rawAlg! };
  const opaque = params.get('opaque');
  if (opaque !== undefined) c.opaque = opaque;
  const qop = params.get('qop');
  if (qop !== undefined) c.qop = qop.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
  const stale = params.get('stale');
  if (stale !== undefined) c.stale = stale.toLowerCase() === 'true';
  const domain = params.get('domain');
  if (domain !== undefined) c.domain = domain;
  const userhash = params.get('userhash');
  if (userhash !== undefined) c.userhash = userhash.toLowerCase() === 'true';
  return c;
}

/** True if this client can answer the challenge: known algorithm, usable qop. */
export function isSupportedChallenge(c: DigestChallenge): boolean {
  if (normalizeAlgorithm(c.algorithm) === undefined) return false;
  if (c.qop === undefined) return true;
  return c.qop.includes('auth') || c.qop.includes('auth-int');
}

/**
 * Of several challenges (several WWW-Authenticate values, RFC 8760 §2.4: a server
 * offers one per algorithm, most preferred first), the strongest one this client
 * supports; ties keep the server's order. Unparseable or foreign-scheme values are
 * skipped (a server may also offer e.g. Bearer).
 */
export function chooseChallenge(headerValues: readonly string[]): DigestChallenge | undefined {
  let best: DigestChallenge | undefined;
  let bestStrength = 0;
  for (const v of headerValues) {
    let c: DigestChallenge;
    try {
      c = parseChallenge(v);
    } catch {
      continue;
    }
    if (!isSupportedChallenge(c)) continue;
    const s = algorithmStrength(c.algorithm as DigestAlgorithm);
    if (s > bestStrength) {
      best = c;
      bestStrength = s;
    }
  }
  return best;
}

/** Serializes a challenge for WWW-Authenticate / Proxy-Authenticate. */
export function formatChallenge(c: DigestChallenge): string {
  let s = `Digest realm=${quote(c.realm)}`;
  if (c.domain !== undefined) s += `, domain=${quote(c.domain)}`;
  s += `, nonce=${quote(c.nonce)}`;
  if (c.opaque !== undefined) s += `, opaque=${quote(c.opaque)}`;
  if (c.stale) s += ', stale=TRUE';
  s += `, algorithm=${c.algorithm}`;
  if (c.qop !== undefined && c.qop.length > 0) s += `, qop=${quote(c.qop.join(','))}`;
  return s;
}
