// AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1 encryption, §4.2.1 authentication, RFC 5764
// §4.1.2 profile 0x0001). Authenticated portion: RTP header + encrypted payload + ROC
// (§4.2); SRTCP: header + encrypted payload + E|SRTCP index (§3.4).
import { AesCmKeystream } from './aes-cm.js';
import { HmacSha1 } from './hmac-sha1.js';
import type { SessionKeySource } from './kdf.js';
import type { SrtpTransform } from './transform.js';

const TAG = 10;

export class AesCmTransform implements SrtpTransform {
  readonly rtpOverhead = TAG;
  readonly rtcpOverhead = TAG + 4;
  readonly rtcpIndexFromEnd = TAG + 4;
  // Built on first use, each pair from session keys derived then: with the native fast
  // path forwarding a call's RTP, the RTP pair here is never used, and each costs an
  // OpenSSL context and its buffers per leg; the keys themselves are not kept.
  private rtpCipherState: AesCmKeystream | null = null;
  private rtcpCipherState: AesCmKeystream | null = null;
  private rtpMacState: HmacSha1 | null = null;
  private rtcpMacState: HmacSha1 | null = null;

  constructor(private readonly keys: SessionKeySource) {}

  private get rtpCipher(): AesCmKeystream {
    if (this.rtpCipherState === null) this.buildRtp();
    return this.rtpCipherState as AesCmKeystream;
  }
  private get rtcpCipher(): AesCmKeystream {
    if (this.rtcpCipherState === null) this.buildRtcp();
    return this.rtcpCipherState as AesCmKeystream;
  }
  private get rtpMac(): HmacSha1 {
    if (this.rtpMacState === null) this.buildRtp();
    return this.rtpMacState as HmacSha1;
  }
  private get rtcpMac(): HmacSha1 {
    if (this.rtcpMacState === null) this.buildRtcp();
    return this.rtcpMacState as HmacSha1;
  }

  private buildRtp(): void {
    const k = this.keys.sessionKeys(false);
    this.rtpCipherState = new AesCmKeystream(k.key, k.salt);
    this.rtpMacState = new HmacSha1(k.auth);
  }

  private buildRtcp(): void {
    const k = this.keys.sessionKeys(true);
    this.rtcpCipherState = new AesCmKeystream(k.key, k.salt);
    this.rtcpMacState = new HmacSha1(k.auth);
  }

  protectRtp(buf: Buffer, hdr: number, len: number, ssrc: number, roc: number, seq: number): number {
    if (len + TAG > buf.length) return -1;
    if (!this.rtpCipher.xor(buf, hdr, len, ssrc, roc, seq)) return -1;
    this.rtpMac.compute(buf, len, roc);
    this.rtpMac.writeTag(buf, len, TAG);
    return len + TAG;
  }

  unprotectRtp(buf: Buffer, hdr: number, len: number, ssrc: number, roc: number, seq: number): number {
    const plain = len - TAG;
    if (plain < hdr) return -1;
    this.rtpMac.compute(buf, plain, roc);
    if (!this.rtpMac.equalsTag(buf, plain, TAG)) return -1;
    if (!this.rtpCipher.xor(buf, hdr, plain, ssrc, roc, seq)) return -1;
    return plain;
  }

  protectRtcp(buf: Buffer, len: number, ssrc: number, index: number): number {
    if (len + TAG + 4 > buf.length || len < 8) return -1;
    // The 31-bit index is the low part of the 48-bit IV index field (§4.1.1, §3.4).
    if (!this.rtcpCipher.xor(buf, 8, len, ssrc, index >>> 16, index & 0xffff)) return -1;
    buf.writeUInt32BE((0x80000000 | index) >>> 0, len);
    this.rtcpMac.compute(buf, len + 4, -1);
    this.rtcpMac.writeTag(buf, len + 4, TAG);
    return len + 4 + TAG;
  }

  unprotectRtcp(buf: Buffer, len: number, ssrc: number, eIndex: number): number {
    const authed = len - TAG;
    const plain = authed - 4;
    if (plain < 8) return -1;
    this.rtcpMac.compute(buf, authed, -1);
    if (!this.rtcpMac.equalsTag(buf, authed, TAG)) return -1;
    if (eIndex & 0x80000000) {
      const index = eIndex & 0x7fffffff;
      if (!this.rtcpCipher.xor(buf, 8, plain, ssrc, index >>> 16, index & 0xffff)) return -1;
    }
    return plain;
  }
}
