// Listening points (RFC 3261 §18): one server per protocol and address, each handing
// what it accepts to the transport layer: datagrams, stream sockets, admitted WebSockets.

import type * as net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { TransportInfo } from '../message/index.js';
import { normalizeAddress } from './address.js';
import { startStreamServer } from './stream-flow.js';
import { openUdp } from './udp.js';
import { startWsServer } from './ws-server.js';
import { TransportError, type ListenOptions, type ListeningPoint, type TlsListenOptions, type WsRefusal, type WsVerdict } from './types.js';

export interface ServerPoint {
  readonly point: ListeningPoint;
  close(): Promise<void>;
  /** tls and wss: replaces the certificate for connections accepted from now on. */
  setSecureContext?(tls: TlsListenOptions): void;
}

export const PROTOCOLS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);

/** Where a listening point hands what it accepts. */
export interface ServerPointHooks {
  datagram(buf: Buffer, info: TransportInfo): void;
  stream(protocol: 'tcp' | 'tls', socket: net.Socket): void;
  webSocket(protocol: 'ws' | 'wss', ws: WebSocket, req: IncomingMessage, verdict: Extract<WsVerdict, { admit: true }>): void;
  refused(refusal: WsRefusal): void;
}

/** Opens one listening point at `address` (unbracketed) per `opts`, its sent-by from `advertise`. */
export async function openServerPoint(opts: ListenOptions, address: string, maxMessageBytes: number, hooks: ServerPointHooks): Promise<ServerPoint> {
  let sp: ServerPoint;
  switch (opts.protocol) {
    case 'udp':
      sp = await openUdp(address, opts.port, hooks.datagram);
      break;
    case 'tcp':
    case 'tls': {
      const protocol = opts.protocol;
      const server = await startStreamServer(protocol, address, opts.port, opts.tls, (socket) => hooks.stream(protocol, socket));
      sp = {
        point: { protocol, address, port: server.port }, close: () => server.close(),
        ...(protocol === 'tls' ? { setSecureContext: (t: TlsListenOptions) => server.setSecureContext(t) } : {}),
      };
      break;
    }
    case 'ws':
    case 'wss': {
      const protocol = opts.protocol;
      const ws = await startWsServer({ ...opts, address }, maxMessageBytes, {
        connection: (socket, req, verdict) => hooks.webSocket(protocol, socket, req, verdict),
        refused: (req, status, reason, detail) => hooks.refused({
          protocol, remoteAddress: normalizeAddress(req.socket.remoteAddress ?? ''), remotePort: req.socket.remotePort ?? 0, status, reason,
          ...(detail !== undefined ? { detail } : {}),
        }),
      });
      sp = {
        point: { protocol, address, port: ws.port }, close: () => ws.close(),
        ...(protocol === 'wss' ? { setSecureContext: (t: TlsListenOptions) => ws.setSecureContext(t) } : {}),
      };
      break;
    }
  }
  if (opts.advertise !== undefined) sp.point.sentBy = advertisedSentBy(opts.advertise, sp.point.port);
  return sp;
}

/** "host", "host:port", "[v6]" or "[v6]:port" as a Via sent-by, the bound port filling in. */
function advertisedSentBy(advertise: string, boundPort: number): string {
  const v = advertise.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (v6) return `[${v6[1]}]:${v6[2] ?? boundPort}`;
  if (v.split(':').length > 2) return `[${v}]:${boundPort}`; // a bare IPv6 address
  const i = v.lastIndexOf(':');
  if (i < 0) return `${v}:${boundPort}`;
  if (!/^\d{1,5}$/.test(v.slice(i + 1))) throw new TransportError(`advertise ${advertise}: not host[:port]`);
  return v;
}
