// What the failover drills share: gateway nodes as separate OS processes (the CLI,
// `node apps/gateway/dist/main.js --config FILE`, as an operator runs it), each on its
// own service address in 127.0.10.0/24, sharing one real redis-server; their JSON log
// lines read back as events; their /health counters; a packet capture of the service
// address taken with tshark and read back per flow.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../sip/sipp.js';
import type { Page } from 'playwright-core';
import { AGENT, AGENT_NUMBER, CALLER, DOMAIN, sleep, type PageParams } from '../gateway/harness.js';

export interface NodeOptions {
  name: string;
  /** Service address: SIP listeners, media and HTTP bind here. */
  address: string;
  redisUrl: string;
  /** The SIPp trunk on 127.0.0.1. */
  trunkPort: number;
  ports: { min: number; max: number };
  /** Lease TTL and renew interval, seconds. */
  lease?: { ttl: number; renew: number };
  checkpointInterval?: number;
  /** Run the process inside this network namespace. */
  netns?: string;
  /** Address of the HTTP and admin listeners (the node's own, not the service address); default `address`. */
  httpAddress?: string;
  /** The trunk's address (default 127.0.0.1). */
  trunkAddress?: string;
  /** Extra cluster keys. */
  cluster?: Record<string, unknown>;
  /** Top-level configuration keys replacing the drills' (a bench holding a hundred calls of one user). */
  config?: Record<string, unknown>;
}

export interface Health {
  liveCalls: number;
  callsStarted: number;
  callsCompleted: number;
  portsInUse: number;
  registrations: number;
}

export type LogEvent = Record<string, unknown> & { event?: string; message?: string };

export class GatewayNode {
  readonly events: LogEvent[] = [];
  private readonly exited: Promise<void>;
  private stderrTail = '';
  private waiters: Array<() => void> = [];

  private constructor(readonly opts: NodeOptions, readonly proc: ChildProcess, private readonly dir: string) {
    let buf = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      this.stderrTail = (this.stderrTail + d).slice(-4000);
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const ev = JSON.parse(line) as LogEvent;
          ev.at = Date.now();
          this.events.push(ev);
          if (ev.level === 'error') process.stderr.write(`[${opts.name}] ${line}\n`);
        } catch {
          process.stderr.write(`[${opts.name}] ${line}\n`);
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    proc.stdout!.resume();
    this.exited = new Promise((resolve) => proc.once('exit', () => {
      for (const w of this.waiters.splice(0)) w();
      resolve();
    }));
  }

