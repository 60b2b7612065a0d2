// Known-answer tests: RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key derivation),
// RFC 7714 §16.1 (SRTP) and §17.1 (SRTCP) AEAD_AES_128_GCM vectors, which are stated at
// the session-key level and so run against the transform directly.
// (RFC 3711 B.1 is the AES-f8 transform, which no profile here uses.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { AesCmKeystream } from './aes-cm.js';
import { HmacSha1 } from './hmac-sha1.js';
import { KDF_LABEL, deriveSessionKey, deriveSessionKeySet } from './kdf.js';
import { AesGcmTransform } from './transform-gcm.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('RFC 3711 B.2: AES-CM keystream blocks', () => {
  const ks = new AesCmKeystream(hex('2B7E151628AED2A6ABF7158809CF4F3C'), hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'));
  const first = Buffer.alloc(48);
  ks.xor(first, 0, 48, 0, 0, 0);
  assert.equal(first.toString('hex').toUpperCase(),
    'E03EAD0935C95E80E166B16DD92B4EB4' + 'D23513162B02D0F72A43A2FE4A5F97AB' + '41E95B3BB0A2E8DD477901E4FCA894C0');
  const late = Buffer.alloc(48);
  ks.xor(late, 0, 48, 0, 0, 0, 0xfeff);
  assert.equal(late.toString('hex').toUpperCase(),
    'EC8CDF7398607CB0F2D21675EA9EA1E4' + '362B7C3C6773516318A077D7FC5073AE' + '6A2CC3787889374FBEB4C81B17BA6C44');
});

test('RFC 3711 B.3: key derivation of session encryption key, salt and auth key', () => {
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.equal(deriveSessionKey(mk, ms, KDF_LABEL.rtpEncryption, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.equal(deriveSessionKey(mk, ms, KDF_LABEL.rtpSalt, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  assert.equal(deriveSessionKey(mk, ms, KDF_LABEL.rtpAuthentication, 20).toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  // The appendix prints more of the auth keystream; the next 16 bytes check the block counter.
  assert.equal(deriveSessionKey(mk, ms, KDF_LABEL.rtpAuthentication, 32).subarray(16).toString('hex').toUpperCase(), '6D38BAA48F0A0ACF3C34E2359E6CDBCE');
});

test('RFC 3711 B.3: a context derives its RTP key set in one pass, and its SRTCP set with labels 3-5', () => {
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  const master = Buffer.concat([mk, ms]);
  const rtp = deriveSessionKeySet(master, 14, false);
  assert.equal(rtp.key.toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.equal(rtp.salt.toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  assert.equal(rtp.auth.toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  const rtcp = deriveSessionKeySet(master, 14, true);
  assert.deepEqual(rtcp.key, deriveSessionKey(mk, ms, KDF_LABEL.rtcpEncryption, 16));
  assert.deepEqual(rtcp.salt, deriveSessionKey(mk, ms, KDF_LABEL.rtcpSalt, 14));
  assert.deepEqual(rtcp.auth, deriveSessionKey(mk, ms, KDF_LABEL.rtcpAuthentication, 20));
  // RFC 7714 §11: a 96-bit GCM master salt, padded with zeros to 112 bits.
  const gcm = deriveSessionKeySet(Buffer.concat([mk, ms.subarray(0, 12)]), 12, false);
  assert.deepEqual(gcm.salt, deriveSessionKey(mk, ms.subarray(0, 12), KDF_LABEL.rtpSalt, 12));
  assert.deepEqual(gcm.key, deriveSessionKey(mk, ms.subarray(0, 12), KDF_LABEL.rtpEncryption, 16));
});

test('HMAC-SHA1 from pad states equals node:crypto for every tail length', () => {
  const key = randomBytes(20);
  const mac = new HmacSha1(key);
  const out = Buffer.alloc(20);
  for (let len = 0; len <= 300; len++) {
    const m = randomBytes(len);
    for (const suffix of [-1, 0x89abcdef]) {
      const h = createHmac('sha1', key).update(m);
      if (suffix >= 0) h.update(Buffer.from([0x89, 0xab, 0xcd, 0xef]));
      mac.compute(m, len, suffix);
      mac.writeTag(out, 0, 20);
      assert.equal(out.toString('hex'), h.digest('hex'), `length ${len}`);
      assert.ok(mac.equalsTag(out, 0, 10));
    }
  }
});

const GCM_KEY = hex('000102030405060708090a0b0c0d0e0f');
const GCM_SALT = hex('517569642070726f2071756f');
const gcm = (): AesGcmTransform => new AesGcmTransform({ sessionKeys: () => ({ key: GCM_KEY, salt: GCM_SALT, auth: Buffer.alloc(0) }) });
const RTP_PLAIN = hex('8040f17b8041f8d35501a0b2 47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573');
const RTP_PROTECTED = hex('8040f17b8041f8d35501a0b2 f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833 899d7f27beb16a9152cf765ee4390cce');
const RTCP_PLAIN = hex('81c8000d4d617273 4e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef');
const RTCP_PROTECTED = hex('81c8000d4d617273 63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf872 45d9eade800005d4');
const RTCP_TAG_ONLY = hex('81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef 841dd9683dd78ec92ae58790125f62b3 000005d4');

test('RFC 7714 §16.1: AEAD_AES_128_GCM SRTP encrypt and decrypt', () => {
  const buf = Buffer.alloc(200);
  RTP_PLAIN.copy(buf);
  const n = gcm().protectRtp(buf, 12, RTP_PLAIN.length, 0x5501a0b2, 0, 0xf17b);
  assert.equal(buf.subarray(0, n).toString('hex'), RTP_PROTECTED.toString('hex'));
  const p = gcm().unprotectRtp(buf, 12, n, 0x5501a0b2, 0, 0xf17b);
  assert.equal(buf.subarray(0, p).toString('hex'), RTP_PLAIN.toString('hex'));
});

test('RFC 7714 §17.1: AEAD_AES_128_GCM SRTCP encrypt and decrypt (index 0x5d4)', () => {
  const buf = Buffer.alloc(200);
  RTCP_PLAIN.copy(buf);
  const n = gcm().protectRtcp(buf, RTCP_PLAIN.length, 0x4d617273, 0x5d4);
  assert.equal(buf.subarray(0, n).toString('hex'), RTCP_PROTECTED.toString('hex'));
  const p = gcm().unprotectRtcp(buf, n, 0x4d617273, 0x800005d4);
  assert.equal(buf.subarray(0, p).toString('hex'), RTCP_PLAIN.toString('hex'));
});

test('RFC 7714 §17.3: SRTCP with E=0 (authenticated, not encrypted) is accepted', () => {
  const buf = Buffer.from(RTCP_TAG_ONLY);
  const p = gcm().unprotectRtcp(buf, buf.length, 0x4d617273, 0x000005d4);
  assert.equal(buf.subarray(0, p).toString('hex'), RTCP_PLAIN.toString('hex'));
});
