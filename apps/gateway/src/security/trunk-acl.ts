// Trunk identification (issue 8 item 7): which configured trunk, if any, a request
// came from. A trunk is trusted without digest, so the rule must not be "anything from
// its IP": an edge proxy, a softphone or a scanner on the same host (or behind the
// same NAT) would inherit that trust. Over UDP the source port is the trunk's own
// listening port (RFC 3261 §18.1.1: requests leave from the advertised port; RFC 3581
// symmetric response routing relies on it), so address *and* port identify it. Over
// TCP/TLS the peer connects from an ephemeral port: the address identifies it, and for
// TLS the verified certificate's names can be required as well. Whatever matches no
// rule is an untrusted client that authenticates.

import { trunkPort } from '../trunks/trunks.js';
import { isIP } from 'node:net';
import { CidrSet } from '@trapezoid/auth';
import type { TransportInfo } from '@trapezoid/sip';
import type { TrunkConfig } from '../config/index.js';

interface TrunkRule {
  readonly trunk: TrunkConfig;
  readonly addresses: CidrSet;
  /** Inclusive [low, high] UDP source port ranges. */
  readonly ports: ReadonlyArray<readonly [number, number]>;
  readonly transports: ReadonlySet<string>;
  readonly tlsNames: ReadonlySet<string> | undefined;
}

export class TrunkAcl {
  private readonly rules: TrunkRule[] = [];
  /** Trunks that no request can be attributed to: a host name and no source.addresses. */
  readonly unidentifiable: string[] = [];

  constructor(trunks: readonly TrunkConfig[]) {
    for (const t of trunks) {
      const s = t.source;
      if (s?.addresses === undefined && isIP(t.address) === 0) {
        this.unidentifiable.push(t.name);
        continue;
      }
      this.rules.push({
        trunk: t,
        addresses: new CidrSet(s?.addresses ?? [t.address]),
        ports: (s?.ports ?? [trunkPort(t)]).map(portRange),
        transports: new Set(s?.transports ?? [t.transport ?? 'udp']),
        tlsNames: s?.tlsNames ? new Set(s.tlsNames.map((n) => n.toLowerCase())) : undefined,
      });
    }
  }

  /** The trunk that sent a request arriving with `source`, first match in configuration order. */
  identify(source: TransportInfo | undefined): TrunkConfig | undefined {
    if (!source) return undefined;
    for (const r of this.rules) if (matches(r, source)) return r.trunk;
    return undefined;
  }

  /** Whether `address` is one of a trunk's (any port, any transport): per-IP limits exempt it. */
  isTrunkAddress(address: string): boolean {
    return this.rules.some((r) => r.addresses.has(address));
  }
}

function matches(r: TrunkRule, s: TransportInfo): boolean {
  if (!r.transports.has(s.protocol) || !r.addresses.has(s.remoteAddress)) return false;
  if (s.protocol === 'udp') return r.ports.some(([lo, hi]) => s.remotePort >= lo && s.remotePort <= hi);
  if (s.protocol === 'tls' && r.tlsNames) return (s.tlsPeerNames ?? []).some((n) => r.tlsNames!.has(n));
  return true;
}

function portRange(p: number | string): readonly [number, number] {
  if (typeof p === 'number') return [p, p];
  const [lo, hi] = p.split('-').map(Number) as [number, number];
  return [lo, hi];
}
