// Where a request goes (a tiny RFC 3263 without DNS: the URI names an address or a
// host name the transport can resolve, its transport parameter or scheme names the
// protocol, its port or the protocol's default the port).

import { SipError } from '../message/index.js';
import { isSipUri, parseUri } from '../parser/index.js';
import { defaultPort, type Destination, type TransportProtocol } from '../transport/types.js';

const PROTOCOLS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);

export function destinationOfUri(uri: string): Destination {
  const u = parseUri(uri);
  if (!isSipUri(u)) throw new SipError(416, 'Unsupported URI Scheme');
  const param = u.params.get('transport');
  let protocol: TransportProtocol = u.scheme === 'sips' ? 'tls' : 'udp';
  if (typeof param === 'string' && PROTOCOLS.has(param.toLowerCase())) protocol = param.toLowerCase() as TransportProtocol;
  if (u.scheme === 'sips' && protocol === 'ws') protocol = 'wss';
  if (u.scheme === 'sips' && (protocol === 'udp' || protocol === 'tcp')) protocol = 'tls';
  const port = u.port ?? (protocol === 'ws' || protocol === 'wss' ? defaultPort(protocol) : defaultPort(protocol));
  return { protocol, address: u.host, port };
}

/** RFC 7118 §5 and RFC 5626: a host under .invalid can only be reached over its flow. */
export function isUnroutableHost(uri: string): boolean {
  try {
    const u = parseUri(uri);
    return !isSipUri(u) || u.host.toLowerCase().endsWith('.invalid');
  } catch {
    return true;
  }
}
