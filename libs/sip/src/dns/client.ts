// A small caching stub resolver over UDP (RFC 1035 §7): one question per query, sent
// to each configured server in turn until one answers; answers kept for their TTL
// (negative answers for a short fixed time, RFC 2308 in spirit) so a trunk's SRV set
// is not looked up per call. Servers come from configuration (host:port), else from
// the system's resolver configuration.

import { createSocket } from 'node:dgram';
import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import { decodeResponse, encodeQuery, type Answer, type RecordType } from './message.js';

export interface DnsClientOptions {
  /** "address" or "address:port" ("[v6]:port"); default: the system's servers. */
  servers?: string[];
  /** Per try, per server (ms). */
  timeout?: number;
  /** Tries per server. */
  tries?: number;
  /** Seconds a name that does not exist (or has no such record) is remembered. */
  negativeTtl?: number;
  /** Longest time any answer is kept, whatever its TTL (seconds). */
  maxTtl?: number;
}

export class DnsError extends Error {
  constructor(message: string, readonly code: 'ETIMEOUT' | 'ESERVFAIL' | 'EFORMAT') {
    super(message);
  }
}

interface Server { address: string; port: number }

function parseServer(s: string): Server {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { address: v6[1]!, port: v6[2] ? Number(v6[2]) : 53 };
  if (isIP(s) === 6) return { address: s, port: 53 };
  const i = s.lastIndexOf(':');
  return i < 0 ? { address: s, port: 53 } : { address: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

interface CacheEntry { expires: number; answers: Answer[] }

export class DnsClient {
  private readonly servers: Server[];
  private readonly timeout: number;
  private readonly tries: number;
  private readonly negativeTtl: number;
  private readonly maxTtl: number;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<Answer[]>>();
  private nextId = Math.floor(Math.random() * 0xffff);
  /** Queries that went to the wire (cache misses), for tests and metrics. */
  queries = 0;

  constructor(opts: DnsClientOptions = {}) {
    this.servers = (opts.servers && opts.servers.length > 0 ? opts.servers : getServers()).map(parseServer);
    this.timeout = opts.timeout ?? 1000;
    this.tries = opts.tries ?? 2;
    this.negativeTtl = opts.negativeTtl ?? 30;
    this.maxTtl = opts.maxTtl ?? 3600;
  }

  /** The answer records of `type` for `name` (CNAMEs followed by the server), cached. */
  async query(name: string, type: RecordType): Promise<Answer[]> {
    const key = type + ' ' + name.toLowerCase();
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.answers;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = this.ask(name, type).then((answers) => {
      const wanted = answers.filter((a) => a.type === type);
      const ttl = wanted.length > 0 ? Math.min(this.maxTtl, ...wanted.map((a) => a.ttl)) : this.negativeTtl;
      this.cache.set(key, { expires: Date.now() + ttl * 1000, answers: wanted });
      return wanted;
    }).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Forgets every cached answer. */
  flush(): void {
    this.cache.clear();
  }

  private async ask(name: string, type: RecordType): Promise<Answer[]> {
    let last: DnsError = new DnsError(`no DNS server configured for ${name}`, 'ETIMEOUT');
    for (let t = 0; t < this.tries; t++) {
      for (const server of this.servers) {
        try {
          return await this.once(server, name, type);
        } catch (err) {
          last = err instanceof DnsError ? err : new DnsError(String(err), 'EFORMAT');
        }
      }
    }
    throw last;
  }

  private once(server: Server, name: string, type: RecordType): Promise<Answer[]> {
    this.queries++;
    const id = this.nextId = (this.nextId + 1) & 0xffff;
    const sock = createSocket(isIP(server.address) === 6 ? 'udp6' : 'udp4');
    return new Promise<Answer[]>((resolve, reject) => {
      const timer = setTimeout(() => done(new DnsError(`no answer from ${server.address}:${server.port} for ${type} ${name}`, 'ETIMEOUT')), this.timeout);
      const done = (err: DnsError | null, answers?: Answer[]): void => {
        clearTimeout(timer);
        sock.close();
        if (err) reject(err);
        else resolve(answers!);
      };
      sock.on('error', (e) => done(new DnsError(e.message, 'ETIMEOUT')));
      sock.on('message', (msg, rinfo) => {
        if (rinfo.port !== server.port) return;
        try {
          const r = decodeResponse(msg);
          if (r.id !== id) return; // not ours: keep waiting
          if (r.rcode !== 0 && r.rcode !== 3) return done(new DnsError(`DNS error ${r.rcode} for ${type} ${name}`, 'ESERVFAIL'));
          done(null, r.rcode === 3 ? [] : r.answers);
        } catch {
          done(new DnsError(`malformed DNS answer for ${type} ${name}`, 'EFORMAT'));
        }
      });
      sock.send(encodeQuery(id, name, type), server.port, server.address);
    });
  }
}
