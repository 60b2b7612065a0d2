// Stateless server nonces (RFC 7616 §3.3 suggests time-stamp ":" H(time-stamp ":"
// ETag ":" secret)): the server keeps no table of issued nonces, yet can tell its own
// from forged ones and knows each one's age. A restart with a new secret turns old
// nonces into "not ours", which the server treats like stale (see server.ts).

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomInto } from '../message/random.js';

const TS_LEN = 6; // milliseconds since the epoch, 48 bits: good until year 10889
const RAND_LEN = 6; // keeps two nonces minted in the same millisecond apart (nc tracking)
const MAC_LEN = 16;
const RAW_LEN = TS_LEN + RAND_LEN + MAC_LEN;
/** base64url without padding of RAW_LEN bytes. */
const TEXT_LEN = Math.ceil((RAW_LEN * 8) / 6);

export type NonceCheck =
  | { valid: true; ageMs: number; issuedAtMs: number }
  | { valid: false; reason: 'malformed' | 'forged' | 'from the future' };

export class NonceMint {
  private readonly secret: Buffer;
  private readonly scope: Buffer;

  /** `scope` (the realm) is bound into the MAC so a nonce does not cross realms. */
  constructor(secret: Buffer, scope: string) {
    this.secret = secret;
    this.scope = Buffer.from(scope, 'utf8');
  }

  private mac(head: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(head).update(this.scope).digest().subarray(0, MAC_LEN);
  }

  issue(nowMs = Date.now()): string {
    const raw = Buffer.allocUnsafe(RAW_LEN);
    raw.writeUIntBE(nowMs, 0, TS_LEN);
    randomInto(raw, TS_LEN, RAND_LEN);
    this.mac(raw.subarray(0, TS_LEN + RAND_LEN)).copy(raw, TS_LEN + RAND_LEN);
    return raw.toString('base64url');
  }

  check(nonce: string, nowMs = Date.now()): NonceCheck {
    if (nonce.length !== TEXT_LEN || !/^[A-Za-z0-9_-]+$/.test(nonce)) return { valid: false, reason: 'malformed' };
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== RAW_LEN) return { valid: false, reason: 'malformed' };
    const expected = this.mac(raw.subarray(0, TS_LEN + RAND_LEN));
    if (!timingSafeEqual(expected, raw.subarray(TS_LEN + RAND_LEN))) return { valid: false, reason: 'forged' };
    const issuedAtMs = raw.readUIntBE(0, TS_LEN);
    const ageMs = nowMs - issuedAtMs;
    // A little skew is tolerated for clusters whose clocks differ slightly.
    if (ageMs < -5000) return { valid: false, reason: 'from the future' };
    return { valid: true, ageMs: Math.max(0, ageMs), issuedAtMs };
  }

  static randomSecret(): Buffer {
    return randomBytes(32);
  }
}
