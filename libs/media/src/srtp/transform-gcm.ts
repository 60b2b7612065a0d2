// AEAD_AES_128_GCM (RFC 7714, DTLS-SRTP profile 0x0007). SRTP (§8): IV = salt XOR
// (0x0000 || SSRC || ROC || SEQ), AAD = the RTP header, 16-byte tag after the ciphertext.
// SRTCP (§9): IV = salt XOR (0x0000 || SSRC || 0x0000 || SRTCP index), AAD = the first 8
// octets + E|index, trailer order ciphertext || tag || E|index. GCM stays in node:crypto
// (one cipher per packet: the IV changes and Node offers no re-keyless IV reset).
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import type { SessionKeySource } from './kdf.js';
import type { SrtpTransform } from './transform.js';

const TAG = 16;

// IV and SRTCP AAD scratch, one per thread: each is consumed by the createCipheriv /
// setAAD call it is built for.
const ivScratch = Buffer.alloc(12);
const aadScratch = Buffer.alloc(12);

export class AesGcmTransform implements SrtpTransform {
  readonly rtpOverhead = TAG;
  readonly rtcpOverhead = TAG + 4;
  readonly rtcpIndexFromEnd = 4;
  // Keys and salts are made on first use from keys derived then (an RTP pair the native
  // fast path runs is never used here).
  private rtpKey: KeyObject | null = null;
  private rtcpKey: KeyObject | null = null;
  private readonly rtpSalt = Buffer.alloc(12);
  private readonly rtcpSalt = Buffer.alloc(12);

  constructor(private readonly keys: SessionKeySource) {}

  private rtpKeyObject(): KeyObject {
    if (this.rtpKey !== null) return this.rtpKey;
    const k = this.keys.sessionKeys(false);
    k.salt.copy(this.rtpSalt, 0, 0, 12);
    return (this.rtpKey = createSecretKey(k.key));
  }

  private rtcpKeyObject(): KeyObject {
    if (this.rtcpKey !== null) return this.rtcpKey;
    const k = this.keys.sessionKeys(true);
    k.salt.copy(this.rtcpSalt, 0, 0, 12);
    return (this.rtcpKey = createSecretKey(k.key));
  }

  private rtpIv(ssrc: number, roc: number, seq: number): Buffer {
    const iv = ivScratch;
    const s = this.rtpSalt;
    iv[0] = s[0]; iv[1] = s[1];
    iv[2] = s[2] ^ (ssrc >>> 24); iv[3] = s[3] ^ ((ssrc >>> 16) & 0xff); iv[4] = s[4] ^ ((ssrc >>> 8) & 0xff); iv[5] = s[5] ^ (ssrc & 0xff);
    iv[6] = s[6] ^ (roc >>> 24); iv[7] = s[7] ^ ((roc >>> 16) & 0xff); iv[8] = s[8] ^ ((roc >>> 8) & 0xff); iv[9] = s[9] ^ (roc & 0xff);
    iv[10] = s[10] ^ ((seq >>> 8) & 0xff); iv[11] = s[11] ^ (seq & 0xff);
    return iv;
  }

  private rtcpIv(ssrc: number, index: number): Buffer {
    const iv = ivScratch;
    const s = this.rtcpSalt;
    iv[0] = s[0]; iv[1] = s[1];
    iv[2] = s[2] ^ (ssrc >>> 24); iv[3] = s[3] ^ ((ssrc >>> 16) & 0xff); iv[4] = s[4] ^ ((ssrc >>> 8) & 0xff); iv[5] = s[5] ^ (ssrc & 0xff);
    iv[6] = s[6]; iv[7] = s[7];
    iv[8] = s[8] ^ ((index >>> 24) & 0x7f); iv[9] = s[9] ^ ((index >>> 16) & 0xff); iv[10] = s[10] ^ ((index >>> 8) & 0xff); iv[11] = s[11] ^ (index & 0xff);
    return iv;
  }

  protectRtp(buf: Buffer, hdr: number, len: number, ssrc: number, roc: number, seq: number): number {
    if (len + TAG > buf.length) return -1;
    const c = createCipheriv('aes-128-gcm', this.rtpKeyObject(), this.rtpIv(ssrc, roc, seq), { authTagLength: TAG });
    c.setAAD(buf.subarray(0, hdr));
    const ct = c.update(buf.subarray(hdr, len));
    ct.copy(buf, hdr);
    c.final();
    c.getAuthTag().copy(buf, len);
    return len + TAG;
  }

  unprotectRtp(buf: Buffer, hdr: number, len: number, ssrc: number, roc: number, seq: number): number {
    const plain = len - TAG;
    if (plain < hdr) return -1;
    const d = createDecipheriv('aes-128-gcm', this.rtpKeyObject(), this.rtpIv(ssrc, roc, seq), { authTagLength: TAG });
    d.setAuthTag(buf.subarray(plain, len));
    d.setAAD(buf.subarray(0, hdr));
    const pt = d.update(buf.subarray(hdr, plain));
    try {
      d.final();
    } catch {
      return -1;
    }
    pt.copy(buf, hdr);
    return plain;
  }

  protectRtcp(buf: Buffer, len: number, ssrc: number, index: number): number {
    if (len + TAG + 4 > buf.length || len < 8) return -1;
    const eIndex = (0x80000000 | index) >>> 0;
    const aad = aadScratch;
    buf.copy(aad, 0, 0, 8);
    aad.writeUInt32BE(eIndex, 8);
    const c = createCipheriv('aes-128-gcm', this.rtcpKeyObject(), this.rtcpIv(ssrc, index), { authTagLength: TAG });
    c.setAAD(aad);
    const ct = c.update(buf.subarray(8, len));
    ct.copy(buf, 8);
    c.final();
    c.getAuthTag().copy(buf, len);
    buf.writeUInt32BE(eIndex, len + TAG);
    return len + TAG + 4;
  }

  unprotectRtcp(buf: Buffer, len: number, ssrc: number, eIndex: number): number {
    const tagEnd = len - 4;
    const plain = tagEnd - TAG;
    if (plain < 8) return -1;
    const index = eIndex & 0x7fffffff;
    const encrypted = (eIndex & 0x80000000) !== 0;
    const d = createDecipheriv('aes-128-gcm', this.rtcpKeyObject(), this.rtcpIv(ssrc, index), { authTagLength: TAG });
    d.setAuthTag(buf.subarray(plain, tagEnd));
    if (encrypted) {
      const aad = aadScratch;
      buf.copy(aad, 0, 0, 8);
      aad.writeUInt32BE(eIndex >>> 0, 8);
      d.setAAD(aad);
      const pt = d.update(buf.subarray(8, plain));
      try {
        d.final();
      } catch {
        return -1;
      }
      pt.copy(buf, 8);
      return plain;
    }
    // E = 0 (§9.3 / §17.3): the whole packet and the E|index word are AAD, nothing is
    // encrypted. setAuthTag copied the tag already, so the index word can move next to the
    // packet to make the AAD one contiguous range.
    buf.copyWithin(plain, tagEnd, len);
    d.setAAD(buf.subarray(0, plain + 4));
    try {
      d.final();
    } catch {
      return -1;
    }
    return plain;
  }
}
