// Runs SIPp as a real peer for the integration tests: free loopback ports, the
// process, its final statistics screen and its -trace_msg log, parsed into numbers
// a test can assert on.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** <repo root>, computed from this file's place (test/dist/sip/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SIPP_SCENARIOS = join(REPO_ROOT, 'libs/sip/testdata/sipp');

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => { s.close(); resolve(false); });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port free for both TCP and UDP on 127.0.0.1 (SIPp's -t t1 and u1 both use -p). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    if (await udpFree(port)) return port;
  }
  throw new Error('no free port');
}

/** Even port p with p and p+2 free for UDP: SIPp binds its media sockets there (-mp). */
async function freeMediaPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = (await freePort()) & ~1;
    const ok = await Promise.all([p, p + 2].map(udpFree));
    if (ok.every(Boolean)) return p;
  }
  throw new Error('no free media port pair');
}

/** One line of SIPp's scenario screen: the message and its counters. */
export interface SippRow {
  /** Request method or response code, e.g. "INVITE", "200". */
  message: string;
  /** 'in' for a recv step, 'out' for a send step. */
  direction: 'in' | 'out';
  messages: number;
  retrans: number;
  timeouts: number;
  unexpected: number;
}

export interface SippMessage {
  /** Milliseconds since the epoch, from the trace header (microsecond precision). */
  at: number;
  direction: 'received' | 'sent';
  /** The start line. */
  startLine: string;
  /** The whole message text. */
  text: string;
}

export interface SippResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  successful: number;
  failed: number;
  rows: SippRow[];
  /** Filled when started with trace: true. */
  messages: SippMessage[];
}

export interface SippRun {
  readonly process: ChildProcess;
  readonly done: Promise<SippResult>;
  /** Stops SIPp if it still runs and removes its files; for after(). */
  stop(): Promise<void>;
}

export interface SippOptions {
  /** Local SIP port (-p); a free one when absent. */
  port?: number;
  /** Local address for SIP and media (-i, -mi); default 127.0.0.1. */
  address?: string;
  /** Extra SIPp arguments (scenario, -m, -r, -t, remote host ...). */
  args: string[];
  /** Write -trace_msg and parse it into result.messages. */
  trace?: boolean;
  /** Hard limit for the whole run (SIPp's own -timeout), default 30 s. */
  timeoutSec?: number;
  /** Run inside this network namespace (`ip netns exec`); give `port` and `mediaPort` then. */
  netns?: string;
  /** Media port (-mp); a free one on 127.0.0.1 when absent. */
  mediaPort?: number;
}

export async function startSipp(opts: SippOptions): Promise<SippRun & { port: number }> {
  const port = opts.port ?? await freePort();
  const mediaPort = opts.mediaPort ?? await freeMediaPort();
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const msgFile = join(dir, 'messages.log');
  const address = opts.address ?? '127.0.0.1';
  const args = ['-i', address, '-p', String(port), '-mi', address, '-mp', String(mediaPort),
    '-nostdin', '-timeout', `${opts.timeoutSec ?? 30}s`, '-timeout_error',
    ...(opts.trace ? ['-trace_msg', '-message_file', msgFile] : []), ...opts.args];
  const proc = opts.netns ? spawn('ip', ['netns', 'exec', opts.netns, 'sipp', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<SippResult>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      const messages = opts.trace && existsSync(msgFile) ? parseTrace(readFileSync(msgFile, 'utf8')) : [];
      resolve({ code, signal, stdout, stderr, ...parseScreen(stdout), messages });
    });
  });
  // The exit handler reads the trace file: remove the directory only after it ran.
  done.catch(() => undefined);
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await done.catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  return { process: proc, done, stop, port };
}

/** The last statistics screen SIPp prints when it ends. */
function parseScreen(stdout: string): { successful: number; failed: number; rows: SippRow[] } {
  const lastStats = stdout.lastIndexOf('Statistics Screen');
  const stats = lastStats === -1 ? '' : stdout.slice(lastStats);
  const cumulative = (label: string): number => {
    const m = new RegExp(label + '\\s*\\|[^|]*\\|\\s*(\\d+)').exec(stats);
    return m ? Number(m[1]) : 0;
  };
  // The scenario screen printed just before the last statistics screen.
  const head = lastStats === -1 ? stdout : stdout.slice(0, lastStats);
  const scenarioStart = head.lastIndexOf('Messages  Retrans');
  const rows: SippRow[] = [];
  if (scenarioStart !== -1) {
    for (const line of head.slice(scenarioStart).split('\n').slice(1)) {
      // "----------> INVITE" (UAS screen) is received, "INVITE ---------->" (UAC) sent.
      const t = line.trim();
      let direction: 'in' | 'out';
      if (t.startsWith('---------->')) direction = 'in';
      else if (t.startsWith('<----------')) direction = 'out';
      else if (t.includes('---------->')) direction = 'out';
      else if (t.includes('<----------')) direction = 'in';
      else continue;
      const tokens = line.replace(/<?-{10}>?/g, ' ').trim().split(/\s+/);
      const message = tokens[0]!;
      const nums = tokens.slice(1).filter((t) => /^\d+$/.test(t)).map(Number);
      rows.push({
        message, direction,
        messages: nums[0] ?? 0, retrans: nums[1] ?? 0, timeouts: nums[2] ?? 0, unexpected: nums[3] ?? 0,
      });
    }
  }
  return { successful: cumulative('Successful call'), failed: cumulative('Failed call'), rows };
}

/** -trace_msg: each message preceded by a dashed line with its date and time. */
function parseTrace(log: string): SippMessage[] {
  const out: SippMessage[] = [];
  const re = /-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\r?\n(?:UDP|TCP|TLS|SCTP) message (received|sent)[^\n]*\n\n/g;
  const marks: Array<{ at: number; direction: 'received' | 'sent'; start: number; end: number }> = [];
  for (let m = re.exec(log); m; m = re.exec(log)) {
    const [date, time] = m[1]!.split(' ');
    const [hms, frac] = time!.split('.');
    const at = Date.parse(`${date}T${hms}`) + Number(`0.${frac}`) * 1000;
    marks.push({ at, direction: m[2] as 'received' | 'sent', start: m.index + m[0].length, end: m.index });
  }
  for (let i = 0; i < marks.length; i++) {
    const text = log.slice(marks[i]!.start, i + 1 < marks.length ? marks[i + 1]!.end : log.length).trim();
    out.push({ at: marks[i]!.at, direction: marks[i]!.direction, startLine: text.split(/\r?\n/)[0]!, text });
  }
  return out;
}
