// TCP and TLS flows (RFC 3261 §18.3): SIP messages framed out of a byte stream by
// their Content-Length, with the RFC 5626 §4.4.1 CRLF keepalive answered in place.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { TransportInfo } from '../message/index.js';
import { frameLength, SipParseError, type ParseLimits } from '../parser/index.js';
import { normalizeAddress } from './address.js';
import type { Flow } from './flow.js';
import type { FlowSink } from './sink.js';
import { TransportError, type TlsClientOptions, type TlsListenOptions } from './types.js';

const CRLF = Buffer.from('\r\n', 'latin1');
const CR = 0x0d;
const LF = 0x0a;

export class StreamFlow implements Flow {
  readonly id: string;
  readonly protocol: 'tcp' | 'tls';
  readonly info: TransportInfo;
  lastActivity = Date.now();
  readonly whenClosed: Promise<void>;
  private _closed = false;
  private ending = false;
  /** Bytes of a message not yet complete. */
  private pending: Buffer | null = null;
  private resolveClosed!: () => void;

  constructor(
    private readonly socket: net.Socket,
    protocol: 'tcp' | 'tls',
    id: string,
    private readonly sink: FlowSink,
    private readonly limits: ParseLimits | undefined,
    /** Largest buffered partial message before the peer is cut off. */
    private readonly maxBuffered: number,
  ) {
    this.protocol = protocol;
    this.id = id;
    const peerNames = socket instanceof tls.TLSSocket ? verifiedPeerNames(socket) : undefined;
    this.info = {
      protocol,
      localAddress: normalizeAddress(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
      remoteAddress: normalizeAddress(socket.remoteAddress ?? ''),
      remotePort: socket.remotePort ?? 0,
      flowId: id,
      ...(peerNames ? { tlsPeerNames: peerNames } : {}),
    };
    this.whenClosed = new Promise((resolve) => { this.resolveClosed = resolve; });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A socket error is always followed by 'close', which reports the flow gone.
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
  }

  get closed(): boolean {
    return this._closed;
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(new TransportError(`flow ${this.id} is closed`));
        return;
      }
      this.lastActivity = Date.now();
      this.socket.write(data, (err) => {
        if (err) reject(new TransportError(`write on ${this.id} failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  end(): void {
    if (this.ending) return;
    this.ending = true;
    if (!this.socket.destroyed) this.socket.end();
    // A peer that never closes its side must not hold the socket open forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    let buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let off = 0;
    // destroyed, not _closed: a sink that destroys the socket does so at once, while
    // 'close' (which sets _closed) comes a turn later.
    while (off < buf.length && !this.socket.destroyed) {
      if (buf[off] === CR) {
        // RFC 5626 §4.4.1: CRLFCRLF is a keepalive ping, answered by a CRLF pong; a
        // lone CRLF is a pong (or, RFC 3261 §7.5, noise before a start line).
        const left = buf.length - off;
        if (left < 2) break;
        if (buf[off + 1] === LF) {
          if (left >= 4 && buf[off + 2] === CR && buf[off + 3] === LF) {
            this.socket.write(CRLF);
            off += 4;
            continue;
          }
          // "\r\n" or "\r\n\r" may be the first half of a ping split across segments.
          if (left === 2 || (left === 3 && buf[off + 2] === CR)) break;
          off += 2;
          continue;
        }
      }
      const rest = off === 0 ? buf : buf.subarray(off);
      let n: number;
      try {
        n = frameLength(rest, this.limits);
      } catch (err) {
        this.framingFailed(err, rest);
        return;
      }
      if (n === 0) break;
      off += n;
      this.sink.flowMessage(n === rest.length ? rest : rest.subarray(0, n), this);
    }
    if (this.socket.destroyed || off >= buf.length) return;
    buf = off === 0 ? buf : buf.subarray(off);
    if (buf.length > this.maxBuffered) {
      this.framingFailed(new SipParseError(513, 'Message Too Large'), buf);
      return;
    }
    this.pending = buf;
  }

  private framingFailed(err: unknown, data: Buffer): void {
    this.pending = null;
    this.sink.flowFramingError(err, this, data);
    // Stop reading: the rest of the stream cannot be resynchronised.
    this.socket.pause();
    this.end();
  }

  private onClose(): void {
    if (this._closed) return;
    this._closed = true;
    this.pending = null;
    this.sink.flowClosed(this);
    this.resolveClosed();
  }
}

/**
 * The identity of a TLS peer whose certificate verified against our trust anchors
 * (RFC 5922 §7.1: subjectAltName DNS entries, the CN only as a fallback name).
 */
function verifiedPeerNames(socket: tls.TLSSocket): string[] | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const names: string[] = [];
  for (const entry of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(entry);
    if (m) names.push(m[1]!.trim().toLowerCase());
  }
  const cn = cert.subject?.CN;
  if (typeof cn === 'string' && cn.length > 0) names.push(cn.toLowerCase());
  return names.length > 0 ? names : undefined;
}

/** Opens a client connection (RFC 3261 §18.1.1) and resolves once it can carry data. */
export function connectStream(
  protocol: 'tcp' | 'tls',
  address: string,
  port: number,
  timeoutMs: number,
  tlsOptions: TlsClientOptions | undefined,
  serverName: string | undefined,
  track: Set<net.Socket>,
  localAddress?: string,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    const readyEvent = protocol === 'tls' ? 'secureConnect' : 'connect';
    if (protocol === 'tls') {
      socket = tls.connect({
        host: address,
        port,
        ...(localAddress !== undefined ? { localAddress } : {}),
        // SNI must be a name, never an IP literal (RFC 6066 §3).
        servername: serverName && net.isIP(serverName) === 0 ? serverName : undefined,
        ca: tlsOptions?.ca,
        cert: tlsOptions?.cert,
        key: tlsOptions?.key,
        rejectUnauthorized: tlsOptions?.rejectUnauthorized ?? true,
        // The name to verify is the SIP domain (RFC 5922), not the address dialled.
        ...(serverName ? { checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(serverName, cert) } : {}),
      });
    } else {
      socket = net.connect({ host: address, port, ...(localAddress !== undefined ? { localAddress } : {}) });
    }
    track.add(socket);
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      track.delete(socket);
      socket.destroy();
      reject(new TransportError(`${protocol} connect to ${address}:${port} failed: ${err.message}`, { cause: err }));
    };
    const closedEarly = (): void => fail(new Error('connection closed'));
    socket.once('error', fail);
    socket.once('close', closedEarly);
    socket.once(readyEvent, () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      track.delete(socket);
      socket.off('error', fail);
      socket.off('close', closedEarly);
      resolve(socket);
    });
  });
}

export interface StreamServer {
  readonly port: number;
  close(): Promise<void>;
  /** tls only: the certificate and key for connections accepted from now on. */
  setSecureContext(tls: TlsListenOptions): void;
}

/** A TCP or TLS listening socket; `onSocket` gets each connection once it can carry data. */
export function startStreamServer(
  protocol: 'tcp' | 'tls',
  address: string,
  port: number,
  tlsOptions: TlsListenOptions | undefined,
  onSocket: (socket: net.Socket) => void,
): Promise<StreamServer> {
  const server =
    protocol === 'tls'
      // With trust anchors, ask for the peer's certificate (a trunk proving who it is) but
      // admit peers without one: they are clients that authenticate in SIP.
      ? tls.createServer({
        cert: tlsOptions!.cert, key: tlsOptions!.key, ca: tlsOptions!.ca,
        requestCert: tlsOptions!.ca !== undefined, rejectUnauthorized: false,
      })
      : net.createServer();
  server.on(protocol === 'tls' ? 'secureConnection' : 'connection', onSocket);
  // A peer's failed handshake is that peer's problem, not the listening point's.
  server.on('tlsClientError', (_err: Error, socket: net.Socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new TransportError(`${protocol} listen on ${address}:${port} failed: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host: address, port }, () => {
      server.off('error', onError);
      server.on('error', () => undefined);
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : port,
        close: () => new Promise<void>((done) => server.close(() => done())),
        setSecureContext: (t) => {
          if (!(server instanceof tls.Server)) throw new TransportError(`${protocol} listening point has no certificate`);
          server.setSecureContext({ cert: t.cert, key: t.key, ...(t.ca !== undefined ? { ca: t.ca } : {}) });
        },
      });
    });
  });
}
