// A call: two legs (each a SIP dialog, or a pending transaction before answer) and
// the media between them. The state machine is small on purpose: every end path,
// whoever triggers it, goes through end(), which releases the media, hangs up the
// leg that is still up and removes the call record.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Dialog, DialogState } from '@trapezoid/sip';
import type { Logger } from '../logging.js';
import type { CallMedia } from '../media/call-media.js';

export type CallDirection = 'outbound' | 'inbound';
export type CallState = 'routing' | 'proceeding' | 'early' | 'answered' | 'ended';

/** The replicable part of a call: plain data (see DESIGN.md, state and failover). */
export interface CallRecord {
  id: string;
  direction: CallDirection;
  state: CallState;
  /** Call-ID of the leg that started the call (browser for outbound, trunk for inbound). */
  aCallId: string;
  bCallId?: string;
  from: string;
  to: string;
  trunk?: string;
  createdAt: number;
  /** First provisional (180/183) toward the caller. */
  ringingAt?: number;
  answeredAt?: number;
  endedAt?: number;
  /** SIP status the call ended with (200 for a normal hang-up after answer). */
  endStatus?: number;
  endReason?: string;
  /** Which leg hung up: 'a' (the caller's), 'b', or absent when the gateway ended it. */
  endedBy?: 'a' | 'b';
  aDialog?: DialogState;
  bDialog?: DialogState;
}

export class Call {
  readonly record: CallRecord;
  readonly log: Logger;
  media: CallMedia | null = null;
  aDialog: Dialog | null = null;
  bDialog: Dialog | null = null;
  /** Cancels whatever is pending on the B side (client INVITE, ring timer ...). */
  private cleanups: Array<() => void> = [];
  private endPromise: Promise<void> | null = null;

  constructor(
    init: Pick<CallRecord, 'direction' | 'aCallId' | 'from' | 'to'>, parentLog: Logger,
    private readonly onEnded: (call: Call) => void, private readonly onState: (call: Call, state: CallState) => void = () => undefined,
  ) {
    this.record = { id: randomUUID(), state: 'routing', createdAt: Date.now(), ...init };
    this.log = parentLog.child({ callId: this.record.id, aLeg: init.aCallId, direction: init.direction });
  }

  get id(): string {
    return this.record.id;
  }

  get ended(): boolean {
    return this.record.state === 'ended';
  }

  setState(state: Exclude<CallState, 'ended'>, meta: Record<string, unknown> = {}): void {
    if (this.ended || this.record.state === state) return;
    this.record.state = state;
    if (state === 'answered') this.record.answeredAt = Date.now();
    if (state === 'early') this.record.ringingAt ??= Date.now();
    this.log.info(`call ${state}`, { event: `call-${state}`, bLeg: this.record.bCallId, ...meta });
    this.onState(this, state);
  }

  /** Registers an action to run when the call ends (cancel a timer, a pending request). */
  onEnd(fn: () => void): void {
    if (this.ended) fn();
    else this.cleanups.push(fn);
  }

  /** Takes ownership of the call's media: released by end(); a browser gone silent ends the call. */
  attachMedia(media: CallMedia): void {
    this.media = media;
    media.onConsentLost(() => {
      this.log.info('browser consent lost (RFC 7675)', { event: 'consent-lost' });
      void this.end(480, 'Browser media consent lost', 'a');
    });
  }

  /** Joins the two dialogs: a BYE on one is relayed as a BYE on the other. */
  linkDialogs(a: Dialog, b: Dialog): void {
    this.aDialog = a;
    this.bDialog = b;
    this.record.aDialog = a.toState();
    this.record.bDialog = b.toState();
    // A leg may have ended before it could be linked: an ACK and a BYE read in one
    // turn of the event loop, or a trunk BYE while the browser's ACK was awaited.
    for (const [dialog, side] of [[a, 'a'], [b, 'b']] as const) {
      const ended = (reason: string): void => void this.end(200, `${side.toUpperCase()} leg ended: ${reason}`, side);
      if (dialog.terminated) ended('before the legs were linked');
      else dialog.on('terminated', ended);
    }
  }

  /**
   * Ends the call once: runs cleanups, hangs up whichever dialog is still up (the
   * side that ended it is not sent a BYE), releases the media and drops the record.
   */
  end(status: number, reason: string, endedBy?: 'a' | 'b'): Promise<void> {
    if (this.endPromise) return this.endPromise;
    this.record.state = 'ended';
    this.record.endedAt = Date.now();
    this.record.endStatus = status;
    this.record.endReason = reason;
    if (endedBy) this.record.endedBy = endedBy;
    // Released in a later microtask: hanging up a dialog emits 'terminated'
    // synchronously, which calls end() again and must find endPromise set.
    this.endPromise = Promise.resolve().then(() => this.release(status, reason, endedBy));
    return this.endPromise;
  }

  private async release(status: number, reason: string, endedBy: 'a' | 'b' | undefined): Promise<void> {
    for (const fn of this.cleanups.splice(0)) {
      try { fn(); } catch (err) { this.log.warn('cleanup failed', { event: 'call-cleanup-error', error: String(err) }); }
    }
    const hangups: Promise<unknown>[] = [];
    if (this.aDialog && endedBy !== 'a' && !this.aDialog.terminated) hangups.push(this.aDialog.bye().catch(() => undefined));
    if (this.bDialog && endedBy !== 'b' && !this.bDialog.terminated) hangups.push(this.bDialog.bye().catch(() => undefined));
    const media = this.media;
    this.media = null;
    if (media) hangups.push(media.close().catch((err) => this.log.warn('media close failed', { event: 'media-close-error', error: String(err) })));
    await Promise.allSettled(hangups);
    this.log.info('call ended', {
      event: 'call-ended', status, reason, endedBy,
      durationMs: this.record.answeredAt ? this.record.endedAt! - this.record.answeredAt : 0,
    });
    this.onEnded(this);
  }
}

/**
 * What observers (metrics, call records, the media monitor, the admin API) hear about
 * calls, without reaching into call flows: 'started' once the call exists, 'state' on
 * each move (proceeding, early, answered), 'ended' once it is released (record complete:
 * end status, reason, who hung up, media closed).
 */
export interface CallEvents {
  started: [call: Call];
  state: [call: Call, state: Exclude<CallState, 'ended'>];
  ended: [call: Call];
}

/** Owns the live calls; tests and /health read its counters. */
export class CallRegistry extends EventEmitter<CallEvents> {
  private readonly calls = new Map<string, Call>();
  /** Calls ever started and ended, for tests and metrics. */
  started = 0;
  completed = 0;

  constructor(private readonly log: Logger) {
    super();
  }

  create(init: Pick<CallRecord, 'direction' | 'aCallId' | 'from' | 'to'>): Call {
    const call = new Call(init, this.log, (c) => {
      this.calls.delete(c.id);
      this.completed++;
      this.emit('ended', c);
    }, (c, state) => {
      if (state !== 'ended') this.emit('state', c, state);
    });
    this.calls.set(call.id, call);
    this.started++;
    call.log.info('call started', { event: 'call-started', from: init.from, to: init.to });
    this.emit('started', call);
    return call;
  }

  get(id: string): Call | undefined {
    return this.calls.get(id);
  }

  get live(): number {
    return this.calls.size;
  }

  list(): Call[] {
    return [...this.calls.values()];
  }

  /** Ends every call (shutdown). */
  async endAll(reason: string): Promise<void> {
    await Promise.allSettled(this.list().map((c) => c.end(503, reason)));
  }
}
