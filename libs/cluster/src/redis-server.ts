// A real redis-server process for tests and benchmarks (never for production: there
// Redis is the operator's). Bound to one loopback address and port, no persistence
// (so a restart loses everything, the harder case for the cluster), optionally with a
// password. kill() is kill -9; start() again brings it back on the same port.

import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';

export interface RedisServerOptions {
  port: number;
  /** Default 127.0.0.1. */
  address?: string;
  password?: string;
  /** Run inside a network namespace (`ip netns exec NAME`). */
  netns?: string;
  /** Serve TLS only (no plain port), with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
  binary?: string;
}

export class RedisServerProcess {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly opts: RedisServerOptions) {}

  get url(): string {
    const auth = this.opts.password !== undefined ? `:${encodeURIComponent(this.opts.password)}@` : '';
    return `${this.opts.tls ? 'rediss' : 'redis'}://${auth}${this.opts.address ?? '127.0.0.1'}:${this.opts.port}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts the server and resolves once it accepts connections (at most 5 s). */
  async start(): Promise<void> {
    if (this.proc) return;
    const address = this.opts.address ?? '127.0.0.1';
    const ports = this.opts.tls
      ? ['--port', '0', '--tls-port', String(this.opts.port), '--tls-cert-file', this.opts.tls.certFile, '--tls-key-file', this.opts.tls.keyFile, '--tls-auth-clients', 'no']
      : ['--port', String(this.opts.port)];
    const args = [...ports, '--bind', address, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'];
    if (this.opts.password !== undefined) args.push('--requirepass', this.opts.password);
    const binary = this.opts.binary ?? 'redis-server';
    const proc = this.opts.netns ? spawn('ip', ['netns', 'exec', this.opts.netns, binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => {
      if (this.proc === proc) this.proc = null;
      resolve();
    }));
    for (const until = Date.now() + 5000; ;) {
      if (!this.proc) throw new Error(`redis-server exited at start: ${stderr.trim()}`);
      if (this.opts.netns ? await this.pingInNetns() : await accepts(address, this.opts.port)) {
        // Answering could be another server on the port: ours must still be running.
        await new Promise((r) => setTimeout(r, 100));
        if (!this.proc) throw new Error(`redis-server exited at start (is another one on ${address}:${this.opts.port}?): ${stderr.trim()}`);
        return;
      }
      if (Date.now() > until) {
        await this.kill();
        throw new Error(`redis-server did not accept connections on ${address}:${this.opts.port} within 5 s: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async pingInNetns(): Promise<boolean> {
    const args = ['netns', 'exec', this.opts.netns!, 'redis-cli', '-h', this.opts.address ?? '127.0.0.1', '-p', String(this.opts.port),
      ...(this.opts.password !== undefined ? ['-a', this.opts.password, '--no-auth-warning'] : []), 'ping'];
    return new Promise((resolve) => {
      const p = spawn('ip', args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
      p.once('exit', () => resolve(out.includes('PONG')));
      p.once('error', () => resolve(false));
    });
  }

  /** kill -9: no shutdown save, connections drop. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.kill('SIGKILL');
    await this.exited;
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
