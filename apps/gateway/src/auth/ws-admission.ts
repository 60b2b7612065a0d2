// The gateway's WebSocket admission (issue 8 item 3): one set of connection limits for
// every ws/wss listener, each listener's own Origin and Host rules, the credentials an
// upgrade may carry, and a log line for every refusal, before and after the upgrade.
// The policy itself is libs/auth's; the transport (libs/sip) applies its verdicts.

import type { IncomingMessage } from 'node:http';
import {
  ConnectionLimits, WsAdmissionPolicy, redactUrl, type ConnectionIdentity, type UpgradeCredentials, type UpgradeRequest,
} from '@trapezoid/auth';
import type { TransportLayer, WsRefusal, WsVerdict } from '@trapezoid/sip';
import type { GatewayConfig, ListenerConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import { RefusalLog } from './refusal-log.js';

export interface WsAdmissionOptions {
  config: GatewayConfig;
  log: Logger;
  transport: TransportLayer;
  /** Credentials carried by the upgrade (ephemeral, JWT); none looked for when absent. */
  credentials?: (url: URL, req: UpgradeRequest) => UpgradeCredentials;
}

export class GatewayWsAdmission {
  readonly limits: ConnectionLimits;
  private readonly refusals: RefusalLog;
  private readonly onRefused = (r: WsRefusal): void => {
    this.refusals.refused(r.remoteAddress, r.code === undefined ? 'websocket upgrade refused' : 'websocket closed by policy', {
      event: r.code === undefined ? 'ws-refused' : 'ws-closed', source: `${r.remoteAddress}:${r.remotePort}`, transport: r.protocol,
      ...(r.status !== undefined ? { status: r.status } : {}), ...(r.code !== undefined ? { code: r.code } : {}),
      reason: r.reason, ...(r.detail !== undefined ? { detail: r.detail } : {}), ...(r.flowId !== undefined ? { flowId: r.flowId } : {}),
    });
  };

  constructor(private readonly opts: WsAdmissionOptions) {
    const w = opts.config.websocket;
    this.limits = new ConnectionLimits({ maxPerAddress: w.maxPerAddress, maxTotal: w.maxConnections, exempt: w.exempt });
    this.refusals = new RefusalLog(opts.log);
    opts.transport.on('wsRefused', this.onRefused);
  }

  /**
   * The listen() options of a ws/wss listener: its admission and its authentication
   * deadline. While `draining()` holds, new connections get 503: agents reconnect to
   * another node.
   */
  listenOptions(l: ListenerConfig, draining: () => boolean = () => false): { wsAdmit: (req: IncomingMessage) => WsVerdict; wsAuthTimeoutMs: number } {
    const policy = new WsAdmissionPolicy({
      origins: l.origins, hosts: l.hosts, loopbackOnly: isLoopbackAddress(l.address), limits: this.limits,
      ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
    });
    const authRequired = this.opts.config.auth.required;
    const wsAdmit = (req: IncomingMessage): WsVerdict => {
      if (draining()) return { admit: false, status: 503, reason: 'Draining: connect to another node', detail: 'gateway draining' };
      const v = policy.admit({ remoteAddress: normalize(req.socket.remoteAddress ?? ''), url: req.url ?? '/', headers: req.headers });
      if (!v.admit) return { admit: false, status: v.status, reason: v.reason, detail: `${v.why}; target ${redactUrl(req.url)}` };
      const identity: ConnectionIdentity | undefined = v.identity;
      // Nothing to prove when authentication is off; proven already when the upgrade carried credentials.
      return { admit: true, context: identity, authenticated: !authRequired || identity !== undefined, release: v.release };
    };
    return { wsAdmit, wsAuthTimeoutMs: this.opts.config.websocket.authTimeout * 1000 };
  }

  /** Writes the counts of refusals not logged one by one so far (ops, tests). */
  flushRefusals(): void {
    this.refusals.flush(true);
  }

  close(): void {
    this.opts.transport.off('wsRefused', this.onRefused);
    this.refusals.close();
  }
}

/** node reports IPv4 peers of a dual-stack socket as ::ffff:a.b.c.d. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function isLoopbackAddress(address: string): boolean {
  const a = normalize(address.replace(/^\[|\]$/g, ''));
  return a === '::1' || a === 'localhost' || /^127\./.test(a);
}
