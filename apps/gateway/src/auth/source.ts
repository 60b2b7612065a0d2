// How the edge's log lines name where a request or connection came from.

import type { TransportInfo } from '@trapezoid/sip';

/** `ip:port` (IPv6 in brackets) and the transport of a received message. */
export function sourceOf(t: TransportInfo | undefined): { source: string; transport: string } {
  if (t === undefined) return { source: 'unknown', transport: 'unknown' };
  const host = t.remoteAddress.includes(':') ? `[${t.remoteAddress}]` : t.remoteAddress;
  return { source: `${host}:${t.remotePort}`, transport: t.protocol };
}
