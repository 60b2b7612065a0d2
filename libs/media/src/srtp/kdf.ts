// SRTP key derivation, RFC 3711 §4.3 with key_derivation_rate 0 (the only rate DTLS-SRTP
// and SDES use in practice): x = key_id XOR master_salt, key_id = label || 48-bit zero
// r, and the PRF is AES-CM keyed with the master key producing blocks E(x * 2^16 + i).
// RFC 7714 §11 uses the same KDF for AEAD_AES_128_GCM; its 96-bit master salt is padded
// with zeros on the right to 112 bits, as libsrtp (Chromium) does.
import { createCipheriv } from 'node:crypto';

/** Labels of RFC 3711 §4.3.2 (SRTP) and §4.3.2 (SRTCP, labels 3-5). */
export const KDF_LABEL = {
  rtpEncryption: 0x00,
  rtpAuthentication: 0x01,
  rtpSalt: 0x02,
  rtcpEncryption: 0x03,
  rtcpAuthentication: 0x04,
  rtcpSalt: 0x05,
} as const;

export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const blocks = Math.ceil(length / 16);
  const input = Buffer.alloc(blocks * 16);
  for (let b = 0; b < blocks; b++) {
    const o = b * 16;
    masterSalt.copy(input, o, 0, Math.min(14, masterSalt.length));
    // key_id = label || r sits in the low 56 bits of the 112-bit value: label at byte 7.
    input[o + 7] ^= label;
    input.writeUInt16BE(b, o + 14);
  }
  const ecb = createCipheriv('aes-128-ecb', masterKey, null);
  ecb.setAutoPadding(false);
  const out = Buffer.concat([ecb.update(input), ecb.final()]);
  return out.subarray(0, length);
}

/** The session keys of RTP (labels 0-2) or of SRTCP (labels 3-5). */
export interface SessionKeySet {
  key: Buffer;
  salt: Buffer;
  /** 160 bits (HMAC-SHA1, §4.2.1); unused by AEAD_AES_128_GCM. */
  auth: Buffer;
}

/** What a transform derives its key sets from when it first needs them (an SRTP context). */
export interface SessionKeySource {
  /** `rtcp` picks SRTCP's labels. */
  sessionKeys(rtcp: boolean): SessionKeySet;
}

/**
 * One direction's session keys from `master` = master key (16 bytes) || master salt
 * (`saltLength` bytes), with one cipher and one output buffer (the three keys are views
 * of it): the PRF input blocks of the encryption key (1), the salt (1) and the
 * authentication key (2) encrypted in one update(). Nothing here is kept by the caller's
 * context: transforms copy what they need into their ciphers.
 */
export function deriveSessionKeySet(master: Uint8Array, saltLength: number, rtcp: boolean): SessionKeySet {
  const labels = rtcp
    ? [KDF_LABEL.rtcpEncryption, KDF_LABEL.rtcpSalt, KDF_LABEL.rtcpAuthentication, KDF_LABEL.rtcpAuthentication]
    : [KDF_LABEL.rtpEncryption, KDF_LABEL.rtpSalt, KDF_LABEL.rtpAuthentication, KDF_LABEL.rtpAuthentication];
  const input = Buffer.alloc(64);
  const saltBytes = Math.min(14, saltLength);
  for (let b = 0; b < 4; b++) {
    const o = b * 16;
    for (let i = 0; i < saltBytes; i++) input[o + i] = master[16 + i]!;
    input[o + 7] ^= labels[b]!;
    // Block counter i of E(x * 2^16 + i): the second block of the 160-bit auth key is 1.
    input[o + 15] = b === 3 ? 1 : 0;
  }
  // The key is copied out element by element: a view of a small (on-heap) buffer would
  // move it off the heap for good.
  const key = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) key[i] = master[i]!;
  const ecb = createCipheriv('aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  const out = ecb.update(input);
  return { key: out.subarray(0, 16), salt: out.subarray(16, 16 + saltLength), auth: out.subarray(32, 52) };
}
