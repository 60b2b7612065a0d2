// SIP capture to a Homer collector: every message the transport tap sees, in and out,
// on both legs, becomes one HEPv3 datagram with its secrets redacted first. The tap only
// queues (a bounded queue, dropped and counted when the collector cannot keep up); the
// packets are built and sent on the next turn of the event loop, when the correlation
// id (the caller's Call-ID, shared by both legs) is known even for the first INVITE.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { TappedMessage, TransportLayer } from '@trapezoid/sip';
import type { Logger } from '../logging.js';
import { encodeHep3 } from './hep3.js';
import { redactSipMessage } from './redact.js';

export interface HepOptions {
  address: string;
  port: number;
  agentId: number;
  password?: string | undefined;
}

const MAX_QUEUE = 10_000;

export class HepExporter {
  private readonly socket: Socket;
  private queue: TappedMessage[] = [];
  private scheduled = false;
  private readonly untap: () => void;
  private closed = false;
  private warned = false;

  constructor(
    private readonly opts: HepOptions,
    transport: TransportLayer,
    /** The correlation id of a message's Call-ID (the call's A-leg Call-ID), if it belongs to a call. */
    private readonly correlate: (callId: string) => string | undefined,
    private readonly log: Logger,
    private readonly onPacket: (result: 'sent' | 'dropped') => void,
  ) {
    this.socket = createSocket(isIPv6(opts.address) ? 'udp6' : 'udp4');
    this.socket.on('error', (err) => this.log.warn('SIP capture socket error', { event: 'hep-error', error: String(err) }));
    this.socket.unref();
    this.untap = transport.addTap((m) => this.enqueue(m));
  }

  private enqueue(m: TappedMessage): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUE) {
      this.onPacket('dropped');
      return;
    }
    this.queue.push(m);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const m of batch) {
      const t = m.transport;
      const out = m.direction === 'sent';
      const callId = m.message?.callId;
      const correlationId = callId ? this.correlate(callId) ?? callId : undefined;
      const packet = encodeHep3({
        sourceAddress: out ? t.localAddress : t.remoteAddress,
        sourcePort: out ? t.localPort : t.remotePort,
        destinationAddress: out ? t.remoteAddress : t.localAddress,
        destinationPort: out ? t.remotePort : t.localPort,
        ipProtocol: t.protocol === 'udp' ? 17 : 6,
        timeMs: m.at,
        captureAgentId: this.opts.agentId,
        ...(this.opts.password !== undefined ? { authKey: this.opts.password } : {}),
        ...(correlationId !== undefined ? { correlationId } : {}),
        payload: redactSipMessage(m.data),
      });
      this.socket.send(packet, this.opts.port, this.opts.address, (err) => {
        if (err && !this.warned) {
          this.warned = true;
          this.log.warn('SIP capture packet not sent', { event: 'hep-error', error: String(err) });
        }
        this.onPacket(err ? 'dropped' : 'sent');
      });
    }
  }

  async close(): Promise<void> {
    this.untap();
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
