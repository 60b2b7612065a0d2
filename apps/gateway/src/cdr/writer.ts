// Wires call records to their sinks: on each call's end the monitor hands over the
// finished call, one record is built and written to the JSON-lines file and queued for
// the webhook, whichever are configured. Neither is awaited by anything a call does.

import type { CallObserver } from '../monitor/call-observer.js';
import type { Logger } from '../logging.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { buildCdr, type CallDetailRecord } from './record.js';
import { CdrFileSink } from './file-sink.js';
import { CdrWebhook, type WebhookOptions } from './webhook.js';

export interface CdrOptions {
  file?: string;
  webhook?: WebhookOptions;
}

export class CdrWriter {
  private readonly file: CdrFileSink | null;
  private readonly webhook: CdrWebhook | null;
  /** The most recent records, newest last (tests and the admin API read them). */
  readonly recent: CallDetailRecord[] = [];

  constructor(opts: CdrOptions, observer: CallObserver, node: string, log: Logger, metrics: GatewayMetrics) {
    this.file = opts.file ? new CdrFileSink(opts.file, log, (ok) => metrics.cdr('file', ok ? 'written' : 'failed')) : null;
    this.webhook = opts.webhook
      ? new CdrWebhook(opts.webhook, log, (result) => metrics.cdr('webhook', result), (n) => { metrics.cdrQueueLength = n; })
      : null;
    observer.on('ended', (ob) => {
      const record = buildCdr(ob, node);
      this.recent.push(record);
      if (this.recent.length > 100) this.recent.shift();
      if (!this.file && !this.webhook) return;
      const line = JSON.stringify(record);
      this.file?.write(line, record.id);
      this.webhook?.enqueue(record.id, line);
    });
  }

  get webhookQueueLength(): number {
    return this.webhook?.queueLength ?? 0;
  }

  /** Starts a new file at the configured path (after log rotation moved the old one). */
  reopen(): void {
    this.file?.reopen();
  }

  async close(webhookGraceMs: number): Promise<void> {
    await this.webhook?.close(webhookGraceMs);
    await this.file?.close();
  }
}
