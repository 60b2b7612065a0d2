// baresip as a real SIP phone / small PBX on the trunk side: a config directory the
// test writes (PCMU only, a 440 Hz sine as its microphone, every call's decoded
// received audio dumped to a WAV file by the sndfile module), auto-answer, and an
// optional number to dial at start. INTEROP-NOTES: its ausine source wants 48 kHz
// stereo; it needs an address to bind to (127.0.0.1 here, SIP on its own address).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BaresipOptions {
  /** SIP listening address and port (the trunk's identity at the gateway). */
  address: string;
  port: number;
  /** User part of its account: calls to this user are auto-answered. */
  user: string;
  /** RTP port range (inside the test file's range). */
  rtpPorts: { min: number; max: number };
  /** A SIP URI to call once started. */
  dial?: string;
  /** Quit after this many seconds whatever happens. */
  quitAfterSec?: number;
}

export interface Baresip {
  output(): string;
  /** Resolves once `text` appears in its output (or rejects after `ms`). */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  /** RMS of the audio it received and decoded (16-bit samples), over all dumped calls. */
  receivedRms(): number;
  stop(): Promise<void>;
}

export async function startBaresip(o: BaresipOptions): Promise<Baresip> {
  const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
  writeFileSync(join(dir, 'config'), [
    `sip_listen ${o.address}:${o.port}`,
    'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module ausine.so', 'module sndfile.so', 'module account.so', 'module menu.so',
    `snd_path ${dir}`,
    'audio_source ausine,440',
    'ausrc_srate 48000', 'ausrc_channels 2',
    'net_interface 127.0.0.1',
    `rtp_ports ${o.rtpPorts.min}-${o.rtpPorts.max}`,
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'), `<sip:${o.user}@${o.address}>;regint=0;answermode=auto;audio_codecs=PCMU\n`);
  const args = ['-f', dir, '-t', String(o.quitAfterSec ?? 60), ...(o.dial ? ['-e', `/dial ${o.dial}`] : [])];
  const proc: ChildProcess = spawn('baresip', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const waitFor = (text: string | RegExp, ms = 15_000): Promise<void> => new Promise((resolve, reject) => {
    const until = Date.now() + ms;
    const check = (): void => {
      if (typeof text === 'string' ? out.includes(text) : text.test(out)) return resolve();
      if (Date.now() > until || proc.exitCode !== null) return reject(new Error(`baresip never said ${String(text)}: ${out.slice(-1500)}`));
      waiters.push(check);
      setTimeout(() => { const i = waiters.indexOf(check); if (i >= 0) { waiters.splice(i, 1); check(); } }, 200);
    };
    check();
  });
  await waitFor('baresip is ready.', 10_000);
  return {
    output: () => out,
    waitFor,
    receivedRms: () => {
      let sum = 0;
      let n = 0;
      for (const f of readdirSync(dir).filter((x) => x.endsWith('-dec.wav'))) {
        const wav = readFileSync(join(dir, f));
        for (let i = 44; i + 1 < wav.length; i += 2) { const s = wav.readInt16LE(i); sum += s * s; n++; }
      }
      return n === 0 ? 0 : Math.sqrt(sum / n);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** G.711 mu-law (ITU-T G.711) of one 16-bit sample. */
export function muLaw(sample: number): number {
  const BIAS = 0x84;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(32635, Math.abs(sample)) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  s = ~(sign | (exponent << 4) | mantissa);
  return s & 0xff;
}

/** The 16-bit sample a mu-law byte stands for. */
export function muLawDecode(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return (u & 0x80) ? 0x84 - t : t - 0x84;
}

/** 20 ms frames (160 mu-law bytes) of a `freq` Hz tone at about half scale. */
export function toneFrames(freq: number, frames: number): Buffer[] {
  const out: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    const b = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) b[i] = muLaw(Math.round(16000 * Math.sin((2 * Math.PI * freq * (f * 160 + i)) / 8000)));
    out.push(b);
  }
  return out;
}
