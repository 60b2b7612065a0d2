// OPTIONS pings toward a trunk (RFC 3261 §11, used as a keepalive the way Kamailio's
// dispatcher and Asterisk's qualify do): one ping per interval; a trunk that fails
// `downAfter` pings in a row is down (routing skips it), one that then answers
// `upAfter` in a row is up again. Any response counts as an answer except 408 and
// 503 (received or made locally after a timeout or transport error): an overloaded
// or unreachable trunk should not get calls. A trunk given by name is pinged target by
// target in RFC 3263 order until one answers (§4.3): it is down only when none does.

import type { ClientRequest, Destination, UserAgent } from '@trapezoid/sip';
import type { Logger } from '../logging.js';

export type Reachability = 'unknown' | 'up' | 'down';

export interface PingStatus {
  reachability: Reachability;
  /** Status of the last ping's answer; 408 when it timed out. */
  lastStatus?: number;
  lastPingAt?: number;
  /** Round trip of the last answered ping (ms). */
  lastRttMs?: number;
  failuresInRow: number;
  successesInRow: number;
}

export interface PingOptions {
  ua: UserAgent;
  log: Logger;
  trunk: string;
  uri: string;
  /** Where the trunk is, best first (RFC 3263). */
  destinations: () => Promise<Destination[]>;
  /** Seconds between pings. */
  interval: number;
  /** Seconds a ping may take before it counts as failed. */
  timeout: number;
  downAfter: number;
  upAfter: number;
  onChange: (s: PingStatus) => void;
}

export class OptionsPinger {
  private s: PingStatus = { reachability: 'unknown', failuresInRow: 0, successesInRow: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: PingOptions) {}

  get status(): Readonly<PingStatus> {
    return this.s;
  }

  start(): void {
    void this.ping();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async ping(): Promise<void> {
    if (this.stopped) return;
    const started = Date.now();
    let status = 503; // no address for the trunk
    try {
      for (const destination of await this.o.destinations()) {
        if (this.stopped) return;
        status = await withTimeout(this.o.ua.request('OPTIONS', this.o.uri, { destination }), this.o.timeout * 1000);
        if (status !== 408 && status !== 503) break;
      }
    } catch {
      status = 503;
    }
    if (this.stopped) return;
    const ok = status !== 408 && status !== 503;
    const failuresInRow = ok ? 0 : this.s.failuresInRow + 1;
    const successesInRow = ok ? this.s.successesInRow + 1 : 0;
    let reachability = this.s.reachability;
    if (!ok && failuresInRow >= this.o.downAfter) reachability = 'down';
    if (ok && (reachability !== 'down' || successesInRow >= this.o.upAfter)) reachability = 'up';
    if (reachability !== this.s.reachability) {
      const level = reachability === 'down' ? 'warn' : 'info';
      this.o.log[level](`trunk ${reachability}`, { event: `trunk-${reachability}`, trunk: this.o.trunk, status });
    }
    this.s = { reachability, lastStatus: status, lastPingAt: started, ...(ok ? { lastRttMs: Date.now() - started } : {}), failuresInRow, successesInRow };
    this.o.onChange(this.s);
    this.timer = setTimeout(() => void this.ping(), Math.max(0, this.o.interval * 1000 - (Date.now() - started)));
    this.timer.unref();
  }
}

/** The final status, or 408 when none came in time (the transaction runs on to Timer F). */
function withTimeout(out: ClientRequest, ms: number): Promise<number> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(408), ms);
    t.unref();
    void out.final.then((res) => { clearTimeout(t); resolve(res.status); });
  });
}
