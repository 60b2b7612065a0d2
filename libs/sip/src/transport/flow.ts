// A flow is one connection (TCP, TLS, WS or WSS) as RFC 5626 §3 names it. The flow
// table finds a flow by its id (responses and requests to a registered contact go
// over the flow the peer opened) or by its remote address (RFC 3261 §18.1: reuse a
// connection to the same destination instead of opening another).

import type { TransportInfo } from '../message/index.js';
import { hostPort } from './address.js';
import type { TransportProtocol } from './types.js';

export interface Flow {
  readonly id: string;
  readonly protocol: TransportProtocol;
  /** Local and remote addresses of the connection, flowId set. */
  readonly info: TransportInfo;
  /** Date.now() of the last bytes received (messages or keepalives). */
  lastActivity: number;
  /** True once the connection has been closed by either side. */
  readonly closed: boolean;
  /** Settles once the connection is closed and reported. */
  readonly whenClosed: Promise<void>;
  /** Writes one serialized message; rejects if the connection is gone. */
  write(data: Buffer): Promise<void>;
  /** Ends the connection after pending writes are flushed. */
  end(): void;
  /** Drops the connection at once. */
  destroy(): void;
}

function remoteKey(protocol: string, address: string, port: number): string {
  return protocol + '|' + address + '|' + port;
}

export class FlowTable {
  private readonly byId = new Map<string, Flow>();
  private readonly byRemote = new Map<string, Flow>();
  private seq = 0;

  /** A stable id, unique for the life of the process: `tcp:127.0.0.1:53211#7`. */
  nextId(protocol: TransportProtocol, remoteAddress: string, remotePort: number): string {
    return protocol + ':' + hostPort(remoteAddress, remotePort) + '#' + ++this.seq;
  }

  add(flow: Flow): void {
    this.byId.set(flow.id, flow);
    const key = remoteKey(flow.protocol, flow.info.remoteAddress, flow.info.remotePort);
    // The newest connection to a remote wins: the older one may be half-dead.
    this.byRemote.set(key, flow);
  }

  remove(flow: Flow): boolean {
    if (this.byId.get(flow.id) !== flow) return false;
    this.byId.delete(flow.id);
    const key = remoteKey(flow.protocol, flow.info.remoteAddress, flow.info.remotePort);
    if (this.byRemote.get(key) === flow) this.byRemote.delete(key);
    return true;
  }

  get(id: string): Flow | undefined {
    const f = this.byId.get(id);
    return f && !f.closed ? f : undefined;
  }

  findByRemote(protocol: string, address: string, port: number): Flow | undefined {
    const f = this.byRemote.get(remoteKey(protocol, address, port));
    return f && !f.closed ? f : undefined;
  }

  values(): IterableIterator<Flow> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }
}
