// The libs/sip UAS example (libs/sip/dist/examples/uas.js) as a child process, the
// way a user runs it: flags in, JSON lines out, "stats" on stdin for its counters.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { REPO_ROOT } from './sipp.js';
// Type only (erased): importing the example's module would run it.
import type { StatsLine } from '../../../libs/sip/src/examples/uas.js';

const UAS_EXAMPLE = join(REPO_ROOT, 'libs/sip/dist/examples/uas.js');
const UAC_EXAMPLE = join(REPO_ROOT, 'libs/sip/dist/examples/uac.js');

/** A "stats" or "stopped" line, as the example declares it. */
export type UasStats = StatsLine;

export interface UasProcess {
  readonly process: ChildProcess;
  readonly points: Array<{ protocol: string; address: string; port: number }>;
  port(protocol: string): number;
  stats(): Promise<UasStats>;
  /** Closes stdin (a clean stop) and returns the final counters; kills after 5 s. */
  stop(): Promise<UasStats | undefined>;
}

export async function startUas(args: string[]): Promise<UasProcess> {
  const proc = spawn(process.execPath, [UAS_EXAMPLE, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const lines = createInterface({ input: proc.stdout! });
  const waiting: Array<(o: Record<string, unknown>) => void> = [];
  let last: UasStats | undefined;
  lines.on('line', (line) => {
    let o: Record<string, unknown>;
    try { o = JSON.parse(line) as Record<string, unknown>; } catch { return; }
    if (o.event === 'stats' || o.event === 'stopped') last = o as unknown as UasStats;
    waiting.shift()?.(o);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const next = (): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('UAS example did not answer; stderr: ' + stderr)), 5000);
    waiting.push((o) => { clearTimeout(t); resolve(o); });
    void exited.then(() => { clearTimeout(t); reject(new Error('UAS example exited; stderr: ' + stderr)); });
  });
  const listening = await next();
  const points = listening.points as UasProcess['points'];
  return {
    process: proc,
    points,
    port(protocol) {
      const p = points.find((x) => x.protocol === protocol);
      if (!p) throw new Error(`UAS example has no ${protocol} listening point`);
      return p.port;
    },
    async stats() {
      const answer = next();
      proc.stdin!.write('stats\n');
      return (await answer) as unknown as UasStats;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.stdin!.end();
        await exited;
        clearTimeout(kill);
      }
      return last;
    },
  };
}

/** Runs the UAC example to completion; its last stdout line is its JSON outcome. */
export function runUac(args: string[]): Promise<{ code: number | null; out: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [UAC_EXAMPLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const kill = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.once('error', reject);
    p.once('exit', (code) => {
      clearTimeout(kill);
      const line = stdout.trim().split('\n').at(-1) ?? '{}';
      let out: Record<string, unknown> = {};
      try { out = JSON.parse(line) as Record<string, unknown>; } catch { /* reported by the asserts */ }
      resolve({ code, out, stderr });
    });
  });
}
