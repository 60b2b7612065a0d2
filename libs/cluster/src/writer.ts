// Writes call records without ever making call handling wait: write() only notes the
// latest record of a call (coalescing: a call that changed three times while Redis was
// slow is written once, with its latest state) and a background flush puts it. While
// the store is down the notes wait; when it is back, or after a Redis restart lost
// everything, catchUp() writes every live call again. Versions are stamped here: each
// write of a call is one above the last, and a store that already holds a higher one
// (written before a restart of this writer's view) makes the next attempt go above it.
//
// Events: 'refused' ({ id, reason, owner }) when the store fences a write: 'owner' and
// 'ended' mean another node has the call now (drop it, never forward for it again);
// 'lease' means this node's lease is not valid (the lease keeper decides what follows).

import { EventEmitter } from 'node:events';
import { StoreUnavailableError, type CallStore, type Lease, type PutRefusal } from './store.js';
import { encodeCallRecord, type CallRecord } from './record.js';

type Outcome = 'written' | 'refused' | 'lease-invalid' | 'store-down';

export interface RecordWriterOptions {
  /** The node's current lease; null while it has none (writes wait). */
  lease: () => Lease | null;
  /** How long an ended call's record stays readable (ms). */
  endedTtlMs: number;
  /** Retry delay after a failed flush while the store says it is up (ms, default 250). */
  retryMs?: number;
}

export interface WriterStats {
  /** Records the store accepted. */
  writes: number;
  /** Bytes of the accepted records. */
  bytes: number;
  /** Writes the store fenced off. */
  refused: number;
  /** Calls with a write still waiting. */
  pending: number;
}

export class RecordWriter extends EventEmitter {
  /** The latest record of each live call this node owns (what catchUp rewrites). */
  private readonly latest = new Map<string, CallRecord>();
  private readonly pending = new Set<string>();
  private readonly versions = new Map<string, number>();
  private flushing: Promise<void> | null = null;
  /** The last flush stopped for the store or the lease: wait for 'up', a retry or catchUp(). */
  private blocked = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly waiters: Array<() => void> = [];
  readonly stats: WriterStats = { writes: 0, bytes: 0, refused: 0, pending: 0 };

  constructor(private readonly store: CallStore, private readonly opts: RecordWriterOptions) {
    super();
    store.on('up', this.onUp);
  }

  private readonly onUp = (): void => this.kick();

  /** Continues the version sequence of a call claimed from another node. */
  adopt(id: string, version: number): void {
    this.versions.set(id, version);
  }

  /** Queues the call's latest state; returns at once. */
  write(record: CallRecord): void {
    if (this.closed) return;
    const lease = this.opts.lease();
    if (lease) record.owner = lease.owner;
    this.latest.set(record.id, record);
    this.pending.add(record.id);
    this.stats.pending = this.pending.size;
    this.kick();
  }

  /** Stops writing a call (handed over, or fenced off): its pending write is dropped. */
  forget(id: string): void {
    this.latest.delete(id);
    this.pending.delete(id);
    this.versions.delete(id);
    this.stats.pending = this.pending.size;
  }

  /** Writes every live call again (after the store came back or lost its data). */
  catchUp(): void {
    for (const id of this.latest.keys()) this.pending.add(id);
    this.stats.pending = this.pending.size;
    this.kick();
  }

  /** Ids of the calls with a write not yet accepted. */
  get waiting(): string[] {
    return [...this.pending];
  }

  /** Resolves once nothing is pending (for tests and shutdown); does not force anything. */
  idle(): Promise<void> {
    if (this.pending.size === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.store.off('up', this.onUp);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const w of this.waiters.splice(0)) w();
  }

  private kick(): void {
    if (this.closed || this.flushing || this.pending.size === 0) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = null;
      if (this.pending.size === 0) for (const w of this.waiters.splice(0)) w();
      else if (!this.blocked) this.kick();
    });
  }

  private async flush(): Promise<void> {
    this.blocked = false;
    while (this.pending.size > 0 && !this.closed) {
      const lease = this.opts.lease();
      if (!lease || !this.store.connected) {
        this.blocked = true;
        return;
      }
      const ids = [...this.pending];
      this.pending.clear();
      let wait: 'store' | 'lease' | null = null;
      await Promise.all(ids.map(async (id) => {
        const record = this.latest.get(id);
        if (!record) return;
        const outcome = await this.putOne(record, lease).catch((err: unknown): Outcome => {
          if (!(err instanceof StoreUnavailableError)) this.emit('error', err);
          return 'store-down';
        });
        if (outcome === 'written' || outcome === 'refused') return;
        // Not written: try again unless a newer write already queued it.
        if (this.latest.get(id) === record) this.pending.add(id);
        wait = outcome === 'lease-invalid' ? 'lease' : (wait ?? 'store');
      }));
      this.stats.pending = this.pending.size;
      // The store is down: retry on a timer (and at once when it says it is up). The
      // lease is not valid: the lease keeper re-takes it and calls catchUp().
      if (wait === 'store') this.scheduleRetry();
      if (wait !== null) {
        this.blocked = true;
        return;
      }
    }
  }

  /** One fenced put. */
  private async putOne(record: CallRecord, lease: Lease): Promise<Outcome> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const version = (this.versions.get(record.id) ?? 0) + 1;
      const copy: CallRecord = { ...record, owner: lease.owner, version };
      const result = await this.store.put(copy, lease, this.opts.endedTtlMs);
      if (result.ok) {
        this.versions.set(record.id, version);
        this.stats.writes++;
        this.stats.bytes += encodeCallRecord(copy).length;
        if (record.state === 'ended' && this.latest.get(record.id) === record) {
          this.latest.delete(record.id);
          this.versions.delete(record.id);
        }
        return 'written';
      }
      if (result.reason === 'version' && result.owner === lease.owner) {
        // The store is ahead of us (our own earlier write we did not hear back about).
        this.versions.set(record.id, result.version ?? version);
        continue;
      }
      if (result.reason === 'lease') return 'lease-invalid';
      this.refuse(record.id, result.reason, result.owner);
      return 'refused';
    }
    return 'store-down';
  }

  private refuse(id: string, reason: PutRefusal, owner: string | undefined): void {
    this.stats.refused++;
    this.latest.delete(id);
    this.versions.delete(id);
    this.emit('refused', { id, reason, owner });
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, this.opts.retryMs ?? 250);
    this.retryTimer.unref();
  }
}
