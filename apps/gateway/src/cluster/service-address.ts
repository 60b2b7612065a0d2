// Binding a dead node's service address (issue 10 item 4): its SIP listening points,
// on its address and ports, so its browsers' reconnects, its trunks' requests and its
// calls' in-dialog traffic reach this node. TLS and WSS take this node's own
// certificate for the protocol (the cluster shares one per service name), WebSocket
// upgrades the same Origin rules. Binding fails as a whole when any point cannot be
// bound: the address has not moved here, or its old owner still holds it.

import { readFileSync } from 'node:fs';
import type { ListeningPoint, TransportLayer } from '@trapezoid/sip';
import type { NodeInfo } from '@trapezoid/cluster';
import type { ListenerConfig } from '../config/index.js';
import type { Logger } from '../logging.js';

export class ServiceAddresses {
  private readonly bound = new Map<string, ListeningPoint[]>();

  constructor(private readonly transport: TransportLayer, private readonly own: ListenerConfig[], private readonly log: Logger) {}

  /** Binds every listening point of `node`; false (and nothing left bound) if one cannot be. */
  async bind(node: NodeInfo): Promise<boolean> {
    const points: ListeningPoint[] = [];
    try {
      for (const l of node.listeners) {
        const mine = this.own.find((o) => o.protocol === l.protocol);
        const tls = mine?.tls;
        const origins = mine?.origins ?? [];
        points.push(await this.transport.listen({
          protocol: l.protocol, address: l.address, port: l.port,
          ...(tls ? { tls: { cert: readFileSync(tls.cert), key: readFileSync(tls.key), ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}) } } : {}),
          ...(origins.length > 0 ? { wsAdmit: (req) => origins.includes(req.headers.origin ?? '') } : {}),
        }));
      }
    } catch (err) {
      for (const p of points) await this.transport.unlisten(p);
      this.log.info('cannot bind a dead node\'s service address (yet)', {
        event: 'takeover-bind-failed', node: node.owner, address: node.serviceAddress, error: String(err),
      });
      return false;
    }
    this.bound.set(node.owner, points);
    this.log.info('bound a dead node\'s service address', { event: 'takeover-bound', node: node.owner, listeners: points });
    return true;
  }

  async unbind(node: NodeInfo): Promise<void> {
    for (const p of this.bound.get(node.owner) ?? []) await this.transport.unlisten(p);
    this.bound.delete(node.owner);
  }
}
