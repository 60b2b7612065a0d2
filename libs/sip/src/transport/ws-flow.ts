// WebSocket flows (RFC 7118): one SIP message per WebSocket message, in text or
// binary frames, over a connection that negotiated the "sip" subprotocol.

import { isUtf8 } from 'node:buffer';
import type { WebSocket, RawData } from 'ws';
import type { TransportInfo } from '../message/index.js';
import type { Flow } from './flow.js';
import type { FlowSink } from './sink.js';
import { TransportError } from './types.js';

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class WsFlow implements Flow {
  readonly id: string;
  readonly protocol: 'ws' | 'wss';
  readonly info: TransportInfo;
  lastActivity = Date.now();
  readonly whenClosed: Promise<void>;
  /** What the admission of the upgrade said about this connection (ListenOptions.wsAdmit). */
  context: unknown;
  /** A request on it passed authentication, or credentials at the upgrade did. */
  authenticated = false;
  /** Closes the connection unless it authenticates in time (cleared when it does or closes). */
  private authDeadline: NodeJS.Timeout | undefined;
  /** Cleared when a ping goes out, set again by the pong (liveness check). */
  private alive = true;
  private _closed = false;
  private ending = false;
  private resolveClosed!: () => void;

  constructor(
    private readonly ws: WebSocket,
    protocol: 'ws' | 'wss',
    id: string,
    info: Omit<TransportInfo, 'flowId' | 'protocol'>,
    private readonly sink: FlowSink,
  ) {
    this.protocol = protocol;
    this.id = id;
    this.info = { protocol, ...info, flowId: id };
    this.whenClosed = new Promise((resolve) => { this.resolveClosed = resolve; });
    ws.on('message', (data: RawData) => {
      this.lastActivity = Date.now();
      this.sink.flowMessage(toBuffer(data), this);
    });
    ws.on('pong', () => {
      this.alive = true;
      this.lastActivity = Date.now();
    });
    ws.on('ping', () => { this.lastActivity = Date.now(); });
    // Errors (bad frames, oversize payloads) close the socket; 'close' reports it.
    ws.on('error', () => undefined);
    ws.on('close', () => this.onClose());
  }

  get closed(): boolean {
    return this._closed;
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this._closed || this.ws.readyState !== 1 /* OPEN */) {
        reject(new TransportError(`flow ${this.id} is closed`));
        return;
      }
      this.lastActivity = Date.now();
      // RFC 7118 §5.1: text frames must be valid UTF-8; a body that is not goes binary.
      this.ws.send(data, { binary: !isUtf8(data) }, (err) => {
        if (err) reject(new TransportError(`write on ${this.id} failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  /** Keepalive tick: a peer that did not answer the previous ping is dead. */
  heartbeat(): void {
    if (this._closed) return;
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    try {
      this.ws.ping();
    } catch {
      this.ws.terminate();
    }
  }

  /**
   * Arms the authentication deadline: `onExpired` runs if the connection has not
   * authenticated `ms` after now. WebSocket pongs do not count, only markAuthenticated().
   */
  authenticateWithin(ms: number, onExpired: () => void): void {
    if (this.authenticated || this._closed) return;
    this.authDeadline = setTimeout(() => {
      this.authDeadline = undefined;
      if (!this.authenticated && !this._closed) onExpired();
    }, ms);
    this.authDeadline.unref();
  }

  markAuthenticated(): void {
    this.authenticated = true;
    if (this.authDeadline !== undefined) clearTimeout(this.authDeadline);
    this.authDeadline = undefined;
  }

  end(): void {
    this.closeWith(1000, '');
  }

  /** Closes with a status code (e.g. 1008 policy, 1009 too big) and a reason. */
  closeWith(code: number, reason: string): void {
    if (this.ending) return;
    this.ending = true;
    this.ws.close(code, reason.slice(0, 120));
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  destroy(): void {
    this.ws.terminate();
  }

  private onClose(): void {
    if (this._closed) return;
    this._closed = true;
    if (this.authDeadline !== undefined) clearTimeout(this.authDeadline);
    this.sink.flowClosed(this);
    this.resolveClosed();
  }
}
