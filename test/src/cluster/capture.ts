// The wire, as the drills assert it: a tshark capture of every UDP datagram to or from
// the service address, read back with its first bytes so each is told apart the way a
// WebRTC endpoint does (RFC 7983 §7: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP), and RTP
// sequence numbers read from the header itself (SRTP leaves the header in the clear).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './nodes.js';
import { sleep } from '../gateway/harness.js';

export interface Datagram {
  /** Epoch ms. */
  at: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** The first bytes of the UDP payload. */
  head: Buffer;
}

export type Kind = 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'other';

export function kindOf(d: Datagram): Kind {
  const b = d.head[0];
  if (b === undefined) return 'other';
  if (b <= 3) return 'stun';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 128 && b <= 191) {
    const pt = d.head[1] ?? 0;
    return pt >= 192 && pt <= 223 ? 'rtcp' : 'rtp';
  }
  return 'other';
}

export function rtpSeq(d: Datagram): number {
  return d.head.readUInt16BE(2);
}

/** DTLS handshake records (content type 22): a new handshake on the wire. */
export function isDtlsHandshake(d: Datagram): boolean {
  return kindOf(d) === 'dtls' && d.head[0] === 22;
}

export class Capture {
  private constructor(private readonly proc: ChildProcess, private readonly dir: string, readonly file: string) {}

  /** Captures UDP to and from `hosts` on `iface` (default lo) until stop(). */
  static async start(hosts: string | string[], iface = 'lo', netns?: string): Promise<Capture> {
    const dir = mkdtempSync(join(tmpdir(), 'fo-capture-'));
    const file = join(dir, 'wire.pcap');
    const filter = `udp and (${[hosts].flat().map((h) => `host ${h}`).join(' or ')})`;
    const argv = ['tshark', '-q', '-i', iface, '-f', filter, '-w', file];
    const proc = netns ? spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const started = new Promise<void>((resolve, reject) => {
      proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        if (/Capturing on/.test(err)) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`tshark exited (${code}): ${err}`)));
    });
    await Promise.race([started, sleep(10_000).then(() => { throw new Error(`tshark did not start: ${err}`); })]);
    return new Capture(proc, dir, file);
  }

  /** Stops the capture and reads every datagram back. */
  async stop(): Promise<Datagram[]> {
    if (this.proc.exitCode === null) {
      // Let the last packets reach the file, then stop tshark cleanly (it flushes).
      await sleep(300);
      const exited = new Promise((resolve) => this.proc.once('exit', resolve));
      this.proc.kill('SIGINT');
      await exited;
    }
    const out = await run(['tshark', '-r', this.file, '-T', 'fields', '-E', 'separator=\t',
      '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'udp.payload']);
    const list: Datagram[] = [];
    for (const line of out.split('\n')) {
      const [t, src, sport, dst, dport, payload] = line.split('\t');
      if (!t || !payload) continue;
      list.push({ at: Number(t) * 1000, src: src!, sport: Number(sport), dst: dst!, dport: Number(dport), head: Buffer.from(payload.replace(/:/g, '').slice(0, 64), 'hex') });
    }
    return list;
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One direction of media around an instant: the gap and whether sequence numbers only moved forward. */
export interface FlowReport {
  before: number;
  after: number;
  /**
   * The longest silence from the last packet before `at` through the next `windowMs`,
   * ms. Not simply last-before to first-after: a node killed at `at` may still have
   * had a packet on its way (or sent one before the signal landed), and the silence
   * follows that packet.
   */
  gapMs: number;
  /** Every sequence number after `at` is ahead of the highest before it (mod 2^16). */
  forward: boolean;
  /** Sources of the packets after `at`. */
  sourcesAfter: string[];
  /** The packet that ended the gap. */
  firstAfterAt: number;
}

export function flowAround(packets: Datagram[], at: number, windowMs = 10_000): FlowReport {
  const before = packets.filter((p) => p.at < at);
  const after = packets.filter((p) => p.at >= at);
  const last = before.at(-1);
  let gapMs = Infinity;
  let firstAfterAt = Infinity;
  if (last && after.length > 0) {
    gapMs = 0;
    let prev = last.at;
    for (const p of after) {
      if (prev > at + windowMs) break;
      if (p.at - prev > gapMs) {
        gapMs = p.at - prev;
        firstAfterAt = p.at;
      }
      prev = p.at;
    }
    gapMs = Math.round(gapMs);
  }
  let highest = last ? rtpSeq(last) : 0;
  // The highest before `at`, walking forward through wraps.
  for (const p of before) if (((rtpSeq(p) - highest) & 0xffff) < 0x8000) highest = rtpSeq(p);
  const forward = after.every((p) => {
    const d = (rtpSeq(p) - highest) & 0xffff;
    return d > 0 && d < 0x8000;
  });
  return {
    before: before.length, after: after.length,
    gapMs, forward, sourcesAfter: [...new Set(after.map((p) => `${p.src}:${p.sport}`))], firstAfterAt,
  };
}
