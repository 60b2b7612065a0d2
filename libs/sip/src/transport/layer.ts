// The transport layer (RFC 3261 §18): listening points for UDP, TCP, TLS, WS and WSS,
// the flow table, and the rules for where a request or a response is sent.

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { SipError, type SipRequest, type SipResponse, type TransportInfo } from '../message/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES, parseMessage, SipParseError, type ParseLimits } from '../parser/index.js';
import { addressFamily, normalizeAddress, unbracket } from './address.js';
import { FlowTable, type Flow } from './flow.js';
import { isCrlfOnly, stampTopVia, statelessErrorResponse, withRecoveredHeaders } from './inbound.js';
import { responseTarget } from './response-route.js';
import type { FlowSink } from './sink.js';
import { FlowConnector } from './connector.js';
import { openServerPoint, PROTOCOLS, type ServerPoint } from './listening-points.js';
import { StreamFlow } from './stream-flow.js';
import { UdpPoint } from './udp.js';
import { WsFlow } from './ws-flow.js';
import type { MessageTap, TappedMessage } from './tap.js';
import {
  TransportError,
  type Destination,
  type ListenOptions,
  type ListeningPoint,
  type TlsClientOptions,
  type TlsListenOptions,
  type TransportLayerOptions,
  type TransportProtocol,
  type WsRefusal,
  type WsVerdict,
} from './types.js';

/**
 * Events:
 * - 'message' (msg) — msg.transport set; requests have their top Via stamped with
 *   received/rport (RFC 3261 §18.2.1, RFC 3581 §4).
 * - 'parseError' (err: SipParseError, info: TransportInfo) — after the stateless error
 *   response, if one could be addressed.
 * - 'flowClosed' (flowId, info) — a TCP/TLS/WS/WSS connection is gone (RFC 5626).
 * - 'wsRefused' (refusal: WsRefusal) — a WebSocket upgrade refused (HTTP status), or a
 *   connection closed by policy after it (close code 1008: no authentication in time,
 *   closeFlow() with 1008).
 * Never 'error': per-peer failures become the events above.
 */
export class TransportLayer extends EventEmitter implements FlowSink {
  private readonly limits: ParseLimits | undefined;
  private readonly keepaliveIntervalMs: number;
  private readonly idleTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxMessageBytes: number;
  private readonly tlsClient: TlsClientOptions | undefined;
  private readonly replaceFlow: TransportLayerOptions['replaceFlow'];
  private readonly points: ServerPoint[] = [];
  private readonly udp: UdpPoint[] = [];
  private readonly flows = new FlowTable();
  private readonly connector: FlowConnector;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly idleTimer: NodeJS.Timeout;
  private closing = false;
  private taps: MessageTap[] = [];

  constructor(opts: TransportLayerOptions = {}) {
    super();
    this.limits = opts.limits;
    this.keepaliveIntervalMs = opts.keepaliveIntervalMs ?? 30_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 600_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.maxMessageBytes = opts.limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.tlsClient = opts.tlsClient;
    this.replaceFlow = opts.replaceFlow;
    this.connector = new FlowConnector(
      { connectTimeoutMs: this.connectTimeoutMs, maxMessageBytes: this.maxMessageBytes, tlsClient: this.tlsClient },
      { stream: (protocol, socket) => this.adoptStream(protocol, socket), webSocket: (protocol, ws, socket) => this.adoptWs(protocol, ws, socket), closing: () => this.closing },
    );
    this.pingTimer = setInterval(() => this.pingWsFlows(), this.keepaliveIntervalMs).unref();
    const sweep = Math.max(50, Math.min(this.idleTimeoutMs / 2, 60_000));
    this.idleTimer = setInterval(() => this.closeIdleFlows(), sweep).unref();
  }

  async listen(opts: ListenOptions): Promise<ListeningPoint> {
    if (this.closing) throw new TransportError('transport layer is closed');
    if (!PROTOCOLS.has(opts.protocol)) throw new TransportError(`unknown transport ${String(opts.protocol)}`);
    if ((opts.protocol === 'tls' || opts.protocol === 'wss') && !opts.tls) {
      throw new TransportError(`${opts.protocol} listening point needs tls.cert and tls.key`);
    }
    const address = unbracket(opts.address);
    const sp = await openServerPoint(opts, address, this.maxMessageBytes, {
      datagram: (buf, info) => this.receive(buf, info),
      stream: (protocol, socket) => {
        if (this.closing) socket.destroy();
        else this.adoptStream(protocol, socket);
      },
      webSocket: (protocol, socket, req, verdict) => this.acceptWs(protocol, socket, req, verdict, opts.wsAuthTimeoutMs),
      refused: (refusal) => this.emit('wsRefused', refusal),
    });
    if (sp instanceof UdpPoint) this.udp.push(sp);
    this.points.push(sp);
    return { ...sp.point };
  }

