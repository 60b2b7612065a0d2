// An in-memory transport with the TransportLayer's surface, for tests that drive the
// transaction timers with Node's mock clock (which cannot drive real sockets). Each
// message is serialized and re-parsed on delivery, like the wire would, and delivered
// in a microtask so no real or mocked timer is involved. A test can drop messages
// (loss) through `network.filter` and read what each endpoint sent.

import { EventEmitter } from 'node:events';
import type { SipMessage, SipRequest, SipResponse, TransportInfo } from '../message/index.js';
import { parseMessage } from '../parser/index.js';
import { stampTopVia } from '../transport/inbound.js';
import { responseTarget } from '../transport/response-route.js';
import { TransportError, type Destination, type ListeningPoint, type TransportProtocol } from '../transport/types.js';

export interface LoopbackEndpointOptions {
  /** 'udp' (unreliable: retransmission timers run) or e.g. 'tcp' (reliable). */
  protocol?: TransportProtocol;
  address?: string;
  port: number;
}

export interface SentRecord {
  message: SipMessage;
  destination: Destination;
}

export class LoopbackNetwork {
  private readonly endpoints = new Map<string, LoopbackTransport>();
  /** Return false to lose the message in flight. */
  filter: ((message: SipMessage, from: LoopbackTransport, to: Destination) => boolean) | undefined;

  endpoint(opts: LoopbackEndpointOptions): LoopbackTransport {
    const t = new LoopbackTransport(this, opts);
    this.endpoints.set(t.point.address + ':' + t.point.port, t);
    return t;
  }

  /** @internal */
  find(address: string, port: number): LoopbackTransport | undefined {
    return this.endpoints.get(address + ':' + port);
  }

  /** @internal */
  remove(t: LoopbackTransport): void {
    this.endpoints.delete(t.point.address + ':' + t.point.port);
  }
}

export class LoopbackTransport extends EventEmitter {
  readonly point: ListeningPoint;
  /** Everything this endpoint sent, lost messages included, in order. */
  readonly sent: SentRecord[] = [];
  private closed = false;

  constructor(private readonly network: LoopbackNetwork, opts: LoopbackEndpointOptions) {
    super();
    this.point = { protocol: opts.protocol ?? 'udp', address: opts.address ?? '127.0.0.1', port: opts.port };
  }

  localPoint(protocol: TransportProtocol): ListeningPoint | undefined {
    return protocol === this.point.protocol ? this.point : undefined;
  }

  /** Messages sent so far that satisfy `pred` (e.g. all INVITEs, all 200s). */
  count(pred: (m: SipMessage) => boolean): number {
    let n = 0;
    for (const r of this.sent) if (pred(r.message)) n++;
    return n;
  }

  send(message: SipMessage, dest: Destination): Promise<TransportInfo> {
    if (this.closed) return Promise.reject(new TransportError('transport layer is closed'));
    const info: TransportInfo = {
      protocol: this.point.protocol, localAddress: this.point.address, localPort: this.point.port,
      remoteAddress: dest.address, remotePort: dest.port,
    };
    const data = message.toBuffer();
    this.sent.push({ message: parseMessage(data), destination: dest });
    const peer = this.network.find(dest.address, dest.port);
    if (peer === undefined) return Promise.reject(new TransportError(`nothing listens on ${dest.address}:${dest.port}`));
    if (this.network.filter && !this.network.filter(message, this, dest)) return Promise.resolve(info);
    queueMicrotask(() => peer.deliver(data, this.point));
    return Promise.resolve(info);
  }

  sendResponse(response: SipResponse, request: SipRequest): Promise<TransportInfo> {
    let dest: Destination;
    try {
      dest = responseTarget(response, request);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.send(response, dest);
  }

  close(): Promise<void> {
    this.closed = true;
    this.network.remove(this);
    return Promise.resolve();
  }

  private deliver(data: Buffer, from: ListeningPoint): void {
    if (this.closed) return;
    const msg = parseMessage(data);
    const info: TransportInfo = {
      protocol: this.point.protocol, localAddress: this.point.address, localPort: this.point.port,
      remoteAddress: from.address, remotePort: from.port,
    };
    msg.transport = info;
    if (msg.isRequest) stampTopVia(msg, info);
    this.emit('message', msg);
  }
}

/** Lets every queued loopback delivery (and what it triggers) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
