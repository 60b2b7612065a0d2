// Address blocks in CIDR notation (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6): the
// allow-lists of admission and fraud rules (a trunk's addresses, a call centre's NAT
// address exempt from per-IP limits). Every address is held as 16 bytes, IPv4 as its
// IPv4-mapped IPv6 form (RFC 4291 §2.5.5.2), so "10.0.0.0/8" also matches the
// "::ffff:10.1.2.3" a dual-stack socket reports, and one comparison serves both families.

import { isIP } from 'node:net';

export class CidrError extends Error {
  constructor(readonly text: string, reason: string) {
    super(`${JSON.stringify(text)} is not an address or CIDR block: ${reason}`);
    this.name = 'CidrError';
  }
}

/** One block: `bytes` masked to `prefix` bits (of 128). */
export interface Cidr {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** The 16-byte form of an IPv4 or IPv6 literal (zone id ignored), or undefined. */
export function ipBytes(address: string): Uint8Array | undefined {
  const pct = address.indexOf('%');
  const a = pct === -1 ? address : address.slice(0, pct);
  const family = isIP(a);
  if (family === 4) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    writeV4(a, out, 12);
    return out;
  }
  if (family === 6) return v6Bytes(a);
  return undefined;
}

function writeV4(a: string, out: Uint8Array, at: number): void {
  const parts = a.split('.');
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i]);
}

/** isIP() has validated the text: expand "::" and an embedded dotted quad. */
function v6Bytes(a: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = a;
  let tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    tail = new Uint8Array(4);
    writeV4(text.slice(lastColon + 1), tail, 0);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = all[i]! >> 8;
    out[i * 2 + 1] = all[i]! & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128 block). */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash === -1 ? text.trim() : text.slice(0, slash).trim();
  const bytes = ipBytes(addr);
  if (!bytes) throw new CidrError(text, 'not an IPv4 or IPv6 address');
  const v4 = isIP(addr) === 4;
  const max = v4 ? 32 : 128;
  let bits = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new CidrError(text, `prefix length must be 0-${max}`);
    bits = Number(p);
  }
  const prefix = v4 ? bits + 96 : bits;
  for (let i = 0; i < 16; i++) bytes[i]! &= maskByte(prefix, i);
  return { text, bytes, prefix };
}

function maskByte(prefix: number, index: number): number {
  const bits = prefix - index * 8;
  if (bits >= 8) return 0xff;
  if (bits <= 0) return 0;
  return (0xff << (8 - bits)) & 0xff;
}

export function cidrContains(block: Cidr, address: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) {
    const m = maskByte(block.prefix, i);
    if (m === 0) return true;
    if ((address[i]! & m) !== block.bytes[i]) return false;
  }
  return true;
}

/** A list of blocks; `has(address)` is true when any contains it. */
export class CidrSet {
  readonly blocks: readonly Cidr[];

  /** Throws CidrError naming the first entry that does not parse. */
  constructor(list: readonly string[]) {
    this.blocks = list.map(parseCidr);
  }

  get size(): number {
    return this.blocks.length;
  }

  has(address: string): boolean {
    if (this.blocks.length === 0) return false;
    const bytes = ipBytes(address);
    return bytes !== undefined && this.hasBytes(bytes);
  }

  hasBytes(bytes: Uint8Array): boolean {
    for (const b of this.blocks) if (cidrContains(b, bytes)) return true;
    return false;
  }
}
