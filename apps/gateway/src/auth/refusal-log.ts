// Every refusal at the edge is logged with its source and reason, but a flood must not
// turn the log into the attack's amplifier (2,000 refused connections, 2,000 lines, and
// the next 20,000 after them). Per source address, the first few refusals of each
// window are logged in full; the rest are counted and logged as one summary line per
// address when the window ends. The table of addresses is bounded.

import type { Logger } from '../logging.js';

export interface RefusalLogOptions {
  /** Full lines per address per window. Default 10. */
  perWindow?: number;
  /** Window length. Default 10 s. */
  windowMs?: number;
  /** Addresses tracked at once; beyond, the oldest one's summary is written early. Default 10,000. */
  maxAddresses?: number;
}

interface Window {
  startedAt: number;
  logged: number;
  suppressed: number;
  /** The last suppressed refusal's fields, so the summary says what kind it was. */
  last: Record<string, unknown> | undefined;
}

export class RefusalLog {
  private readonly windows = new Map<string, Window>();
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly log: Logger, opts: RefusalLogOptions = {}) {
    this.perWindow = opts.perWindow ?? 10;
    this.windowMs = opts.windowMs ?? 10_000;
    this.maxAddresses = opts.maxAddresses ?? 10_000;
    this.timer = setInterval(() => this.flush(false), this.windowMs).unref();
  }

  /** Logs (or counts) one refusal from `address`; `fields` carry event, source, reason. */
  refused(address: string, message: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    let w = this.windows.get(address);
    if (w !== undefined && now - w.startedAt >= this.windowMs) {
      this.summarize(address, w);
      this.windows.delete(address);
      w = undefined;
    }
    if (w === undefined) {
      if (this.windows.size >= this.maxAddresses) {
        const [oldest, ow] = this.windows.entries().next().value as [string, Window];
        this.summarize(oldest, ow);
        this.windows.delete(oldest);
      }
      w = { startedAt: now, logged: 0, suppressed: 0, last: undefined };
      this.windows.set(address, w);
    }
    if (w.logged < this.perWindow) {
      w.logged++;
      this.log.warn(message, fields);
    } else {
      w.suppressed++;
      w.last = fields;
    }
  }

  /** Writes the summaries of ended windows (all of them when `all`). */
  flush(all: boolean): void {
    const now = Date.now();
    for (const [address, w] of this.windows) {
      if (!all && now - w.startedAt < this.windowMs) continue;
      this.summarize(address, w);
      this.windows.delete(address);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush(true);
  }

  private summarize(address: string, w: Window): void {
    if (w.suppressed === 0) return;
    this.log.warn('refusals not logged one by one', {
      event: 'refusals-suppressed', address, count: w.suppressed, seconds: Math.round(this.windowMs / 1000),
      lastEvent: w.last?.event, lastReason: w.last?.reason,
    });
  }
}
