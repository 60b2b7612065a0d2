// SDES key exchange (RFC 4568): a=crypto:<tag> <crypto-suite> inline:<key||salt base64>
// [|<lifetime>][|<MKI>:<length>] [<session-params>]. Suites here: AES_CM_128_HMAC_SHA1_80
// (RFC 4568 §6.2.1) and AEAD_AES_128_GCM (RFC 7714 §12).
import { randomBytes } from 'node:crypto';
import { SRTP_MASTER_KEY_LENGTH, isSrtpProfile, srtpMasterSaltLength, type SrtpKeys, type SrtpProfile } from './profile.js';

export interface SdesCrypto {
  tag: number;
  profile: SrtpProfile;
  keys: SrtpKeys;
  /** e.g. "2^31", as written; undefined if absent. */
  lifetime?: string;
  /** MKI value and length (RFC 4568 §6.1); this gateway does not send MKIs. */
  mki?: { value: number; length: number };
  sessionParams: string[];
}

/**
 * Parses one a=crypto value (with or without the "a=crypto:" prefix). Returns null for an
 * unsupported suite or a malformed line, so the caller can try the next offered line.
 */
export function parseSdesCrypto(attr: string): SdesCrypto | null {
  let s = attr.trim();
  if (s.startsWith('a=')) s = s.slice(2);
  if (s.startsWith('crypto:')) s = s.slice(7);
  const parts = s.split(/\s+/);
  if (parts.length < 3 || !/^\d{1,9}$/.test(parts[0])) return null;
  const suite = parts[1];
  if (!isSrtpProfile(suite)) return null;
  // Several inline keys may be offered ("inline:...;inline:..."); with no MKI only one is usable.
  const keyParam = parts[2].split(';')[0];
  const m = /^inline:([A-Za-z0-9+/=]+)(?:\|([^|]+))?(?:\|(\d+):(\d+))?$/.exec(keyParam);
  if (!m) return null;
  const raw = Buffer.from(m[1], 'base64');
  const saltLength = srtpMasterSaltLength(suite);
  if (raw.length !== SRTP_MASTER_KEY_LENGTH + saltLength) return null;
  let lifetime: string | undefined = m[2];
  let mki: SdesCrypto['mki'];
  if (lifetime !== undefined && /^\d+:\d+$/.test(lifetime) && m[3] === undefined) {
    const [v, l] = lifetime.split(':');
    mki = { value: Number(v), length: Number(l) };
    lifetime = undefined;
  } else if (m[3] !== undefined) {
    mki = { value: Number(m[3]), length: Number(m[4]) };
  }
  if (mki && (mki.length < 1 || mki.length > 128)) return null;
  return {
    tag: Number(parts[0]),
    profile: suite,
    keys: { masterKey: raw.subarray(0, SRTP_MASTER_KEY_LENGTH), masterSalt: raw.subarray(SRTP_MASTER_KEY_LENGTH) },
    ...(lifetime !== undefined ? { lifetime } : {}),
    ...(mki !== undefined ? { mki } : {}),
    sessionParams: parts.slice(3),
  };
}

/** Fresh random master key and salt for `profile`. */
export function generateSrtpKeys(profile: SrtpProfile): SrtpKeys {
  return { masterKey: randomBytes(SRTP_MASTER_KEY_LENGTH), masterSalt: randomBytes(srtpMasterSaltLength(profile)) };
}

/** The a=crypto value (without "a=crypto:"), e.g. `1 AES_CM_128_HMAC_SHA1_80 inline:...`. */
export function makeSdesCrypto(tag: number, profile: SrtpProfile, keys: SrtpKeys): string {
  const inline = Buffer.concat([keys.masterKey, keys.masterSalt]).toString('base64');
  return `${tag} ${profile} inline:${inline}`;
}