  static async start(opts: NodeOptions): Promise<GatewayNode> {
    const dir = mkdtempSync(join(tmpdir(), `fo-node-${opts.name}-`));
    const config = {
      domain: DOMAIN,
      listeners: [{ protocol: 'ws', address: opts.address, port: 0 }, { protocol: 'udp', address: opts.address, port: 0 }],
      http: { address: opts.httpAddress ?? opts.address, port: 0, demo: true },
      admin: { address: opts.httpAddress ?? opts.address, port: 0, token: 'drill-admin-token-0123456789' },
      media: { address: opts.address, portMin: opts.ports.min, portMax: opts.ports.max, workers: 1 },
      trunks: [{ name: 'sipp', address: opts.trunkAddress ?? '127.0.0.1', port: opts.trunkPort, codecs: ['PCMU', 'PCMA', 'telephone-event/8000'], answerTimeout: 20 }],
      routes: [{ match: '^\\d+$', trunk: 'sipp' }],
      inbound: [{ match: `^${AGENT_NUMBER}$`, aor: `sip:${AGENT.username}@${DOMAIN}`, ringTimeout: 20 }],
      users: [CALLER, AGENT],
      logging: { level: 'info' },
      // The drills are about failover, not toll fraud: ten tabs of one user calling at once
      // from loopback must not meet the per-user, per-AOR and per-address guards.
      security: { maxContactsPerAor: 20, calls: { perUser: 20, perUserPerMinute: 200 }, rateLimit: { exempt: ['127.0.0.0/8', '10.77.0.0/24'] } },
      cluster: {
        node: opts.name, redis: { url: opts.redisUrl, connectTimeout: 5 },
        lease: opts.lease ?? { ttl: 1, renew: 0.25 }, checkpointInterval: opts.checkpointInterval ?? 1, browserReconnectWait: 10,
        ...opts.cluster,
      },
      ...opts.config,
    };
    const file = join(dir, 'config.yaml');
    // JSON is YAML.
    writeFileSync(file, JSON.stringify(config, null, 2));
    const argv = [join(REPO_ROOT, 'apps/gateway/dist/main.js'), '--config', file];
    const proc = opts.netns ? spawn('ip', ['netns', 'exec', opts.netns, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const node = new GatewayNode(opts, proc, dir);
    await node.waitFor((e) => e.event === 'cluster-joined', 20_000).catch(async (err: Error) => {
      await node.kill();
      throw new Error(`${opts.name} did not join the cluster: ${err.message}\n${node.stderrTail}`);
    });
    await node.waitFor((e) => e.event === 'listening' && e.protocol === 'http', 10_000);
    return node;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private listening(protocol: string): { address: string; port: number } {
    const e = this.events.find((x) => x.event === 'listening' && x.protocol === protocol);
    assert.ok(e, `${this.opts.name} listens on ${protocol}`);
    return { address: String(e.address), port: Number(e.port) };
  }

  get sipPort(): number {
    return this.listening('udp').port;
  }

  get httpUrl(): string {
    const h = this.listening('http');
    return `http://${h.address}:${h.port}/`;
  }

  /** Resolves with the first event (past or future) matching `pred`. */
  async waitFor(pred: (e: LogEvent) => boolean, timeout = 15_000): Promise<LogEvent> {
    const until = Date.now() + timeout;
    for (;;) {
      const e = this.events.find(pred);
      if (e) return e;
      if (Date.now() >= until) throw new Error(`${this.opts.name}: no such event within ${timeout} ms`);
      if (!this.alive) throw new Error(`${this.opts.name} exited`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(250, until - Date.now()));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** GET /health (inside the node's namespace when it has one). */
  async health(): Promise<Health> {
    if (this.opts.netns) {
      const out = await runIn(this.opts.netns, ['curl', '-s', '--max-time', '2', `${this.httpUrl}health`]);
      return JSON.parse(out) as Health;
    }
    const res = await fetch(`${this.httpUrl}health`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Health;
  }

  /** Polls until `pred(health)` holds. */
  async waitHealth(pred: (h: Health) => boolean, timeout = 10_000): Promise<Health> {
    let h = await this.health();
    for (const until = Date.now() + timeout; !pred(h) && Date.now() < until;) {
      await sleep(100);
      h = await this.health();
    }
    return h;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(sig);
  }

  /** kill -9 (the drill), or the end of a test. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * The end of every drill on the surviving node: no live call and no media port left
   * (polled a few seconds: a BYE's 200 may still be on its way), then the process goes.
   */
  async assertReleasedAndKill(check = true): Promise<void> {
    try {
      if (check && this.alive) {
        const h = await this.waitHealth((x) => x.liveCalls === 0 && x.portsInUse === 0, 8000);
        assert.deepEqual([h.liveCalls, h.portsInUse], [0, 0], `${this.opts.name}: no live call and no media port left: ${JSON.stringify(h)}`);
      }
    } finally {
      await this.kill();
    }
  }
}

declare const window: { softphone: { registered: boolean } };

/** Opens the demo softphone served by a node (its page at `url`) and waits until it registered. */
export async function openSoftphoneAt(page: Page, url: string, p: PageParams, timeout = 15_000): Promise<void> {
  const q = new URLSearchParams({ user: p.user, password: p.password });
  if (p.target) q.set('target', p.target);
  if (p.autoanswer) q.set('autoanswer', '1');
  await page.goto(`${url}?${q.toString()}`);
  await page.waitForFunction(() => window.softphone.registered, undefined, { timeout });
}

export function runIn(netns: string, argv: string[]): Promise<string> {
  return run(['ip', 'netns', 'exec', netns, ...argv]);
}

export function run(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    p.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')}: exit ${code}: ${err}`))));
    p.once('error', reject);
  });
}
