// Keeps the store's record of every call this node owns current, at state changes
// only: the answer, a dialog update (target refresh, re-INVITE), the browser's DTLS
// completing (the SRTP keys exist), the end; plus a checkpoint of the send counters
// every few seconds (cluster.checkpointInterval) so a survivor's jump forward stays
// small. Never per packet, and never in a call's way: snapshots go to the writer's
// queue, which coalesces and catches up on its own.

import type { CallRecord, RecordWriter } from '@trapezoid/cluster';
import type { Call, CallRegistry } from '../calls/call.js';
import type { Logger } from '../logging.js';
import { snapshot, type SnapshotContext } from './snapshot.js';

export interface ReplicatorOptions extends SnapshotContext {
  calls: CallRegistry;
  writer: RecordWriter;
  log: Logger;
  /** Send-counter checkpoint interval; 0 for none. */
  checkpointMs: number;
}

export class Replicator {
  private readonly last = new Map<string, CallRecord>();
  private readonly exporting = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly watched = new WeakSet<Call>();
  private readonly timer: NodeJS.Timeout | null;

  constructor(private readonly opts: ReplicatorOptions) {
    opts.calls.on('started', this.watch);
    opts.calls.on('adopted', this.watch);
    opts.calls.on('ended', this.onEnded);
    opts.calls.on('handedOver', this.onHandedOver);
    // 0: no checkpoints.
    this.timer = opts.checkpointMs > 0 ? setInterval(() => this.checkpoint(), opts.checkpointMs) : null;
    this.timer?.unref();
  }

  /** The call's own 'updated' events (answer, dialog update, new SDP or leg) say when to save it. */
  private readonly watch = (call: Call): void => {
    call.on('updated', () => this.onChanged(call));
    // A call that rings is recorded too, so a survivor can end it cleanly (ringing.ts).
    call.on('state', ({ to }) => {
      if ((to === 'proceeding' || to === 'early') && call.record.direction === 'outbound' && this.opts.pendingInvite) this.save(call);
    });
  };

  private onChanged(call: Call): void {
    if (call.ended || call.suspended) return;
    const media = call.media;
    if (media && !this.watched.has(call)) {
      this.watched.add(call);
      media.onDtlsConnected(() => this.save(call));
    }
    // Ringing calls are not carried over (a survivor has no transaction to answer them
    // from); from the answer on, the record is what a takeover restores.
    if (call.record.state === 'answered') this.save(call);
  }

  private readonly onHandedOver = (call: Call): void => {
    this.last.delete(call.id);
    this.again.delete(call.id);
    this.opts.writer.forget(call.id);
  };

  private readonly onEnded = (call: Call): void => {
    const previous = this.last.get(call.id);
    this.last.delete(call.id);
    this.again.delete(call.id);
    // Only a call the store knows gets an ended record (it then expires).
    if (previous) this.opts.writer.write({ ...snapshot(call, null, this.opts, previous), state: 'ended' });
  };

  /** A call taken over from another node: its record is known, and current from here on. */
  adopted(call: Call, record: CallRecord): void {
    this.last.set(call.id, record);
    this.onChanged(call);
  }

  /** Exports the call's media and queues its record; a save asked for meanwhile runs once more after. */
  save(call: Call): void {
    if (call.ended || call.suspended) return;
    if (this.exporting.has(call.id)) {
      this.again.add(call.id);
      return;
    }
    const run = (async () => {
      const media = await call.media?.exportState().catch(() => null) ?? null;
      if (call.ended || call.suspended) return;
      const record = snapshot(call, media, this.opts, this.last.get(call.id));
      this.last.set(call.id, record);
      this.opts.writer.write(record);
    })().catch((err: unknown) => {
      this.opts.log.warn('call snapshot failed', { event: 'replication-error', callId: call.id, error: String(err) });
    })
      .finally(() => {
        this.exporting.delete(call.id);
        if (this.again.delete(call.id)) this.save(call);
      });
    this.exporting.set(call.id, run);
  }

  private checkpoint(): void {
    for (const call of this.opts.calls.list()) if (call.record.state === 'answered') this.save(call);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.opts.calls.off('started', this.watch);
    this.opts.calls.off('adopted', this.watch);
    this.opts.calls.off('ended', this.onEnded);
    this.opts.calls.off('handedOver', this.onHandedOver);
  }
}
