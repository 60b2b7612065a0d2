// Public vocabulary of the transport layer (RFC 3261 §18): protocols, listening
// points, destinations and the error every failed send rejects with.

import type { IncomingMessage } from 'node:http';
import { SipError } from '../message/index.js';
import type { ParseLimits } from '../parser/index.js';

export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export interface TlsListenOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /**
   * Trust anchors for peer certificates. With them a tls listening point asks every
   * peer for a certificate (peers without one are still admitted); a verified one's
   * names reach the application as TransportInfo.tlsPeerNames.
   */
  ca?: string | Buffer;
}

export interface ListenOptions {
  protocol: TransportProtocol;
  address: string;
  /** 0 = any free port. */
  port: number;
  /** Required for tls and wss. */
  tls?: TlsListenOptions;
  /** ws/wss only: the HTTP path of the WebSocket endpoint (default: any path). */
  wsPath?: string;
  /**
   * ws/wss only: admission of the HTTP upgrade request (Origin, Host, connection
   * limits, credentials), before any SIP is read. `true` admits, `false` refuses with
   * 403, a number refuses with that status; a WsVerdict says more (see there).
   */
  wsAdmit?: (req: IncomingMessage) => boolean | number | WsVerdict | Promise<boolean | number | WsVerdict>;
  /**
   * ws/wss only: a connection not marked authenticated (TransportLayer.markAuthenticated)
   * within this many milliseconds of its upgrade is closed with 1008. WebSocket pings
   * and pongs do not count. Default: no deadline.
   */
  wsAuthTimeoutMs?: number;
  /**
   * "host" or "host:port" written in Via sent-by and Contact instead of the bound
   * address and port (NAT, a floating or public address). Default: the bound ones.
   */
  advertise?: string;
}

/** An admission decision on a WebSocket upgrade (ListenOptions.wsAdmit). */
export type WsVerdict =
  | {
    admit: true;
    /** Kept with the flow for the application (TransportLayer.flowContext), e.g. who it proved to be. */
    context?: unknown;
    /** Proven at the upgrade already: the connection has no authentication deadline. */
    authenticated?: boolean;
    /** Called exactly once when the connection is gone (or the upgrade failed): give back what admit counted. */
    release?: () => void;
  }
  | {
    admit: false;
    status: number;
    /** The HTTP reason phrase. */
    reason: string;
    /** More for the application's log (which rule, which value); never sent. */
    detail?: string;
  };

/**
 * A WebSocket refused, at the upgrade (HTTP `status`) or after it (close `code`),
 * as the TransportLayer's 'wsRefused' event reports it. Carries no URL: the query may
 * hold credentials.
 */
export interface WsRefusal {
  protocol: 'ws' | 'wss';
  remoteAddress: string;
  remotePort: number;
  status?: number;
  code?: number;
  reason: string;
  /** WsVerdict.detail of an upgrade refused by the application. */
  detail?: string;
  /** The flow, when the refusal came after the upgrade. */
  flowId?: string;
}

export interface ListeningPoint {
  protocol: TransportProtocol;
  address: string;
  port: number;
  /** host:port for Via sent-by and Contact, when advertised differently from address:port. */
  sentBy?: string;
}

export interface Destination {
  protocol: TransportProtocol;
  address: string;
  port: number;
  /** Send over this existing connection if it is still open. */
  flowId?: string;
  /** tls/wss client side: the name the server certificate must match (RFC 5922 §7.2). */
  tlsServerName?: string;
  /** ws/wss client side: the HTTP path to connect to (default "/"). */
  wsPath?: string;
  /**
   * Send from this local address: the UDP listening point bound to it, or a new
   * connection opened from it (a dialog's service address, which may have moved to this
   * node with the call: carriers filter by source address). Ignored when no listening
   * point has it.
   */
  localAddress?: string;
}

/** Client-side TLS settings for outbound tls/wss connections. */
export interface TlsClientOptions {
  /** Trust anchors for server certificates (default: Node's bundled CAs). */
  ca?: string | Buffer;
  /** Client certificate for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true: a server whose certificate does not verify is a transport error. */
  rejectUnauthorized?: boolean;
}

/**
 * A failure to deliver a message. RFC 3261 §8.1.3.1: a transport error on a request
 * is treated as a 503 (Service Unavailable) by the client transaction.
 */
export class TransportError extends SipError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(503, reason, options);
    this.name = 'TransportError';
  }
}

/** Protocols whose messages travel on a connection (a flow, RFC 5626 §3). */
export function isConnectionOriented(protocol: string): boolean {
  return protocol !== 'udp';
}

/** The Via transport token for a protocol (RFC 3261 §20.42, RFC 7118 §5). */
export function viaTransport(protocol: TransportProtocol): string {
  return protocol.toUpperCase();
}

/** Default port per protocol (RFC 3261 §19.1.2; RFC 7118 uses the HTTP ports). */
export function defaultPort(protocol: string): number {
  switch (protocol) {
    case 'tls': return 5061;
    case 'ws': return 80;
    case 'wss': return 443;
    default: return 5060;
  }
}

export interface TransportLayerOptions {
  limits?: ParseLimits;
  /** WebSocket ping interval; a peer that misses one pong is dropped (default 30 s). */
  keepaliveIntervalMs?: number;
  /** Connections with no traffic for this long are closed (default 10 min). */
  idleTimeoutMs?: number;
  /** Outbound connection setup limit (default 10 s). */
  connectTimeoutMs?: number;
  /** Trust and identity for outbound tls/wss connections. */
  tlsClient?: TlsClientOptions;
  /**
   * Asked when a message must go over a ws/wss flow that is gone (RFC 5626: the UA
   * behind it may reconnect and register the same instance over a new flow): resolves
   * to a destination over the new flow, or undefined to fail the send. May wait, bounded.
   */
  replaceFlow?: (dest: Destination) => Promise<Destination | undefined>;
}
