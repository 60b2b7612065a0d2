// The WebSocket server side of RFC 7118: an HTTP(S) server whose upgrade requests
// are admitted only with the "sip" subprotocol (RFC 7118 §4), on the configured
// path, and past the application's own check (Origin, credentials).

import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { TransportError, type ListenOptions } from './types.js';

export interface WsServer {
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
}

/** RFC 7118 §4: the client must offer "sip" in Sec-WebSocket-Protocol. */
function offersSip(header: string | undefined): boolean {
  if (!header) return false;
  for (const p of header.split(',')) if (p.trim().toLowerCase() === 'sip') return true;
  return false;
}

/** Refuses an upgrade with a plain HTTP response whose reason phrase says why. */
function refuse(socket: Duplex, status: number, reason: string): void {
  const phrase = reason.replace(/[\r\n]/g, ' ');
  const body = phrase + '\n';
  socket.end(
    `HTTP/1.1 ${status} ${phrase}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

export function startWsServer(
  opts: ListenOptions,
  maxPayload: number,
  onConnection: (ws: WebSocket, req: http.IncomingMessage) => void,
): Promise<WsServer> {
  const server: http.Server =
    opts.protocol === 'wss'
      ? https.createServer({ cert: opts.tls!.cert, key: opts.tls!.key, ca: opts.tls!.ca })
      : http.createServer();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload,
    clientTracking: false,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
  });

  server.on('request', (_req, res) => {
    res.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Content-Type': 'text/plain' });
    res.end('SIP over WebSocket endpoint (RFC 7118): upgrade with subprotocol "sip"\n');
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (opts.wsPath !== undefined) {
      const q = (req.url ?? '/').indexOf('?');
      const path = q === -1 ? req.url ?? '/' : (req.url ?? '/').slice(0, q);
      if (path !== opts.wsPath) return refuse(socket, 404, `No SIP WebSocket endpoint at ${path}`);
    }
    if (!offersSip(req.headers['sec-websocket-protocol'])) {
      return refuse(socket, 400, 'WebSocket subprotocol "sip" required (RFC 7118)');
    }
    if (opts.wsAdmit) {
      let verdict: boolean | number;
      try {
        verdict = opts.wsAdmit(req);
      } catch {
        verdict = 500;
      }
      if (verdict !== true) {
        const status = typeof verdict === 'number' ? verdict : 403;
        return refuse(socket, status, http.STATUS_CODES[status] ?? 'Refused');
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  });
  // TLS handshake failures and resets of not-yet-upgraded sockets are per-peer noise.
  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('tlsClientError', () => undefined);

  return new Promise((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new TransportError(`${opts.protocol} listen on ${opts.address}:${opts.port} failed: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host: opts.address, port: opts.port }, () => {
      server.off('error', onError);
      server.on('error', () => undefined);
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      resolve({
        server,
        port,
        close: () =>
          new Promise<void>((done) => {
            wss.close();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
