// A loopback RTP endpoint for tests: a real UDP socket that sends G.711-sized packets
// and records what it receives. (A stand-in for a phone or trunk where none can run.)
import { createSocket, type Socket } from 'node:dgram';

export interface Received {
  buf: Buffer;
  port: number;
}

export class RtpEndpoint {
  readonly received: Received[] = [];
  private constructor(private readonly socket: Socket, readonly port: number) {
    socket.on('message', (m, r) => this.received.push({ buf: Buffer.from(m), port: r.port }));
  }

  /** Binds `address` (default 127.0.0.1; a stranger sends from another loopback address). */
  static open(address = '127.0.0.1'): Promise<RtpEndpoint> {
    return new Promise((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, address, () => resolve(new RtpEndpoint(s, s.address().port)));
    });
  }

  send(buf: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(buf, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  /** Resolves once `n` packets matching `filter` arrived, rejects after `ms`. */
  async waitFor(n: number, filter: (b: Buffer) => boolean = () => true, ms = 3000): Promise<Buffer[]> {
    const end = Date.now() + ms;
    for (;;) {
      const got = this.received.map((r) => r.buf).filter(filter);
      if (got.length >= n) return got;
      if (Date.now() > end) throw new Error(`expected ${n} packets, got ${got.length}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export function g711(seq: number, ts: number, ssrc: number, pt = 0, marker = false, payload?: Buffer): Buffer {
  const body = payload ?? Buffer.alloc(160, 0xff);
  const b = Buffer.alloc(12 + body.length);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  body.copy(b, 12);
  return b;
}

/** An RFC 4733 event payload: event, E bit, volume, duration. */
export function dtmfPayload(event: number, end: boolean, duration: number): Buffer {
  const p = Buffer.alloc(4);
  p[0] = event;
  p[1] = (end ? 0x80 : 0) | 10;
  p.writeUInt16BE(duration, 2);
  return p;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const seqOf = (b: Buffer): number => b.readUInt16BE(2);
export const ssrcOf = (b: Buffer): number => b.readUInt32BE(8);
export const ptOf = (b: Buffer): number => b[1] & 0x7f;
export const isRtp = (b: Buffer): boolean => b.length >= 12 && (b[1] < 192 || b[1] > 223);

/** True if each sequence number is the previous + 1 (mod 2^16). */
export function continuous(seqs: number[]): boolean {
  for (let i = 1; i < seqs.length; i++) if (((seqs[i] - seqs[i - 1]) & 0xffff) !== 1) return false;
  return true;
}
