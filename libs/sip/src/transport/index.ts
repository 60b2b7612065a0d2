// Public surface of the transport layer (RFC 3261 §18, RFC 7118, RFC 5626 flows).
export { TransportLayer } from './layer.js';
export type { TransportLayerOptions } from './types.js';
export { TransportError } from './types.js';
export type { MessageTap, TappedMessage } from './tap.js';
export type {
  TransportProtocol,
  ListenOptions,
  ListeningPoint,
  Destination,
  TlsListenOptions,
  TlsClientOptions,
  WsVerdict,
  WsRefusal,
} from './types.js';
