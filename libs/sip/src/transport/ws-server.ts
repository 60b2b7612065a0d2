// The WebSocket server side of RFC 7118: an HTTP(S) server whose upgrade requests
// are admitted only with the "sip" subprotocol (RFC 7118 §4), on the configured
// path, and past the application's own check (Origin, Host, limits, credentials).
// Every refusal is an HTTP status with a reason phrase, reported to the caller; an
// admitted connection's release() runs once when its socket is gone, whatever the
// way (upgrade failed, closed, reset).

import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { TransportError, type ListenOptions, type TlsListenOptions, type WsVerdict } from './types.js';

export interface WsServer {
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
  /** wss only: the certificate and key for connections accepted from now on. */
  setSecureContext(tls: TlsListenOptions): void;
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

export interface WsServerHooks {
  /** An admitted connection, with what the admission said. */
  connection(ws: WebSocket, req: http.IncomingMessage, verdict: Extract<WsVerdict, { admit: true }>): void;
  /** An upgrade refused with an HTTP status (`detail` from the application's verdict). */
  refused(req: http.IncomingMessage, status: number, reason: string, detail?: string): void;
}

/** The application's answer in one shape: true/false/number are the short forms. */
function normalize(v: boolean | number | WsVerdict): WsVerdict {
  if (v === true) return { admit: true };
  if (v === false) return { admit: false, status: 403, reason: 'Forbidden' };
  if (typeof v === 'number') return { admit: false, status: v, reason: http.STATUS_CODES[v] ?? 'Refused' };
  return v;
}

export function startWsServer(opts: ListenOptions, maxPayload: number, hooks: WsServerHooks): Promise<WsServer> {
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
  const refuseWith = (req: http.IncomingMessage, socket: Duplex, status: number, reason: string, detail?: string): void => {
    hooks.refused(req, status, reason, detail);
    refuse(socket, status, reason);
  };
  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer, verdict: WsVerdict): void => {
    if (!verdict.admit) return refuseWith(req, socket, verdict.status, verdict.reason, verdict.detail);
    const release = verdict.release;
    if (release !== undefined) {
      if (socket.destroyed) {
        release();
        return;
      }
      socket.once('close', release);
    }
    if (socket.destroyed) return;
    wss.handleUpgrade(req, socket, head, (ws) => hooks.connection(ws, req, verdict));
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (opts.wsPath !== undefined) {
      const q = (req.url ?? '/').indexOf('?');
      const path = q === -1 ? req.url ?? '/' : (req.url ?? '/').slice(0, q);
      if (path !== opts.wsPath) return refuseWith(req, socket, 404, `No SIP WebSocket endpoint at ${path}`);
    }
    if (!offersSip(req.headers['sec-websocket-protocol'])) {
      return refuseWith(req, socket, 400, 'WebSocket subprotocol "sip" required (RFC 7118)');
    }
    if (!opts.wsAdmit) return upgrade(req, socket, head, { admit: true });
    let answer: ReturnType<NonNullable<ListenOptions['wsAdmit']>>;
    try {
      answer = opts.wsAdmit(req);
    } catch {
      return refuseWith(req, socket, 500, 'Admission check failed');
    }
    if (answer instanceof Promise) {
      answer.then(
        (v) => upgrade(req, socket, head, normalize(v)),
        () => refuseWith(req, socket, 500, 'Admission check failed'),
      );
    } else {
      upgrade(req, socket, head, normalize(answer));
    }
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
        setSecureContext: (t) => {
          if (!(server instanceof https.Server)) throw new TransportError('ws listening point has no certificate');
          server.setSecureContext({ cert: t.cert, key: t.key, ...(t.ca !== undefined ? { ca: t.ca } : {}) });
        },
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
