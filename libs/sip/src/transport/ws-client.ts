// The WebSocket client side of RFC 7118: outbound ws:// and wss:// connections that
// must come up with the "sip" subprotocol.

import type { Socket } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import { hostPort } from './address.js';
import { TransportError, type TlsClientOptions } from './types.js';

export function connectWs(
  protocol: 'ws' | 'wss',
  address: string,
  port: number,
  path: string,
  timeoutMs: number,
  maxPayload: number,
  tlsOptions: TlsClientOptions | undefined,
  serverName: string | undefined,
  track: Set<WebSocket>,
): Promise<{ ws: WebSocket; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const url = `${protocol}://${hostPort(address, port)}${path.startsWith('/') ? path : '/' + path}`;
    // ws hands these to https.request; `servername` (SNI) is passed through untyped.
    const options: ClientOptions & { servername?: string } = {
      handshakeTimeout: timeoutMs,
      maxPayload,
      perMessageDeflate: false,
      ca: tlsOptions?.ca,
      cert: tlsOptions?.cert,
      key: tlsOptions?.key,
      rejectUnauthorized: tlsOptions?.rejectUnauthorized ?? true,
      servername: serverName,
      headers: serverName ? { Host: hostPort(serverName, port) } : undefined,
    };
    const ws = new WebSocket(url, 'sip', options);
    track.add(ws);
    let settled = false;
    let socket: Socket | undefined;
    ws.once('upgrade', (res) => { socket = res.socket; });
    const fail = (why: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      track.delete(ws);
      ws.terminate();
      reject(new TransportError(`${protocol} connect to ${url} failed: ${why}`, { cause }));
    };
    ws.on('error', (err) => fail(err.message, err));
    ws.once('close', () => fail('connection closed'));
    ws.once('unexpected-response', (_req, res) => fail(`HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
    ws.once('open', () => {
      if (settled) return;
      if (ws.protocol !== 'sip' || !socket) {
        fail('server did not accept subprotocol "sip"');
        return;
      }
      settled = true;
      track.delete(ws);
      ws.removeAllListeners('close');
      ws.removeAllListeners('unexpected-response');
      resolve({ ws, socket });
    });
  });
}
