// The slice of STUN (RFC 5389) an ICE-lite agent needs: parse and check a Binding
// request, write Binding success and error responses. A lite agent never sends
// requests (RFC 8445 §2.5), so there is no client side and no retransmission here.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';

export const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;
export const HEADER_LENGTH = 20;

export const StunMethod = { BindingRequest: 0x0001, BindingSuccess: 0x0101, BindingError: 0x0111 } as const;

export const StunAttr = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

// CRC-32 (ISO 3309 / ITU-T V.42, the one zlib uses), table built once.
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}
export function crc32(buf: Buffer, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** What the agent needs from a Binding request; offsets point into the original buffer. */
export interface BindingRequest {
  transactionId: Buffer;
  /** USERNAME as text, or null when absent. */
  username: string | null;
  priority: number;
  useCandidate: boolean;
  iceControlling: boolean;
  iceControlled: boolean;
  /** Offset of the MESSAGE-INTEGRITY attribute header, -1 if absent. */
  integrityAt: number;
  hasFingerprint: boolean;
  /** Comprehension-required attributes we do not know (RFC 5389 §7.3.1): answered with 420. */
  unknown: number[];
}

/** True when the bytes can be a STUN message (RFC 5389 §6: top two bits zero, magic cookie). */
export function looksLikeStun(buf: Buffer, len: number): boolean {
  return len >= HEADER_LENGTH && (buf[0]! & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE
    && (buf.readUInt16BE(2) & 3) === 0 && HEADER_LENGTH + buf.readUInt16BE(2) === len;
}

/**
 * Parses a Binding request. Returns null for anything that is not a well-formed
 * Binding request or whose FINGERPRINT is wrong: RFC 5389 §7.3 says to discard those
 * silently, and RFC 8445 §7.3 requires FINGERPRINT on every check.
 */
export function parseBindingRequest(buf: Buffer, len: number): BindingRequest | null {
  if (!looksLikeStun(buf, len) || buf.readUInt16BE(0) !== StunMethod.BindingRequest) return null;
  const req: BindingRequest = {
    transactionId: buf.subarray(8, 20), username: null, priority: 0, useCandidate: false,
    iceControlling: false, iceControlled: false, integrityAt: -1, hasFingerprint: false, unknown: [],
  };
  let at = HEADER_LENGTH;
  while (at + 4 <= len) {
    const type = buf.readUInt16BE(at);
    const vlen = buf.readUInt16BE(at + 2);
    const v = at + 4;
    if (v + vlen > len) return null;
    // §15.4/§15.5: only FINGERPRINT may follow MESSAGE-INTEGRITY; anything else after it is ignored.
    if (req.integrityAt >= 0 && type !== StunAttr.FINGERPRINT) { at = v + ((vlen + 3) & ~3); continue; }
    switch (type) {
      case StunAttr.USERNAME: req.username = buf.toString('utf8', v, v + vlen); break;
      case StunAttr.PRIORITY: if (vlen === 4) req.priority = buf.readUInt32BE(v); break;
      case StunAttr.USE_CANDIDATE: req.useCandidate = true; break;
      case StunAttr.ICE_CONTROLLING: req.iceControlling = true; break;
      case StunAttr.ICE_CONTROLLED: req.iceControlled = true; break;
      case StunAttr.MESSAGE_INTEGRITY: if (vlen !== 20) return null; req.integrityAt = at; break;
      case StunAttr.FINGERPRINT: {
        if (vlen !== 4 || v + 4 !== len) return null;
        const expected = (crc32WithLength(buf, at, len) ^ FINGERPRINT_XOR) >>> 0;
        if (buf.readUInt32BE(v) !== expected) return null;
        req.hasFingerprint = true;
        break;
      }
      default: if (type < 0x8000) req.unknown.push(type);
    }
    at = v + ((vlen + 3) & ~3);
  }
  return req.hasFingerprint ? req : null;
}

// FINGERPRINT and MESSAGE-INTEGRITY are computed as if the header's length field ended
// right after the attribute concerned (§15.4, §15.5); the buffer is restored after.
function crc32WithLength(buf: Buffer, attrAt: number, endOfAttr: number): number {
  const saved = buf.readUInt16BE(2);
  buf.writeUInt16BE(endOfAttr - HEADER_LENGTH, 2);
  const crc = crc32(buf, 0, attrAt);
  buf.writeUInt16BE(saved, 2);
  return crc;
}

function integrity(buf: Buffer, attrAt: number, key: string): Buffer {
  const saved = buf.readUInt16BE(2);
  buf.writeUInt16BE(attrAt + 24 - HEADER_LENGTH, 2);
  const mac = createHmac('sha1', key).update(buf.subarray(0, attrAt)).digest();
  buf.writeUInt16BE(saved, 2);
  return mac;
}

/** Checks MESSAGE-INTEGRITY with the short-term credential `key` (our ICE pwd, RFC 8445 §7.2.2). */
export function checkIntegrity(buf: Buffer, req: BindingRequest, key: string): boolean {
  if (req.integrityAt < 0) return false;
  const mac = integrity(buf, req.integrityAt, key);
  return timingSafeEqual(mac, buf.subarray(req.integrityAt + 4, req.integrityAt + 24));
}

/** Builds STUN responses into one reusable buffer (responses are sent before the next is built). */
export class StunWriter {
  private readonly out = Buffer.alloc(548);
  private len = 0;

  private begin(type: number, transactionId: Buffer): void {
    this.out.writeUInt16BE(type, 0);
    this.out.writeUInt16BE(0, 2);
    this.out.writeUInt32BE(MAGIC_COOKIE, 4);
    transactionId.copy(this.out, 8, 0, 12);
    this.len = HEADER_LENGTH;
  }

  private attr(type: number, vlen: number): number {
    const at = this.len;
    this.out.writeUInt16BE(type, at);
    this.out.writeUInt16BE(vlen, at + 2);
    const padded = (vlen + 3) & ~3;
    this.out.fill(0, at + 4 + vlen, at + 4 + padded);
    this.len = at + 4 + padded;
    this.out.writeUInt16BE(this.len - HEADER_LENGTH, 2);
    return at + 4;
  }

  // §15.2: the address XORed with the magic cookie (and the transaction id for IPv6).
  private xorMappedAddress(address: string, port: number): void {
    const v4 = isIPv4(address);
    const v = this.attr(StunAttr.XOR_MAPPED_ADDRESS, v4 ? 8 : 20);
    this.out[v] = 0;
    this.out[v + 1] = v4 ? 0x01 : 0x02;
    this.out.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), v + 2);
    const raw = v4 ? ipv4Bytes(address) : ipv6Bytes(address);
    for (let i = 0; i < raw.length; i++) this.out[v + 4 + i] = raw[i]! ^ this.out[4 + i]!;
  }

  private finish(key: string | null): Buffer {
    if (key !== null) {
      const v = this.attr(StunAttr.MESSAGE_INTEGRITY, 20);
      const mac = createHmac('sha1', key).update(this.out.subarray(0, v - 4)).digest();
      mac.copy(this.out, v);
    }
    const v = this.attr(StunAttr.FINGERPRINT, 4);
    this.out.writeUInt32BE((crc32(this.out, 0, v - 4) ^ FINGERPRINT_XOR) >>> 0, v);
    return this.out.subarray(0, this.len);
  }

  /** Binding success response (RFC 8445 §7.3.1.4): XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT. */
  success(transactionId: Buffer, address: string, port: number, key: string): Buffer {
    this.begin(StunMethod.BindingSuccess, transactionId);
    this.xorMappedAddress(address, port);
    return this.finish(key);
  }

  /**
   * Binding error response. `key` is null when the request could not be authenticated
   * (400, 401: RFC 5389 §10.1.2 says no MESSAGE-INTEGRITY then).
   */
  error(transactionId: Buffer, code: number, reason: string, key: string | null, unknown?: number[]): Buffer {
    this.begin(StunMethod.BindingError, transactionId);
    const reasonLen = Buffer.byteLength(reason);
    const v = this.attr(StunAttr.ERROR_CODE, 4 + reasonLen);
    this.out.writeUInt16BE(0, v);
    this.out[v + 2] = Math.floor(code / 100);
    this.out[v + 3] = code % 100;
    this.out.write(reason, v + 4);
    if (unknown && unknown.length > 0) {
      const u = this.attr(StunAttr.UNKNOWN_ATTRIBUTES, unknown.length * 2);
      unknown.forEach((t, i) => this.out.writeUInt16BE(t, u + i * 2));
    }
    return this.finish(key);
  }
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

function ipv6Bytes(address: string): number[] {
  let a = address;
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  // An IPv4-mapped tail (::ffff:1.2.3.4) becomes two hex groups.
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (m) {
    const b = ipv4Bytes(m[1]!);
    a = a.slice(0, m.index) + ((b[0]! << 8) | b[1]!).toString(16) + ':' + ((b[2]! << 8) | b[3]!).toString(16);
  }
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out: number[] = [];
  for (const g of groups) { const n = parseInt(g || '0', 16); out.push(n >> 8, n & 0xff); }
  return out;
}

/** Decodes an XOR-MAPPED-ADDRESS (for tests and tools that read our responses). */
export function readXorMappedAddress(buf: Buffer, len: number): { address: string; port: number } | null {
  let at = HEADER_LENGTH;
  while (at + 4 <= len) {
    const type = buf.readUInt16BE(at);
    const vlen = buf.readUInt16BE(at + 2);
    const v = at + 4;
    if (type === StunAttr.XOR_MAPPED_ADDRESS) {
      const port = buf.readUInt16BE(v + 2) ^ (MAGIC_COOKIE >>> 16);
      const n = buf[v + 1] === 0x01 ? 4 : 16;
      const bytes: number[] = [];
      for (let i = 0; i < n; i++) bytes.push(buf[v + 4 + i]! ^ buf[4 + i]!);
      const address = n === 4 ? bytes.join('.')
        : Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16)).join(':');
      return { address, port };
    }
    at = v + ((vlen + 3) & ~3);
  }
  return null;
}

