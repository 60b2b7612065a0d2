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

export interface SessionKeys {
  rtpKey: Buffer;
  rtpSalt: Buffer;
  rtpAuth: Buffer;
  rtcpKey: Buffer;
  rtcpSalt: Buffer;
  rtcpAuth: Buffer;
}

/** Session keys for both RTP and RTCP; auth keys are 160 bits (HMAC-SHA1, §4.2.1). */
export function deriveSessionKeys(masterKey: Buffer, masterSalt: Buffer, saltLength: number): SessionKeys {
  return {
    rtpKey: deriveSessionKey(masterKey, masterSalt, KDF_LABEL.rtpEncryption, 16),
    rtpSalt: deriveSessionKey(masterKey, masterSalt, KDF_LABEL.rtpSalt, saltLength),
    rtpAuth: deriveSessionKey(masterKey, masterSalt, KDF_LABEL.rtpAuthentication, 20),
    rtcpKey: deriveSessionKey(masterKey, masterSalt, KDF_LABEL.rtcpEncryption, 16),
    rtcpSalt: deriveSessionKey(masterKey, masterSalt, KDF_LABEL.rtcpSalt, saltLength),
    rtcpAuth: deriveSessionKey(masterKey, masterSalt, KDF_LABEL.rtcpAuthentication, 20),
  };
}
