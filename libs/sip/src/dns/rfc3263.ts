// Locating SIP servers (RFC 3263 §4): from a host name, an optional port and an
// optional transport to the ordered list of destinations to try. NAPTR picks the
// transport when neither is given (§4.1), SRV the targets and ports (§4.2, ordered
// by priority and weight as RFC 2782 says), A/AAAA the addresses; a literal address
// or an explicit port skips the steps that would not apply. The caller tries the
// list in order, moving on after a transport error, a timeout or a 503 (§4.3).

import { isIP } from 'node:net';
import { defaultPort, type Destination, type TransportProtocol } from '../transport/types.js';
import type { DnsClient } from './client.js';
import type { Answer, SrvRecord } from './message.js';

export type LocatableTransport = 'udp' | 'tcp' | 'tls';

export interface SipTarget {
  host: string;
  port?: number;
  transport?: LocatableTransport;
  /** sips: only TLS (§4.1). */
  secure?: boolean;
}

/** NAPTR services (RFC 3263 §4.1) and the SRV prefix of each transport. */
const SERVICE: Record<string, LocatableTransport> = { 'SIP+D2U': 'udp', 'SIP+D2T': 'tcp', 'SIPS+D2T': 'tls' };
const SRV_PREFIX: Record<LocatableTransport, string> = { udp: '_sip._udp.', tcp: '_sip._tcp.', tls: '_sips._tcp.' };

export interface LocatorOptions {
  /** Transports this client can use, in its order of preference. */
  transports?: LocatableTransport[];
  /** Look up AAAA as well as A (default false: the gateway's trunk side is IPv4 here). */
  ipv6?: boolean;
  /** For the weighted choice among SRV records of equal priority (tests fix it). */
  random?: () => number;
}

export class SipLocator {
  private readonly transports: LocatableTransport[];
  private readonly ipv6: boolean;
  private readonly random: () => number;

  constructor(private readonly dns: DnsClient, opts: LocatorOptions = {}) {
    this.transports = opts.transports ?? ['udp', 'tcp', 'tls'];
    this.ipv6 = opts.ipv6 ?? false;
    this.random = opts.random ?? Math.random;
  }

  /**
   * Every destination to try, best first; empty when the name resolves to nothing.
   * A failed query (timeout, server failure) counts as no records for its step; when
   * nothing was found and some query failed, that failure is thrown instead.
   */
  async locate(t: SipTarget): Promise<Destination[]> {
    const failures: Error[] = [];
    const out = await this.steps(t, failures);
    if (out.length === 0 && failures.length > 0) throw failures[0]!;
    return out;
  }

  private async query(name: string, type: 'NAPTR' | 'SRV' | 'A' | 'AAAA', failures: Error[]): Promise<Answer[]> {
    try {
      return await this.dns.query(name, type);
    } catch (err) {
      failures.push(err as Error);
      return [];
    }
  }

  private async steps(t: SipTarget, failures: Error[]): Promise<Destination[]> {
    const allowed = t.secure ? this.transports.filter((x) => x === 'tls') : this.transports;
    if (isIP(t.host) !== 0) {
      const protocol = t.transport ?? (t.secure ? 'tls' : 'udp');
      return [{ protocol, address: t.host, port: t.port ?? defaultPort(protocol) }];
    }
    if (t.port !== undefined) {
      // §4.2: an explicit port means A/AAAA only.
      const protocol = t.transport ?? (t.secure ? 'tls' : 'udp');
      return this.addresses(t.host, protocol, t.port, failures);
    }
    if (t.transport !== undefined) {
      const viaSrv = await this.srvDestinations(SRV_PREFIX[t.transport] + t.host, t.transport, failures);
      return viaSrv.length > 0 ? viaSrv : this.addresses(t.host, t.transport, defaultPort(t.transport), failures);
    }
    // §4.1: NAPTR chooses the transport; only services this client can use count.
    const naptr = (await this.query(t.host, 'NAPTR', failures))
      .flatMap((a) => (a.type === 'NAPTR' ? [a.naptr] : []))
      .filter((n) => n.flags === 's' && SERVICE[n.service] !== undefined && allowed.includes(SERVICE[n.service]!))
      .sort((a, b) => a.order - b.order || a.preference - b.preference);
    const out: Destination[] = [];
    for (const n of naptr) out.push(...await this.srvDestinations(n.replacement, SERVICE[n.service]!, failures));
    if (out.length > 0) return dedupe(out);
    // No NAPTR: SRV for each transport this client supports, in its order (§4.1).
    for (const tr of allowed) out.push(...await this.srvDestinations(SRV_PREFIX[tr] + t.host, tr, failures));
    if (out.length > 0) return dedupe(out);
    const fallback = allowed[0] ?? 'udp';
    return this.addresses(t.host, fallback, defaultPort(fallback), failures);
  }

  private async srvDestinations(name: string, protocol: TransportProtocol, failures: Error[]): Promise<Destination[]> {
    const records = (await this.query(name, 'SRV', failures)).flatMap((a) => (a.type === 'SRV' ? [a.srv] : []));
    const out: Destination[] = [];
    for (const r of orderSrv(records, this.random)) {
      if (r.target === '' || r.target === '.') continue; // "." = service not offered (RFC 2782)
      out.push(...await this.addresses(r.target, protocol, r.port, failures));
    }
    return out;
  }

  private async addresses(host: string, protocol: TransportProtocol, port: number, failures: Error[]): Promise<Destination[]> {
    if (isIP(host) !== 0) return [{ protocol, address: host, port }];
    const found = (await this.query(host, 'A', failures)).flatMap((a) => (a.type === 'A' ? [a.address] : []));
    if (this.ipv6) found.push(...(await this.query(host, 'AAAA', failures)).flatMap((a) => (a.type === 'AAAA' ? [a.address] : [])));
    return found.map((address) => ({ protocol, address, port }));
  }
}

/** RFC 2782: ascending priority; within one priority a weighted random order. */
export function orderSrv(records: readonly SrvRecord[], random: () => number): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of records) {
    const list = byPriority.get(r.priority) ?? [];
    list.push(r);
    byPriority.set(r.priority, list);
  }
  const out: SrvRecord[] = [];
  for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero weights first, as RFC 2782 suggests, so they keep a small chance.
    const pool = byPriority.get(p)!.sort((a, b) => a.weight - b.weight);
    while (pool.length > 0) {
      const total = pool.reduce((sum, r) => sum + r.weight, 0);
      let i = 0;
      if (total === 0) {
        i = Math.min(pool.length - 1, Math.floor(random() * pool.length));
      } else {
        const pick = random() * total;
        for (let run = 0; i < pool.length - 1; i++) {
          run += pool[i]!.weight;
          if (run > pick) break;
        }
      }
      out.push(pool.splice(i, 1)[0]!);
    }
  }
  return out;
}

function dedupe(list: Destination[]): Destination[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = `${d.protocol}|${d.address}|${d.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
