// This node's lease: taken at start, renewed every renewMs, and the self-fencing rule.
// A survivor may take our calls once the lease has lapsed in the store (ttlMs after our
// last successful renew); so when no renew has succeeded for `suspendAfterMs` (< ttlMs,
// measured from when that renew was sent), this node stops forwarding and answering for
// its calls ('suspended') before anyone else could start. One exception: a store that
// refuses connections (its process is down) lets nobody renew or claim anything, so the
// calls go on ("Redis stopped mid-call: the call continues").
//
// After a renew fails because the lease is gone: if the node was fenced (declared dead,
// its calls being claimed) it must drop its calls without a word ('fenced'); if not,
// the store lost its data (a Redis restart) and the lease is taken again
// ('reacquired': rewrite every record).
//
// Events: 'suspended', 'resumed', 'fenced', 'reacquired'.

import { EventEmitter } from 'node:events';
import type { CallStore, Lease, NodeInfo } from './store.js';

export interface LeaseOptions {
  /** Lease time to live in the store (ms). */
  ttlMs: number;
  /** Renew interval (ms); well below ttlMs. */
  renewMs: number;
  /** Self-fence after this long without a successful renew (ms, default 0.75 x ttlMs). */
  suspendAfterMs?: number;
  now?: () => number;
}

export type LeaseState = 'held' | 'suspended' | 'fenced' | 'released';

export class LeaseKeeper extends EventEmitter {
  private current: Lease | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastRenewedAt = 0;
  private renewing = false;
  state: LeaseState = 'held';
  private readonly now: () => number;
  private readonly suspendAfterMs: number;

  constructor(private readonly store: CallStore, private readonly info: NodeInfo, private readonly opts: LeaseOptions) {
    super();
    if (!(opts.renewMs > 0 && opts.ttlMs > opts.renewMs)) throw new RangeError(`lease renew interval ${opts.renewMs} ms must be positive and below its ttl ${opts.ttlMs} ms`);
    this.now = opts.now ?? (() => performance.now());
    this.suspendAfterMs = opts.suspendAfterMs ?? Math.round(opts.ttlMs * 0.75);
  }

  get owner(): string {
    return this.info.owner;
  }

  /** The lease while it is held (null when suspended or fenced: do not write under it). */
  get lease(): Lease | null {
    return this.state === 'held' ? this.current : null;
  }

  async start(): Promise<void> {
    const sentAt = this.now();
    this.current = await this.store.acquireLease(this.info, this.opts.ttlMs);
    this.lastRenewedAt = sentAt;
    this.timer = setInterval(() => void this.tick(), this.opts.renewMs);
    this.timer.unref();
  }

  /** Checks the self-fence deadline now (also run on every tick). */
  checkDeadline(): void {
    if (this.state !== 'held') return;
    if (this.now() - this.lastRenewedAt < this.suspendAfterMs) return;
    if (this.store.refused) return;
    this.state = 'suspended';
    this.emit('suspended');
  }

  private async tick(): Promise<void> {
    this.checkDeadline();
    if (this.renewing || !this.current || this.over) return;
    this.renewing = true;
    const sentAt = this.now();
    try {
      const result = await this.store.renewLease(this.current);
      if (this.over) return;
      if (result === 'renewed') {
        this.lastRenewedAt = sentAt;
        this.resume();
      } else if (result === 'fenced') {
        this.fenced();
      } else if (result === 'lost') {
        if (await this.store.reacquireLease(this.current)) {
          this.lastRenewedAt = sentAt;
          this.resume();
          this.emit('reacquired');
        } else if (await this.store.isFenced(this.owner)) {
          this.fenced();
        }
      }
    } catch {
      // Unreachable store: the deadline check decides.
    } finally {
      this.renewing = false;
    }
  }

  /** Fenced or released: nothing more to renew. */
  private get over(): boolean {
    return this.state === 'fenced' || this.state === 'released';
  }

  private resume(): void {
    if (this.state !== 'suspended') return;
    this.state = 'held';
    this.emit('resumed');
  }

  private fenced(): void {
    this.state = 'fenced';
    this.stopTimer();
    this.emit('fenced');
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Clean shutdown: the lease and the node entry go, so nobody takes over calls that ended.
   * `leaveCalls`: only the lease goes, so a survivor takes over this node's calls at once.
   */
  async release(leaveCalls = false): Promise<void> {
    this.stopTimer();
    const lease = this.current;
    this.state = 'released';
    if (lease) await this.store.releaseLease(lease, leaveCalls).catch(() => undefined);
  }
}
