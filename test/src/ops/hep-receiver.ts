// A HEP collector for tests: a UDP socket that decodes every HEPv3 packet it receives
// (chunk by chunk, as Homer's heplify-server reads them) into plain fields. Homer itself
// is not installable here (no Debian package, no network for its container), so this
// stand-in decodes the packets the way the collector would; it shares no code with the
// gateway's encoder.

import { createSocket, type Socket } from 'node:dgram';

export interface HepPacket {
  family: number;
  protocol: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seconds: number;
  micros: number;
  protoType: number;
  agentId: number;
  authKey?: string;
  correlationId?: string;
  payload: string;
}

function ip(buf: Buffer): string {
  if (buf.length === 4) return [...buf].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(i).toString(16));
  return groups.join(':');
}

export function decodeHep(msg: Buffer): HepPacket {
  if (msg.toString('ascii', 0, 4) !== 'HEP3') throw new Error('not HEP3');
  const total = msg.readUInt16BE(4);
  if (total !== msg.length) throw new Error(`HEP3 length ${total} but datagram ${msg.length}`);
  const p: Partial<HepPacket> = {};
  for (let at = 6; at < total;) {
    const vendor = msg.readUInt16BE(at);
    const type = msg.readUInt16BE(at + 2);
    const len = msg.readUInt16BE(at + 4);
    if (len < 6 || at + len > total) throw new Error(`bad chunk length ${len} at ${at}`);
    const v = msg.subarray(at + 6, at + len);
    at += len;
    if (vendor !== 0) continue;
    switch (type) {
      case 1: p.family = v[0]!; break;
      case 2: p.protocol = v[0]!; break;
      case 3: case 5: p.srcIp = ip(v); break;
      case 4: case 6: p.dstIp = ip(v); break;
      case 7: p.srcPort = v.readUInt16BE(0); break;
      case 8: p.dstPort = v.readUInt16BE(0); break;
      case 9: p.seconds = v.readUInt32BE(0); break;
      case 10: p.micros = v.readUInt32BE(0); break;
      case 11: p.protoType = v[0]!; break;
      case 12: p.agentId = v.readUInt32BE(0); break;
      case 14: p.authKey = v.toString('utf8'); break;
      case 15: p.payload = v.toString('utf8'); break;
      case 17: p.correlationId = v.toString('utf8'); break;
      default: break;
    }
  }
  for (const k of ['family', 'protocol', 'srcIp', 'dstIp', 'srcPort', 'dstPort', 'seconds', 'micros', 'protoType', 'agentId', 'payload'] as const) {
    if (p[k] === undefined) throw new Error(`HEP3 packet without ${k}`);
  }
  return p as HepPacket;
}

export interface HepReceiver {
  port: number;
  packets: HepPacket[];
  /** Datagrams that did not decode (a test asserts there are none). */
  errors: string[];
  close(): Promise<void>;
}

export async function startHepReceiver(): Promise<HepReceiver> {
  const sock: Socket = createSocket('udp4');
  const r: HepReceiver = { port: 0, packets: [], errors: [], close: () => new Promise((res) => sock.close(() => res())) };
  sock.on('message', (m) => {
    try { r.packets.push(decodeHep(m)); } catch (err) { r.errors.push(String(err)); }
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  r.port = sock.address().port;
  return r;
}
