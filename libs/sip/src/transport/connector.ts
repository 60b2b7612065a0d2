// Outbound connections (RFC 3261 §18.1.1): a TCP, TLS, WS or WSS connection opened
// toward a destination, one attempt per destination at a time (concurrent sends share it),
// handed to the transport layer's flow table once up.

import type * as net from 'node:net';
import type { WebSocket } from 'ws';
import type { Flow } from './flow.js';
import { connectStream } from './stream-flow.js';
import { connectWs } from './ws-client.js';
import { TransportError, type Destination, type TlsClientOptions } from './types.js';

export interface ConnectorOptions {
  connectTimeoutMs: number;
  maxMessageBytes: number;
  tlsClient: TlsClientOptions | undefined;
}

/** The transport layer's side: adopt a connected socket as a flow; whether it is closing. */
export interface ConnectorHooks {
  stream(protocol: 'tcp' | 'tls', socket: net.Socket): Flow;
  webSocket(protocol: 'ws' | 'wss', ws: WebSocket, socket: net.Socket): Flow;
  closing(): boolean;
}

export class FlowConnector {
  private readonly connecting = new Map<string, Promise<Flow>>();
  private readonly pendingSockets = new Set<net.Socket>();
  private readonly pendingWs = new Set<WebSocket>();

  constructor(private readonly opts: ConnectorOptions, private readonly hooks: ConnectorHooks) {}

  /** A flow to `address` (normalized) from `from` (one of ours, or undefined), shared while it is being opened. */
  connect(dest: Destination, address: string, from: string | undefined): Promise<Flow> {
    const key = dest.protocol + '|' + address + '|' + dest.port + '|' + (dest.tlsServerName ?? '') + '|' + (from ?? '');
    let p = this.connecting.get(key);
    if (!p) {
      p = this.open(dest, address, from).finally(() => this.connecting.delete(key));
      this.connecting.set(key, p);
    }
    return p;
  }

  /** Drops the connections still being set up (the layer closes). */
  abandon(): void {
    for (const s of this.pendingSockets) s.destroy();
    for (const w of this.pendingWs) w.terminate();
  }

  private async open(dest: Destination, address: string, from: string | undefined): Promise<Flow> {
    const protocol = dest.protocol;
    const { connectTimeoutMs, maxMessageBytes, tlsClient } = this.opts;
    if (protocol === 'tcp' || protocol === 'tls') {
      const socket = await connectStream(protocol, address, dest.port, connectTimeoutMs, tlsClient, dest.tlsServerName, this.pendingSockets, from);
      if (this.hooks.closing()) {
        socket.destroy();
        throw new TransportError('transport layer is closed');
      }
      return this.hooks.stream(protocol, socket);
    }
    if (protocol === 'ws' || protocol === 'wss') {
      const { ws, socket } = await connectWs(
        protocol, address, dest.port, dest.wsPath ?? '/', connectTimeoutMs, maxMessageBytes, tlsClient, dest.tlsServerName, this.pendingWs,
      );
      if (this.hooks.closing()) {
        ws.terminate();
        throw new TransportError('transport layer is closed');
      }
      return this.hooks.webSocket(protocol, ws, socket);
    }
    throw new TransportError(`unknown transport ${String(protocol)}`);
  }
}
