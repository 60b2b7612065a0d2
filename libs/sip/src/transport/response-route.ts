// Where a response goes when the request's connection is gone, or it came over UDP:
// RFC 3261 §18.2.2 with the rport of RFC 3581 §4, with one deliberate deviation: the
// response goes over the transport the request *arrived on*, not the one its Via
// names. §18.2.2 would have a UDP request whose Via says TCP (or TLS) answered over a
// new TCP connection to the sender: anyone can spoof such a datagram and make us open
// connections toward a victim (a reflection vector; hardened proxies refuse it too). A
// Via naming another transport changes nothing here; the address is always the
// packet's real source (received, stamped on arrival by §18.2.1) and, over UDP, the
// port is its source port (rport) or the Via's.

import type { SipRequest, SipResponse } from '../message/index.js';
import { parseVia } from '../parser/index.js';
import { TransportError, defaultPort, type Destination, type TransportProtocol } from './types.js';

const VIA_TRANSPORTS: Readonly<Record<string, TransportProtocol>> = {
  UDP: 'udp', TCP: 'tcp', TLS: 'tls', WS: 'ws', WSS: 'wss',
};
const TRANSPORT_OF: Readonly<Record<string, TransportProtocol>> = {
  udp: 'udp', tcp: 'tcp', tls: 'tls', ws: 'ws', wss: 'wss',
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
  const viaProtocol = VIA_TRANSPORTS[via.protocol];
  if (viaProtocol === undefined) throw new TransportError(`unsupported Via transport ${via.protocol}`);
  const arrived = request.transport?.protocol;
  const protocol = arrived !== undefined && Object.hasOwn(TRANSPORT_OF, arrived) ? TRANSPORT_OF[arrived]! : viaProtocol;
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
  // §18.2.2: the connection the request came on is gone: open one of the same
  // transport to its source (received) at the sent-by port.
  return { protocol, address, port: via.port ?? defaultPort(protocol) };
}
