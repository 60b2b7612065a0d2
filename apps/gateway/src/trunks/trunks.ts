// The trunks' runtime state, owned in one place: where each trunk is (RFC 3263 for
// trunks given by name), whether it answers (OPTIONS pings), whether the gateway is
// registered with it. TrunkStatus is the typed, read-only view the admin API and the
// metrics read; 'status' events tell them when it changes.

import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { DnsClient, SipLocator, SipError, type Destination, type UserAgent } from '@trapezoid/sip';
import type { GatewayConfig, TrunkConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import { OptionsPinger, type PingStatus } from './options-ping.js';
import { TrunkRegistration, type RegistrationStatus } from './registration.js';

export interface TrunkStatus {
  name: string;
  /** False while OPTIONS pings say the trunk is down: routing skips it. */
  usable: boolean;
  ping?: PingStatus;
  registration?: RegistrationStatus;
}

export interface TrunksEvents {
  status: [TrunkStatus];
}

interface Runtime {
  config: TrunkConfig;
  pinger?: OptionsPinger;
  registration?: TrunkRegistration;
}

export class Trunks extends EventEmitter<TrunksEvents> {
  private readonly runtimes = new Map<string, Runtime>();
  private readonly locator: SipLocator;
  readonly dns: DnsClient;

  constructor(private readonly ua: UserAgent, private readonly config: GatewayConfig, private readonly log: Logger) {
    super();
    this.dns = new DnsClient({ ...(config.dns.servers.length > 0 ? { servers: config.dns.servers } : {}) });
    this.locator = new SipLocator(this.dns, { transports: ['udp', 'tcp', 'tls'] });
    for (const t of config.trunks) this.runtimes.set(t.name, { config: t });
  }

  /** Starts the pings and registrations configured. */
  start(): void {
    for (const rt of this.runtimes.values()) {
      const t = rt.config;
      const uri = `sip:${trunkDomain(t)}`;
      const destinations = async (): Promise<Destination[]> => {
        const all = await this.destinations(t);
        if (all.length === 0) throw new SipError(503, `no address for trunk ${t.name}`);
        return all;
      };
      if (t.ping) {
        rt.pinger = new OptionsPinger({
          ua: this.ua, log: this.log, trunk: t.name, uri, destinations, ...t.ping,
          onChange: () => this.emit('status', this.statusOf(rt)),
        });
        rt.pinger.start();
      }
      if (t.register) {
        const user = t.register.user ?? t.credentials?.username ?? 'trapezoid';
        rt.registration = new TrunkRegistration({
          ua: this.ua, log: this.log, registrar: uri, aor: `sip:${user}@${trunkDomain(t)}`,
          ...(t.credentials ? { credentials: t.credentials } : {}),
          expires: t.register.expires, retryMin: t.register.retryMin, retryMax: t.register.retryMax,
          destinations, onChange: () => this.emit('status', this.statusOf(rt)),
        });
        rt.registration.start();
      }
    }
  }

  /** Stops the pings; registrations remove their bindings (at most a couple of seconds). */
  async stop(): Promise<void> {
    for (const rt of this.runtimes.values()) rt.pinger?.stop();
    await Promise.all([...this.runtimes.values()].map((rt) => rt.registration?.stop()));
  }

  /** Every trunk's state, in configuration order. */
  status(): TrunkStatus[] {
    return [...this.runtimes.values()].map((rt) => this.statusOf(rt));
  }

  /** False only when pings say the trunk is down (unpinged trunks are always usable). */
  usable(name: string): boolean {
    return this.runtimes.get(name)?.pinger?.status.reachability !== 'down';
  }

  /**
   * Where requests to the trunk go, best first: its address as configured, or for a
   * host name the RFC 3263 answer (NAPTR/SRV unless a port is configured).
   */
  async destinations(t: TrunkConfig): Promise<Destination[]> {
    return this.literalDestinations(t) ?? this.locator.locate({ host: t.address, ...(t.port !== undefined ? { port: t.port } : {}), ...(t.transport ? { transport: t.transport } : {}) });
  }

  /** The destination of a trunk given by IP address, known without a lookup; undefined for a name. */
  literalDestinations(t: TrunkConfig): Destination[] | undefined {
    if (isIP(t.address) === 0) return undefined;
    return [{ protocol: t.transport ?? 'udp', address: t.address, port: trunkPort(t) }];
  }

  private statusOf(rt: Runtime): TrunkStatus {
    return {
      name: rt.config.name,
      usable: rt.pinger?.status.reachability !== 'down',
      ...(rt.pinger ? { ping: { ...rt.pinger.status } } : {}),
      ...(rt.registration ? { registration: { ...rt.registration.status } } : {}),
    };
  }
}

/** Domain of the trunk's Request-URIs and To (its address unless configured). */
export function trunkDomain(t: TrunkConfig): string {
  return t.domain ?? t.address;
}

/** The trunk's port as configured, or its transport's default. */
export function trunkPort(t: TrunkConfig): number {
  return t.port ?? (t.transport === 'tls' ? 5061 : 5060);
}