  /**
   * Adds a tap that sees every message sent or received (see tap.ts); returns its
   * removal. Nothing is copied or built for taps while none is installed.
   */
  addTap(tap: MessageTap): () => void {
    this.taps = [...this.taps, tap];
    return () => { this.taps = this.taps.filter((t) => t !== tap); };
  }

  /** The open connections (TCP, TLS, WS, WSS flows), as their transport info. */
  openFlows(): TransportInfo[] {
    const out: TransportInfo[] = [];
    for (const f of this.flows.values()) if (!f.closed) out.push(f.info);
    return out;
  }

  /**
   * Closes a connection: a WebSocket with `code` and `reason` (RFC 6455 §7.4.1, e.g. 1001
   * going away), any other flow by ending it. False if the flow is already gone.
   */
  closeFlow(flowId: string, code = 1000, reason = ''): boolean {
    const flow = this.flows.get(flowId);
    if (!flow) return false;
    if (flow instanceof WsFlow) {
      // RFC 6455 §7.4.1: 1008 is a policy violation, which the application hears of.
      if (code === 1008) this.reportClosedByPolicy(flow, reason);
      flow.closeWith(code, reason);
    } else flow.end();
    return true;
  }

  listeningPoints(): ListeningPoint[] {
    return this.points.map((p) => ({ ...p.point }));
  }

  /**
   * Certificate renewal: the tls or wss listening point at `port` presents `tls` to the
   * connections it accepts from now on (open ones keep theirs). Throws TransportError
   * when there is no such point; Node's error when the certificate or key is unusable.
   */
  updateTls(protocol: 'tls' | 'wss', port: number, tls: TlsListenOptions): void {
    const sp = this.points.find((p) => p.point.protocol === protocol && p.point.port === port);
    if (!sp?.setSecureContext) throw new TransportError(`no ${protocol} listening point on port ${port}`);
    sp.setSecureContext(tls);
  }

  /** The Via sent-by / Contact host:port to advertise for a protocol (bound to `address` when given and one is). */
  localPoint(protocol: TransportProtocol, address?: string): ListeningPoint | undefined {
    const local = address === undefined ? undefined : normalizeAddress(unbracket(address));
    const p = (local !== undefined ? this.points.find((sp) => sp.point.protocol === protocol && sp.point.address === local) : undefined)
      ?? this.points.find((sp) => sp.point.protocol === protocol);
    return p ? { ...p.point } : undefined;
  }

  /** Stops one listening point (a taken-over service address handed back). */
  async unlisten(point: ListeningPoint): Promise<void> {
    const i = this.points.findIndex((sp) => sp.point.protocol === point.protocol && sp.point.address === point.address && sp.point.port === point.port);
    if (i < 0) return;
    const [sp] = this.points.splice(i, 1);
    const u = this.udp.indexOf(sp as UdpPoint);
    if (u >= 0) this.udp.splice(u, 1);
    await sp!.close();
  }

  /** Whether a flow (connection) is still open. */
  hasFlow(flowId: string): boolean {
    return this.flows.get(flowId) !== undefined;
  }

  /** Open connections of one protocol (e.g. 'ws'), or of every connection-oriented one. */
  connectionCount(protocol?: TransportProtocol): number {
    if (protocol === undefined) return this.flows.size;
    let n = 0;
    for (const f of this.flows.values()) if (f.protocol === protocol) n++;
    return n;
  }

  /** What the admission of a WebSocket flow's upgrade attached to it (WsVerdict.context). */
  flowContext(flowId: string): unknown {
    const f = this.flows.get(flowId);
    return f instanceof WsFlow ? f.context : undefined;
  }

  /**
   * Records that a request on this flow passed authentication: a WebSocket flow's
   * authentication deadline (ListenOptions.wsAuthTimeoutMs) no longer applies.
   */
  markAuthenticated(flowId: string): void {
    const f = this.flows.get(flowId);
    if (f instanceof WsFlow) f.markAuthenticated();
  }

