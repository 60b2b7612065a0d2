// Where a response goes when the request's connection is gone, or it came over UDP:
// RFC 3261 §18.2.2 with the rport of RFC 3581 §4.

import type { SipRequest, SipResponse } from '../message/index.js';
import { parseVia } from '../parser/index.js';
import { TransportError, defaultPort, type Destination, type TransportProtocol } from './types.js';

const VIA_TRANSPORTS: Readonly<Record<string, TransportProtocol>> = {
  UDP: 'udp', TCP: 'tcp', TLS: 'tls', WS: 'ws', WSS: 'wss',
};

export function responseTarget(response: SipResponse, request: SipRequest): Destination {
  const raw = response.headers.get('via') ?? request.headers.get('via');
  if (raw === undefined) throw new TransportError('response has no Via to send it to');
  let via;
  try {
    via = parseVia(raw);
  } catch (err) {
    throw new TransportError('top Via is malformed', { cause: err });
  }
  const protocol = VIA_TRANSPORTS[via.protocol];
  if (protocol === undefined) throw new TransportError(`unsupported Via transport ${via.protocol}`);
  // RFC 7118 §5: a WebSocket client cannot be connected to; its flow was the only way.
  if (protocol === 'ws' || protocol === 'wss') {
    throw new TransportError('the WebSocket connection the request came on is closed');
  }
  const address = via.received ?? via.host;
  if (protocol === 'udp') {
    // RFC 3581 §4: rport (filled in on receipt) is the port the request came from.
    const port = typeof via.rport === 'number' ? via.rport : via.port ?? defaultPort(protocol);
    return { protocol, address, port };
  }
  // §18.2.2: the connection is gone: open one to received (or sent-by host) at the
  // sent-by port.
  return { protocol, address, port: via.port ?? defaultPort(protocol) };
}
