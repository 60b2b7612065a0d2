// Dialled-number routing: browser -> trunk routes by pattern, trunk -> agent
// routes by called number. First match wins, in configuration order.

import type { TransportInfo } from '@trapezoid/sip';
import type { GatewayConfig, RouteConfig, TrunkConfig } from '../config/index.js';
import { TrunkAcl } from '../security/trunk-acl.js';

export type OutboundTarget =
  /** `trunks`: the route's trunks in failover order; `trunk` is the first. */
  | { kind: 'trunk'; trunk: TrunkConfig; trunks: TrunkConfig[]; number: string }
  | { kind: 'internal'; service: 'echo'; number: string };

export class Router {
  private readonly routes: Array<{ re: RegExp; route: RouteConfig }>;
  private readonly inbound: Array<{ re: RegExp; aor: string; ringTimeout: number }>;
  private readonly trunks: Map<string, TrunkConfig>;
  readonly trunkAcl: TrunkAcl;

  constructor(config: Pick<GatewayConfig, 'routes' | 'inbound' | 'trunks'>) {
    this.routes = config.routes.map((route) => ({ re: new RegExp(route.match), route }));
    this.inbound = config.inbound.map((r) => ({ re: new RegExp(r.match), aor: r.aor, ringTimeout: r.ringTimeout }));
    this.trunks = new Map(config.trunks.map((t) => [t.name, t]));
    this.trunkAcl = new TrunkAcl(config.trunks);
  }

  /** Where a number dialled by a browser goes, or undefined (the caller answers 404). */
  outbound(dialled: string): OutboundTarget | undefined {
    for (const { re, route } of this.routes) {
      const m = re.exec(dialled);
      if (!m) continue;
      const number = route.rewrite !== undefined ? dialled.replace(re, route.rewrite) : dialled;
      if (route.internal) return { kind: 'internal', service: route.internal, number };
      const trunks = (route.trunks ?? [route.trunk!]).flatMap((n) => this.trunks.get(n) ?? []);
      if (trunks.length > 0) return { kind: 'trunk', trunk: trunks[0]!, trunks, number };
    }
    return undefined;
  }

  /** The agent AOR an inbound call to `called` rings, or undefined (404). */
  inboundAor(called: string): { aor: string; ringTimeout: number } | undefined {
    for (const r of this.inbound) if (r.re.test(called)) return { aor: r.aor, ringTimeout: r.ringTimeout };
    return undefined;
  }

  /**
   * The trunk a request came from (security/trunk-acl.ts: address and port over UDP,
   * address and certificate over TLS), or undefined: a client, which authenticates.
   */
  trunkFrom(source: TransportInfo | undefined): TrunkConfig | undefined {
    return this.trunkAcl.identify(source);
  }
}