  /**
   * Sends a request (or a response to an explicit destination), RFC 3261 §18.1: over
   * `dest.flowId` if that connection is still open, else over a connection to the
   * destination that can be reused, else over a new one (UDP: the listening point's
   * socket of the destination's address family).
   */
  async send(message: SipRequest | SipResponse, dest: Destination): Promise<TransportInfo> {
    if (this.closing) throw new TransportError('transport layer is closed');
    const data = message.toBuffer();
    if (dest.flowId !== undefined) {
      const flow = this.flows.get(dest.flowId);
      if (flow) return this.writeFlow(flow, data, message);
      // A browser behind its WebSocket (RFC 7118 §5: Via host "*.invalid") can only be
      // reached over the connection it opened, or over the one it opens next.
      if (dest.protocol === 'ws' || dest.protocol === 'wss') {
        const next = this.replaceFlow ? await this.replaceFlow(dest).catch(() => undefined) : undefined;
        if (next?.flowId !== undefined && next.flowId !== dest.flowId && this.flows.get(next.flowId)) return this.send(message, next);
        throw new TransportError(`flow ${dest.flowId} is closed`);
      }
    }
    const address = normalizeAddress(unbracket(dest.address));
    const local = dest.localAddress === undefined ? undefined : normalizeAddress(unbracket(dest.localAddress));
    if (dest.protocol === 'udp') return this.sendUdp(data, address, dest.port, local === undefined ? undefined : this.udp.find((u) => u.point.address === local), message);
    if (!PROTOCOLS.has(dest.protocol)) throw new TransportError(`unknown transport ${String(dest.protocol)}`);
    if (address.toLowerCase().endsWith('.invalid')) {
      throw new TransportError(`${address} is reachable only over its own flow, which is gone`);
    }
    const flow = this.flows.findByRemote(dest.protocol, address, dest.port) ?? (await this.connect(dest, address, local));
    return this.writeFlow(flow, data, message);
  }

