// Call records POSTed to an HTTP webhook, never in a call's way: enqueue() returns at
// once; one delivery runs at a time in the background, each bounded by a timeout; a
// failure (refused, timed out, non-2xx) is retried with exponential back-off and jitter
// up to a number of attempts; the queue is bounded and drops its oldest record when
// full. A receiver that is down or that accepts and never answers costs the gateway one
// pending request and a queue of plain objects: nothing a call waits on.

import type { Logger } from '../logging.js';

export interface WebhookOptions {
  url: string;
  /** Extra request headers (e.g. Authorization for the receiver). */
  headers: Record<string, string>;
  timeoutMs: number;
  maxQueue: number;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export type WebhookResult = 'written' | 'dropped' | 'failed';

interface Item {
  id: string;
  body: string;
  attempts: number;
}

export class CdrWebhook {
  private readonly queue: Item[] = [];
  private running = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private inFlight: AbortController | null = null;
  private idle: (() => void) | null = null;

  constructor(
    private readonly opts: WebhookOptions,
    private readonly log: Logger,
    private readonly onResult: (result: WebhookResult) => void,
    private readonly onQueue: (length: number) => void = () => undefined,
  ) {}

  get queueLength(): number {
    return this.queue.length;
  }

  /** Queues one record; returns at once. */
  enqueue(id: string, body: string): void {
    if (this.closed) return;
    if (this.queue.length >= this.opts.maxQueue) {
      const dropped = this.queue.shift()!;
      this.log.warn('call record dropped: webhook queue full', { event: 'cdr-webhook-dropped', callId: dropped.id, queue: this.opts.maxQueue });
      this.onResult('dropped');
    }
    this.queue.push({ id, body, attempts: 0 });
    this.onQueue(this.queue.length);
    if (!this.running && !this.retryTimer) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const item = this.queue[0]!;
        item.attempts++;
        const error = await this.post(item.body);
        if (error === null) {
          this.queue.shift();
          this.onQueue(this.queue.length);
          this.onResult('written');
          continue;
        }
        if (item.attempts >= this.opts.maxAttempts) {
          this.queue.shift();
          this.onQueue(this.queue.length);
          this.log.warn('call record not delivered to the webhook', { event: 'cdr-webhook-failed', callId: item.id, attempts: item.attempts, error });
          this.onResult('failed');
          continue;
        }
        if (this.closed) break;
        // Exponential back-off with full jitter: receivers coming back are not stampeded.
        const cap = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** (item.attempts - 1));
        const wait = Math.round(cap / 2 + Math.random() * (cap / 2));
        this.log.debug('call record webhook retry', { event: 'cdr-webhook-retry', callId: item.id, attempt: item.attempts, waitMs: wait, error });
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          void this.run();
        }, wait);
        this.retryTimer.unref();
        return;
      }
    } finally {
      this.running = false;
      if (!this.retryTimer) this.idle?.();
    }
  }

  /** One POST; null on a 2xx, else what went wrong. */
  private async post(body: string): Promise<string | null> {
    const abort = new AbortController();
    this.inFlight = abort;
    const timer = setTimeout(() => abort.abort(new Error(`no answer in ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
    try {
      const res = await fetch(this.opts.url, {
        method: 'POST', body, signal: abort.signal,
        headers: { 'content-type': 'application/json', ...this.opts.headers },
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      const e = err as { cause?: { code?: string; message?: string }; message?: string };
      return abort.signal.aborted ? String((abort.signal.reason as Error | undefined)?.message ?? 'aborted') : e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    } finally {
      clearTimeout(timer);
      this.inFlight = null;
    }
  }

  /**
   * Stops: gives the delivery in flight up to `graceMs` to finish, then aborts it. What
   * is still queued is counted as failed (it is in the JSON-lines file if one is set).
   */
  async close(graceMs: number): Promise<void> {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (this.running) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.closed = true;
          this.inFlight?.abort(new Error('gateway stopping'));
        }, graceMs);
        this.idle = () => { clearTimeout(t); resolve(); };
      });
    }
    this.closed = true;
    if (this.queue.length > 0) {
      this.log.warn('call records not delivered to the webhook at shutdown', { event: 'cdr-webhook-failed', count: this.queue.length });
      for (let i = 0; i < this.queue.length; i++) this.onResult('failed');
      this.queue.length = 0;
      this.onQueue(0);
    }
  }
}
