// The few DNS messages RFC 3263 needs (RFC 1035 §4, RFC 2782 SRV, RFC 3403 NAPTR,
// RFC 3596 AAAA): one question out, the answer records back with their TTLs. Node's
// dns module gives no TTL for SRV or NAPTR records, and RFC 3263 lookups must be
// cached by TTL, so the stack reads the wire format itself.

export const RR = { A: 1, CNAME: 5, AAAA: 28, SRV: 33, NAPTR: 35 } as const;
export type RecordType = keyof typeof RR;

export interface SrvRecord { priority: number; weight: number; port: number; target: string }
export interface NaptrRecord { order: number; preference: number; flags: string; service: string; regexp: string; replacement: string }

export type Answer =
  | { type: 'A' | 'AAAA'; name: string; ttl: number; address: string }
  | { type: 'SRV'; name: string; ttl: number; srv: SrvRecord }
  | { type: 'NAPTR'; name: string; ttl: number; naptr: NaptrRecord }
  | { type: 'CNAME'; name: string; ttl: number; target: string };

export interface DnsResponse {
  id: number;
  /** RCODE (0 = no error, 3 = NXDOMAIN). */
  rcode: number;
  truncated: boolean;
  answers: Answer[];
}

export class DnsFormatError extends Error {}

/** A recursive query for one name and type. */
export function encodeQuery(id: number, name: string, type: RecordType): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  parts.push(header);
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    if (b.length > 63) throw new DnsFormatError(`label too long in ${name}`);
    parts.push(Buffer.from([b.length]), b);
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(RR[type], 1);
  tail.writeUInt16BE(1, 3); // IN
  parts.push(tail);
  return Buffer.concat(parts);
}

function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the message');
    const len = buf[pos]!;
    if (len === 0) { pos++; break; }
    if ((len & 0xc0) === 0xc0) {
      if (++jumps > 32) throw new DnsFormatError('compression loop');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    labels.push(buf.toString('ascii', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), next: next < 0 ? pos : next };
}

function readString(buf: Buffer, pos: number): { s: string; next: number } {
  const len = buf[pos]!;
  return { s: buf.toString('utf8', pos + 1, pos + 1 + len), next: pos + 1 + len };
}

export function decodeResponse(buf: Buffer): DnsResponse {
  if (buf.length < 12) throw new DnsFormatError('short message');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) pos = readName(buf, pos).next + 4;
  const answers: Answer[] = [];
  for (let i = 0; i < an; i++) {
    const n = readName(buf, pos);
    pos = n.next;
    if (pos + 10 > buf.length) throw new DnsFormatError('record runs past the message');
    const type = buf.readUInt16BE(pos);
    const ttl = buf.readUInt32BE(pos + 4);
    const rdlen = buf.readUInt16BE(pos + 8);
    const rd = pos + 10;
    pos = rd + rdlen;
    if (pos > buf.length) throw new DnsFormatError('rdata runs past the message');
    if (type === RR.A && rdlen === 4) {
      answers.push({ type: 'A', name: n.name, ttl, address: [...buf.subarray(rd, rd + 4)].join('.') });
    } else if (type === RR.AAAA && rdlen === 16) {
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(buf.readUInt16BE(rd + 2 * g).toString(16));
      answers.push({ type: 'AAAA', name: n.name, ttl, address: groups.join(':') });
    } else if (type === RR.SRV) {
      const target = readName(buf, rd + 6).name;
      answers.push({ type: 'SRV', name: n.name, ttl, srv: { priority: buf.readUInt16BE(rd), weight: buf.readUInt16BE(rd + 2), port: buf.readUInt16BE(rd + 4), target } });
    } else if (type === RR.NAPTR) {
      const flags = readString(buf, rd + 4);
      const service = readString(buf, flags.next);
      const regexp = readString(buf, service.next);
      const replacement = readName(buf, regexp.next).name;
      answers.push({ type: 'NAPTR', name: n.name, ttl, naptr: { order: buf.readUInt16BE(rd), preference: buf.readUInt16BE(rd + 2), flags: flags.s.toLowerCase(), service: service.s.toUpperCase(), regexp: regexp.s, replacement } });
    } else if (type === RR.CNAME) {
      answers.push({ type: 'CNAME', name: n.name, ttl, target: readName(buf, rd).name });
    }
  }
  return { id, rcode: flags & 0x0f, truncated: (flags & 0x0200) !== 0, answers };
}
