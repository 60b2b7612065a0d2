// HEPv3 encoding (the Homer Encapsulation Protocol that Homer, heplify and Kamailio's
// siptrace speak): "HEP3", the total length, then chunks of vendor id, type id, length
// (chunk header included) and value, all in network order. One packet per SIP message,
// carrying the addresses and ports it travelled between, its capture time, the capture
// agent id and a correlation id that ties both legs of a call together in Homer.

import { isIPv4, isIPv6 } from 'node:net';

/** Generic-vendor chunk types used here (HEP3 specification, chunk table). */
export const HEP_CHUNK = {
  ipFamily: 0x0001,
  ipProtocol: 0x0002,
  ipv4Source: 0x0003,
  ipv4Destination: 0x0004,
  ipv6Source: 0x0005,
  ipv6Destination: 0x0006,
  sourcePort: 0x0007,
  destinationPort: 0x0008,
  timeSeconds: 0x0009,
  timeMicroseconds: 0x000a,
  protocolType: 0x000b,
  captureAgentId: 0x000c,
  authKey: 0x000e,
  payload: 0x000f,
  correlationId: 0x0011,
} as const;

/** Protocol type 1: SIP. */
export const HEP_PROTO_SIP = 1;

export interface HepMessage {
  sourceAddress: string;
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
  /** 17 (UDP) or 6 (TCP: TCP, TLS, WS and WSS all ride on it). */
  ipProtocol: 6 | 17;
  /** Capture time, milliseconds since the epoch (microseconds from `micros` when known). */
  timeMs: number;
  captureAgentId: number;
  authKey?: string;
  correlationId?: string;
  payload: Buffer;
}

/** ::ffff:a.b.c.d (a dual-stack socket's view of IPv4) is the IPv4 address. */
function plain(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address)) throw new Error(`not an IP address: ${address}`);
  const [head, tail] = address.split('::') as [string, string | undefined];
  const parts = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const h = parts(head);
  const t = parts(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function chunk(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16BE(0x0000, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(6 + value.length, 4);
  return Buffer.concat([head, value]);
}

function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function encodeHep3(m: HepMessage): Buffer {
  const src = plain(m.sourceAddress);
  const dst = plain(m.destinationAddress);
  const v6 = isIPv6(src) || isIPv6(dst);
  const seconds = Math.floor(m.timeMs / 1000);
  const micros = Math.round((m.timeMs - seconds * 1000) * 1000);
  const chunks = [
    chunk(HEP_CHUNK.ipFamily, u8(v6 ? 10 : 2)),
    chunk(HEP_CHUNK.ipProtocol, u8(m.ipProtocol)),
    chunk(v6 ? HEP_CHUNK.ipv6Source : HEP_CHUNK.ipv4Source, ipBytes(v6 && isIPv4(src) ? `::ffff:${src}` : src)),
    chunk(v6 ? HEP_CHUNK.ipv6Destination : HEP_CHUNK.ipv4Destination, ipBytes(v6 && isIPv4(dst) ? `::ffff:${dst}` : dst)),
    chunk(HEP_CHUNK.sourcePort, u16(m.sourcePort)),
    chunk(HEP_CHUNK.destinationPort, u16(m.destinationPort)),
    chunk(HEP_CHUNK.timeSeconds, u32(seconds)),
    chunk(HEP_CHUNK.timeMicroseconds, u32(micros)),
    chunk(HEP_CHUNK.protocolType, u8(HEP_PROTO_SIP)),
    chunk(HEP_CHUNK.captureAgentId, u32(m.captureAgentId)),
    ...(m.authKey !== undefined ? [chunk(HEP_CHUNK.authKey, Buffer.from(m.authKey, 'utf8'))] : []),
    ...(m.correlationId !== undefined ? [chunk(HEP_CHUNK.correlationId, Buffer.from(m.correlationId, 'utf8'))] : []),
    chunk(HEP_CHUNK.payload, m.payload),
  ];
  const body = Buffer.concat(chunks);
  const head = Buffer.alloc(6);
  head.write('HEP3', 0, 'ascii');
  head.writeUInt16BE(6 + body.length, 4);
  return Buffer.concat([head, body]);
}
