// AES in counter mode as SRTP defines it (RFC 3711 §4.1.1): keystream block j is
// AES(k_e, IV + j) with IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
// Why ECB: one `aes-128-ecb` cipher is created per session key and reused for every
// packet (createCipheriv per packet costs more than the encryption); the counter blocks
// are written into a preallocated buffer and encrypted in one update() call, AES-NI
// doing the work in OpenSSL. update() returns a fresh buffer: the one allocation per
// packet node:crypto does not let us avoid.
import { createCipheriv, type Cipher } from 'node:crypto';

/** Largest payload handled: a UDP datagram on a 1500-byte path, rounded up to blocks. */
const MAX_BLOCKS = 96;

// One counter-block scratch per thread, shared by every keystream: xor() fills it and
// hands it to update() synchronously, so no two users can interleave. Per-keystream
// copies (plus a view per block count) were ~8 KiB each, 4 per SDES leg.
const counters = Buffer.alloc(MAX_BLOCKS * 16);
const words = new Int32Array(counters.buffer, counters.byteOffset, MAX_BLOCKS * 4);
/** Views of `counters` per block count, made on first use so update() takes no new view. */
const views: Array<Buffer | undefined> = new Array<Buffer | undefined>(MAX_BLOCKS + 1).fill(undefined);

export class AesCmKeystream {
  private readonly ecb: Cipher;
  // The 16-byte salt block (k_s * 2^16) as the four native-order words of `words` it is
  // copied into per packet: numbers, not a buffer and its ArrayBuffer per keystream.
  private readonly s0: number;
  private readonly s1: number;
  private readonly s2: number;
  private readonly s3: number;

  constructor(sessionKey: Buffer, sessionSalt: Buffer) {
    this.ecb = createCipheriv('aes-128-ecb', sessionKey, null);
    this.ecb.setAutoPadding(false);
    counters.fill(0, 0, 16);
    sessionSalt.copy(counters, 0, 0, Math.min(14, sessionSalt.length));
    this.s0 = words[0]!;
    this.s1 = words[1]!;
    this.s2 = words[2]!;
    this.s3 = words[3]!;
  }

  /**
   * XORs the keystream for (ssrc, index = indexHigh * 2^16 + indexLow) into buf[start..end).
   * `firstBlock` skips keystream blocks (test vectors only). Returns false if too long.
   */
  xor(buf: Uint8Array, start: number, end: number, ssrc: number, indexHigh: number, indexLow: number, firstBlock = 0): boolean {
    const length = end - start;
    if (length <= 0) return true;
    const blocks = (length + 15) >> 4;
    if (blocks > MAX_BLOCKS) return false;
    const c = counters;
    const w = words;
    w[0] = this.s0; w[1] = this.s1; w[2] = this.s2; w[3] = this.s3;
    c[4] ^= ssrc >>> 24; c[5] ^= (ssrc >>> 16) & 0xff; c[6] ^= (ssrc >>> 8) & 0xff; c[7] ^= ssrc & 0xff;
    c[8] ^= indexHigh >>> 24; c[9] ^= (indexHigh >>> 16) & 0xff; c[10] ^= (indexHigh >>> 8) & 0xff; c[11] ^= indexHigh & 0xff;
    c[12] ^= (indexLow >>> 8) & 0xff; c[13] ^= indexLow & 0xff;
    // The low 16 bits of the IV are zero, so the block counter never carries out of them
    // (a packet is far below 2^16 blocks). Copy the IV as native words, then add j.
    const w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    for (let b = 0; b < blocks; b++) {
      const j = b + firstBlock;
      const o = b << 2;
      w[o] = w0; w[o + 1] = w1; w[o + 2] = w2; w[o + 3] = w3;
      c[(b << 4) + 14] = (j >>> 8) & 0xff;
      c[(b << 4) + 15] = j & 0xff;
    }
    let view = views[blocks];
    if (view === undefined) views[blocks] = view = counters.subarray(0, blocks << 4);
    const ks = this.ecb.update(view);
    for (let i = 0; i < length; i++) buf[start + i] ^= ks[i];
    return true;
  }
}
