// dnsmasq as a real DNS server on loopback for the RFC 3263 tests: SRV, NAPTR and
// address records from its command line, on 127.0.20.53:5353, no upstream, no files;
// it answers for names under .test only (NXDOMAIN for the rest of .test).

import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';

export const DNS_ADDRESS = '127.0.20.53';
export const DNS_PORT = 5353;
export const DNS_SERVER = `${DNS_ADDRESS}:${DNS_PORT}`;

export interface DnsRecords {
  /** name -> IPv4 address */
  hosts?: Record<string, string>;
  /** dnsmasq --srv-host values: service name, target, port, priority, weight. */
  srv?: Array<[string, string, number, number, number]>;
  /** dnsmasq --naptr-record values: name, order, preference, flags, service, regexp, replacement. */
  naptr?: Array<[string, number, number, string, string, string, string]>;
  /** TTL of every answer (seconds). */
  ttl?: number;
}

export interface Dnsmasq {
  /** "address:port" for a resolver's server list. */
  server: string;
  stop(): Promise<void>;
  output(): string;
}

/** `address`: another loopback address when two test files may run a server at once. */
export async function startDnsmasq(records: DnsRecords, address = DNS_ADDRESS): Promise<Dnsmasq> {
  const args = [
    '--no-daemon', '-C', '/dev/null', `--port=${DNS_PORT}`, `--listen-address=${address}`, '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--local=/test/', '--pid-file=', '--log-facility=-', `--local-ttl=${records.ttl ?? 60}`,
    ...Object.entries(records.hosts ?? {}).map(([name, addr]) => `--host-record=${name},${addr}`),
    ...(records.srv ?? []).map((r) => `--srv-host=${r.join(',')}`),
    ...(records.naptr ?? []).map((r) => `--naptr-record=${r.join(',')}`),
  ];
  const proc: ChildProcess = spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // Ready once it answers a query (any answer will do).
  for (let i = 0; i < 50; i++) {
    if (proc.exitCode !== null) throw new Error(`dnsmasq exited: ${out}`);
    if (await answers(address)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    server: `${address}:${DNS_PORT}`,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

function answers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); resolve(false); }, 100);
    s.on('message', () => { clearTimeout(t); s.close(); resolve(true); });
    s.on('error', () => { clearTimeout(t); s.close(); resolve(false); });
    // A query for "." type A, id 1.
    s.send(Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]), DNS_PORT, address);
  });
}