  /**
   * Sends a response where RFC 3261 §18.2.2 and RFC 3581 §4 say: over the request's
   * connection if it is still open, else to the top Via's received/rport, else to its
   * sent-by. UDP responses leave from the socket the request arrived on (symmetric).
   */
  async sendResponse(response: SipResponse, request: SipRequest): Promise<TransportInfo> {
    if (this.closing) throw new TransportError('transport layer is closed');
    const t = request.transport;
    if (t?.flowId !== undefined) {
      const flow = this.flows.get(t.flowId);
      if (flow) return this.writeFlow(flow, response.toBuffer(), response);
    }
    const target = responseTarget(response, request);
    if (target.protocol === 'udp') {
      const from = t && t.protocol === 'udp' ? this.udpPointFor(t.localAddress, t.localPort) : undefined;
      return this.sendUdp(response.toBuffer(), target.address, target.port, from, response);
    }
    return this.send(response, target);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.pingTimer);
    clearInterval(this.idleTimer);
    this.connector.abandon();
    const waits: Array<Promise<void>> = [];
    for (const flow of [...this.flows.values()]) {
      flow.destroy();
      waits.push(flow.whenClosed);
    }
    for (const p of this.points) waits.push(p.close());
    this.points.length = 0;
    this.udp.length = 0;
    await Promise.all(waits);
  }

  // ---- FlowSink ----

  flowMessage(data: Buffer, flow: Flow): void {
    this.receive(data, flow.info);
  }

  flowFramingError(err: unknown, flow: Flow, data: Buffer): void {
    this.rejectMalformed(withRecoveredHeaders(err, data, this.limits), flow.info);
  }

  flowClosed(flow: Flow): void {
    if (this.flows.remove(flow)) this.emit('flowClosed', flow.id, flow.info);
  }

  // ---- receive path ----

  private receive(data: Buffer, info: TransportInfo): void {
    // RFC 5626 §4.4.1 / §3.5.1: CRLF keepalives on UDP and WS carry no message.
    if (isCrlfOnly(data)) return;
    let msg: SipRequest | SipResponse;
    try {
      msg = parseMessage(data, this.limits);
    } catch (err) {
      if (this.taps.length > 0) this.tapped({ direction: 'received', data, transport: info, at: Date.now() });
      // A datagram over the size limit is refused before its header fields are read:
      // read them now so the sender learns why (513), as stream transports do.
      this.rejectMalformed(withRecoveredHeaders(err, data, this.limits), info);
      return;
    }
    msg.transport = info;
    if (this.taps.length > 0) this.tapped({ direction: 'received', data, message: msg, transport: info, at: Date.now() });
    if (msg.isRequest) {
      if (!msg.headers.has('via')) {
        this.rejectMalformed(new SipParseError(400, 'Bad Request: missing Via', msg), info);
        return;
      }
      try {
        stampTopVia(msg, info);
      } catch (err) {
        const reason = err instanceof SipError ? err.reason : 'Bad Request: malformed Via';
        this.rejectMalformed(new SipParseError(400, reason, msg), info);
        return;
      }
    }
    this.emit('message', msg);
  }

  /** A malformed request gets a stateless error response if it can be addressed. */
  private rejectMalformed(err: unknown, info: TransportInfo): void {
    const perr =
      err instanceof SipParseError
        ? err
        : new SipParseError(400, err instanceof SipError ? err.reason : 'Bad Request: malformed message');
    const partial = perr.partial;
    if (partial?.isRequest) {
      const res = statelessErrorResponse(partial, perr.status, perr.reason);
      // Back to the packet's source over the same socket or flow: the Via of a request
      // that failed to parse is not to be trusted for routing.
      if (res) this.sendRaw(res.toBuffer(), info).catch(() => undefined);
    }
    this.emit('parseError', perr, info);
  }

  private sendRaw(data: Buffer, info: TransportInfo): Promise<TransportInfo> {
    if (info.flowId !== undefined) {
      const flow = this.flows.get(info.flowId);
      if (!flow) return Promise.reject(new TransportError(`flow ${info.flowId} is closed`));
      return this.writeFlow(flow, data);
    }
    const from = this.udpPointFor(info.localAddress, info.localPort);
    return this.sendUdp(data, info.remoteAddress, info.remotePort, from);
  }

  // ---- send helpers ----

  private async writeFlow(flow: Flow, data: Buffer, message?: SipRequest | SipResponse): Promise<TransportInfo> {
    await flow.write(data);
    if (this.taps.length > 0) this.tapped({ direction: 'sent', data, ...(message ? { message } : {}), transport: flow.info, at: Date.now() });
    return flow.info;
  }

  private tapped(m: TappedMessage): void {
    for (const tap of this.taps) {
      try { tap(m); } catch { /* a tap's failure is its own */ }
    }
  }

  private udpPointFor(localAddress: string, localPort: number): UdpPoint | undefined {
    return this.udp.find((u) => u.point.port === localPort && u.point.address === localAddress);
  }

  private async sendUdp(data: Buffer, address: string, port: number, from: UdpPoint | undefined, message?: SipRequest | SipResponse): Promise<TransportInfo> {
    const family = addressFamily(address);
    const u = from ?? this.udp.find((p) => p.family === family) ?? this.udp.find((p) => p.dualStack);
    if (!u) throw new TransportError(`no UDP listening point for IPv${family} destination ${address}`);
    const info = await u.send(data, address, port);
    if (this.taps.length > 0) this.tapped({ direction: 'sent', data, ...(message ? { message } : {}), transport: info, at: Date.now() });
    return info;
  }

  private connect(dest: Destination, address: string, local: string | undefined): Promise<Flow> {
    // Connect from the local address only if it is one we listen on (it is ours).
    const from = local !== undefined && this.points.some((sp) => sp.point.address === local) ? local : undefined;
    return this.connector.connect(dest, address, from);
  }

  private adoptStream(protocol: 'tcp' | 'tls', socket: net.Socket): StreamFlow {
    const id = this.flows.nextId(protocol, normalizeAddress(socket.remoteAddress ?? ''), socket.remotePort ?? 0);
    const flow = new StreamFlow(socket, protocol, id, this, this.limits, this.maxMessageBytes);
    this.flows.add(flow);
    return flow;
  }

  private acceptWs(
    protocol: 'ws' | 'wss', ws: WebSocket, req: IncomingMessage, verdict: Extract<WsVerdict, { admit: true }>, authTimeoutMs: number | undefined,
  ): void {
    if (this.closing) {
      ws.terminate();
      return;
    }
    const flow = this.adoptWs(protocol, ws, req.socket);
    flow.context = verdict.context;
    if (verdict.authenticated) flow.markAuthenticated();
    else if (authTimeoutMs !== undefined) {
      flow.authenticateWithin(authTimeoutMs, () => {
        const reason = 'Not authenticated in time';
        this.reportClosedByPolicy(flow, reason);
        flow.closeWith(1008, reason);
      });
    }
  }

  private reportClosedByPolicy(flow: WsFlow, reason: string): void {
    this.emit('wsRefused', {
      protocol: flow.protocol, remoteAddress: flow.info.remoteAddress, remotePort: flow.info.remotePort, code: 1008, reason, flowId: flow.id,
    } satisfies WsRefusal);
  }

  private adoptWs(protocol: 'ws' | 'wss', ws: WebSocket, socket: net.Socket): WsFlow {
    const remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    const remotePort = socket.remotePort ?? 0;
    const id = this.flows.nextId(protocol, remoteAddress, remotePort);
    const flow = new WsFlow(
      ws, protocol, id,
      { localAddress: normalizeAddress(socket.localAddress ?? ''), localPort: socket.localPort ?? 0, remoteAddress, remotePort },
      this,
    );
    this.flows.add(flow);
    return flow;
  }

  // ---- timers ----

  private pingWsFlows(): void {
    for (const f of this.flows.values()) if (f instanceof WsFlow) f.heartbeat();
  }

  private closeIdleFlows(): void {
    const limit = Date.now() - this.idleTimeoutMs;
    for (const f of this.flows.values()) if (f.lastActivity < limit) f.end();
  }
}
