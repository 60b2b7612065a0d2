// HMAC-SHA1 (RFC 2104, FIPS 180-4) for the SRTP authentication transform (RFC 3711 §4.2.1).
// Why not node:crypto: createHmac costs ~3 µs per packet here, almost all of it the
// JS<->C++ crossing and the objects it allocates, for ~4 SHA-1 blocks of work. Hashing in
// JS from precomputed inner/outer pad states (the key schedule of HMAC, done once per
// session key) costs ~1.5 µs and allocates nothing. SHA-1 is pure 32-bit arithmetic with
// no key- or data-dependent table lookups, so this is not a timing side channel.
// Correctness is pinned against node:crypto in the tests and by the SRTP KATs.

const SHA1_IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0] as const;

// Scratch shared by every instance on the thread (compute() is synchronous, never
// re-entered): the message schedule, and the last two (padded) blocks of a message.
const scratchW = new Int32Array(80);
const scratchTail = new Uint8Array(128);
/** Offsets of the three states in HmacSha1.s. */
const INNER = 0;
const OUTER = 5;
const H = 10;

export class HmacSha1 {
  /**
   * Inner pad state [0..5), outer pad state [5..10) and the running hash [10..15) in one
   * array: a typed array costs an object and an ArrayBuffer of its own, per SRTP direction.
   */
  private readonly s = new Int32Array(15);

  constructor(key: Buffer) {
    if (key.length > 64) throw new Error('HMAC-SHA1 keys longer than a block are not used by SRTP');
    const pad = new Uint8Array(64);
    pad.fill(0x36);
    for (let i = 0; i < key.length; i++) pad[i] ^= key[i];
    const st = this.s;
    for (let i = 0; i < 5; i++) st[INNER + i] = SHA1_IV[i]!;
    this.compress(INNER, pad, 0);
    pad.fill(0x5c);
    for (let i = 0; i < key.length; i++) pad[i] ^= key[i];
    for (let i = 0; i < 5; i++) st[OUTER + i] = SHA1_IV[i]!;
    this.compress(OUTER, pad, 0);
  }

  /**
   * MAC of `buf[0..len)` followed, when `suffix >= 0`, by `suffix` as a 32-bit big-endian
   * word (the ROC of RFC 3711 §4.2). The 20-byte result stays inside; read it with
   * writeTag/equalsTag.
   */
  compute(buf: Uint8Array, len: number, suffix: number): void {
    const st = this.s;
    for (let i = 0; i < 5; i++) st[H + i] = st[INNER + i]!;
    let off = 0;
    for (; off + 64 <= len; off += 64) this.compress(H, buf, off);
    const tail = scratchTail;
    let n = 0;
    for (; off < len; off++) tail[n++] = buf[off];
    let total = len;
    if (suffix >= 0) {
      tail[n++] = suffix >>> 24;
      tail[n++] = (suffix >>> 16) & 0xff;
      tail[n++] = (suffix >>> 8) & 0xff;
      tail[n++] = suffix & 0xff;
      total += 4;
    }
    tail[n++] = 0x80;
    const end = n <= 56 ? 64 : 128;
    tail.fill(0, n, end - 8);
    // Message length in bits includes the 64-byte inner pad block already hashed.
    const bits = (64 + total) * 8;
    writeBE32(tail, end - 8, Math.floor(bits / 0x100000000));
    writeBE32(tail, end - 4, bits >>> 0);
    this.compress(H, tail, 0);
    if (end === 128) this.compress(H, tail, 64);
    // Outer hash: opad state, then the 20-byte inner digest as one padded block.
    for (let i = 0; i < 5; i++) writeBE32(tail, i * 4, st[H + i]!);
    tail[20] = 0x80;
    tail.fill(0, 21, 60);
    writeBE32(tail, 60, (64 + 20) * 8);
    for (let i = 0; i < 5; i++) st[H + i] = st[OUTER + i]!;
    this.compress(H, tail, 0);
  }

  /** Writes the first `n` bytes of the last MAC to `dst` at `off`. */
  writeTag(dst: Uint8Array, off: number, n: number): void {
    const st = this.s;
    for (let i = 0; i < n; i++) dst[off + i] = (st[H + (i >> 2)]! >>> (24 - 8 * (i & 3))) & 0xff;
  }

  /** Compares the first `n` bytes of the last MAC with `src` at `off`, in constant time. */
  equalsTag(src: Uint8Array, off: number, n: number): boolean {
    const st = this.s;
    let diff = 0;
    for (let i = 0; i < n; i++) diff |= src[off + i] ^ ((st[H + (i >> 2)]! >>> (24 - 8 * (i & 3))) & 0xff);
    return diff === 0;
  }

  /** One SHA-1 block of buf at `off` into the state at this.s[at..at + 5). */
  private compress(at: number, buf: Uint8Array, off: number): void {
    const h = this.s;
    const w = scratchW;
    for (let i = 0; i < 16; i++, off += 4) {
      w[i] = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h[at]!, b = h[at + 1]!, c = h[at + 2]!, d = h[at + 3]!, e = h[at + 4]!;
    for (let i = 0; i < 20; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + w[i] + 0x5a827999) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 20; i < 40; i++) {
      const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + w[i] + 0x6ed9eba1) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 40; i < 60; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + w[i] + 0x8f1bbcdc) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 60; i < 80; i++) {
      const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + w[i] + 0xca62c1d6) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    h[at] = (h[at]! + a) | 0; h[at + 1] = (h[at + 1]! + b) | 0; h[at + 2] = (h[at + 2]! + c) | 0; h[at + 3] = (h[at + 3]! + d) | 0; h[at + 4] = (h[at + 4]! + e) | 0;
  }
}

function writeBE32(dst: Uint8Array, off: number, v: number): void {
  dst[off] = v >>> 24;
  dst[off + 1] = (v >>> 16) & 0xff;
  dst[off + 2] = (v >>> 8) & 0xff;
  dst[off + 3] = v & 0xff;
}