/** Reads the ERROR-CODE of an error response as a number (e.g. 401), or 0. */
export function readErrorCode(buf: Buffer, len: number): number {
  let at = HEADER_LENGTH;
  while (at + 4 <= len) {
    const type = buf.readUInt16BE(at);
    const vlen = buf.readUInt16BE(at + 2);
    if (type === StunAttr.ERROR_CODE) return buf[at + 6]! * 100 + buf[at + 7]!;
    at = at + 4 + ((vlen + 3) & ~3);
  }
  return 0;
}

/**
 * Builds a Binding request as a full ICE agent sends it (RFC 8445 §7.2.2). The gateway
 * never sends one; tests use it to drive the lite agent like a browser does.
 */
export function buildBindingRequest(opts: {
  transactionId: Buffer; username: string; key: string; priority?: number;
  useCandidate?: boolean; controlling?: boolean; tieBreaker?: bigint;
}): Buffer {
  const attrs: Buffer[] = [];
  const add = (type: number, value: Buffer): void => {
    const a = Buffer.alloc(4 + ((value.length + 3) & ~3));
    a.writeUInt16BE(type, 0);
    a.writeUInt16BE(value.length, 2);
    value.copy(a, 4);
    attrs.push(a);
  };
  add(StunAttr.USERNAME, Buffer.from(opts.username));
  const prio = Buffer.alloc(4);
  prio.writeUInt32BE(opts.priority ?? 0x6e7f00ff, 0);
  add(StunAttr.PRIORITY, prio);
  const tb = Buffer.alloc(8);
  tb.writeBigUInt64BE(opts.tieBreaker ?? 1n, 0);
  add(opts.controlling === false ? StunAttr.ICE_CONTROLLED : StunAttr.ICE_CONTROLLING, tb);
  if (opts.useCandidate) add(StunAttr.USE_CANDIDATE, Buffer.alloc(0));
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(StunMethod.BindingRequest, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  opts.transactionId.copy(header, 8, 0, 12);
  let msg = Buffer.concat([header, ...attrs]);
  msg.writeUInt16BE(msg.length - HEADER_LENGTH + 24, 2);
  const mac = createHmac('sha1', opts.key).update(msg).digest();
  const mi = Buffer.alloc(24);
  mi.writeUInt16BE(StunAttr.MESSAGE_INTEGRITY, 0);
  mi.writeUInt16BE(20, 2);
  mac.copy(mi, 4);
  msg = Buffer.concat([msg, mi, Buffer.alloc(8)]);
  const fpAt = msg.length - 8;
  msg.writeUInt16BE(msg.length - HEADER_LENGTH, 2);
  msg.writeUInt16BE(StunAttr.FINGERPRINT, fpAt);
  msg.writeUInt16BE(4, fpAt + 2);
  msg.writeUInt32BE((crc32(msg, 0, fpAt) ^ FINGERPRINT_XOR) >>> 0, fpAt + 4);
  return msg;
}
