// SRTP protection profiles this gateway speaks, with the DTLS-SRTP ids of RFC 5764 §4.1.2
// and RFC 7714 §14.2, and the sizes each one adds to a packet.

export type SrtpProfile = 'AES_CM_128_HMAC_SHA1_80' | 'AEAD_AES_128_GCM';

/** A master key and master salt (RFC 3711 §3.2.1): 16/14 bytes for AES-CM, 16/12 for GCM. */
export interface SrtpKeys {
  masterKey: Buffer;
  masterSalt: Buffer;
}

export const SRTP_PROFILE_IDS: Readonly<Record<SrtpProfile, number>> = {
  AES_CM_128_HMAC_SHA1_80: 0x0001,
  AEAD_AES_128_GCM: 0x0007,
};

export function srtpProfileFromId(id: number): SrtpProfile | undefined {
  if (id === 0x0001) return 'AES_CM_128_HMAC_SHA1_80';
  if (id === 0x0007) return 'AEAD_AES_128_GCM';
  return undefined;
}

export function isSrtpProfile(name: string): name is SrtpProfile {
  return name === 'AES_CM_128_HMAC_SHA1_80' || name === 'AEAD_AES_128_GCM';
}

export const SRTP_MASTER_KEY_LENGTH = 16;

export function srtpMasterSaltLength(profile: SrtpProfile): number {
  return profile === 'AEAD_AES_128_GCM' ? 12 : 14;
}

/** Bytes SRTP appends to an RTP packet: the 80-bit HMAC tag, or the 16-byte GCM tag. */
export function srtpRtpOverhead(profile: SrtpProfile): number {
  return profile === 'AEAD_AES_128_GCM' ? 16 : 10;
}

/** Bytes SRTCP appends: E flag + 31-bit index (4) and the tag. */
export function srtpRtcpOverhead(profile: SrtpProfile): number {
  return profile === 'AEAD_AES_128_GCM' ? 20 : 14;
}

/** The most any profile here appends to a packet (SRTCP with GCM). */
export const SRTP_MAX_OVERHEAD = 20;
