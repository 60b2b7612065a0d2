// A call: two legs (each a SIP dialog, or a pending INVITE before answer) and the
// media between them. This is the one home of a call's lifecycle: its state moves only
// through transition() (an invalid move throws), whatever happens to it is announced
// as a typed event, and every end path, whoever triggers it, goes through end(), which
// hangs up the legs still up, releases the media, drops the record and logs one line.
// Leg 'a' is the party that sent the first INVITE (the browser on outbound calls, the
// trunk on inbound ones), leg 'b' the party the gateway called.
//
// What other modules use (set up by the B2BUA primitive, b2bua.ts):
// - events: 'state' (every move), 'answered', 'ended' (CallEnd: status, reason, endedBy,
//   cause, duration), 'inDialog' (each in-dialog request: relayed or answered here, its
//   purpose: hold, resume, refresh, dtmf, transfer ...), 'updated' (snapshot() changed);
// - onEnd(fn) to stop a timer of one's own; end(status, reason, endedBy, cause) to end
//   the call for a reason of one's own (lifetime watchdogs pass their own cause);
// - sdp (OfferAnswer): each party's last SDP and direction, expectsMediaFrom(side) (false
//   while a leg is on hold: no media is due from it), the PT mapping;
// - snapshot(): dialogs, SDP state and the media's bridge id, versioned and JSON-safe;
//   a survivor rebuilds the dialogs (UserAgent.restoreDialog), the media
//   (CallMedia.restore), the SDP state (OfferAnswer.restore) and the in-dialog handling
//   (attachCallControl) from it.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ownString, type Dialog, type DialogState, type IncomingRequest } from '@trapezoid/sip';
import type { Logger } from '../logging.js';
import type { CallMedia } from '../media/call-media.js';
import { checkMove, type CallState } from './call-state.js';
import type { OfferAnswer, OfferAnswerSnapshot } from './offer-answer.js';
import type { PeerCapabilities } from './capabilities.js';

export { CallStateError, type CallState } from './call-state.js';
import { sipReasonHeader } from './reason-header.js';
export { CallRegistry, type CallRegistryEvents } from './registry.js';

export type CallDirection = 'outbound' | 'inbound';
export type LegSide = 'a' | 'b';
/** Who ended the call: a leg's party, or the gateway itself (timer, error, shutdown). */
export type EndedBy = LegSide | 'gateway';

/**
 * Why a call ended, for logs, CDRs and metrics. Modules that end calls for reasons of
 * their own (lifetime watchdogs) pass their own string.
 */
export type EndCause =
  | 'hangup' | 'canceled' | 'rejected' | 'no-answer' | 'setup-failed' | 'media-failed' | 'consent-lost'
  | 'session-expired' | 'request-failed' | 'transferred' | 'shutdown' | (string & Record<never, never>);

/** The replicable part of a call: plain data (see docs/architecture.md, "State and failover"). */
export interface CallRecord {
  id: string;
  direction: CallDirection;
  state: CallState;
  /** Call-ID of the leg that started the call (browser for outbound, trunk for inbound). */
  aCallId: string;
  bCallId?: string;
  /** First provisional (180/183) toward the caller. */
  ringingAt?: number;
  from: string;
  to: string;
  trunk?: string;
  createdAt: number;
  answeredAt?: number;
  endedAt?: number;
  /** SIP status the call ended with (200 for a normal hang-up after answer). */
  endStatus?: number;
  endReason?: string;
  /** Which leg hung up: 'a' (the caller's), 'b', or absent when the gateway ended it. */
  endedBy?: 'a' | 'b';
  /** Why the gateway ended it, when it did: 'flow-lost', 'media-timeout', 'ice-timeout', 'consent-lost' ... */
  endCause?: string;
  aDialog?: DialogState;
  bDialog?: DialogState;
}

export interface CallEnd {
  status: number;
  reason: string;
  endedBy: EndedBy;
  cause: EndCause;
  /** From the answer to the end; 0 if never answered. */
  durationMs: number;
}

/** An in-dialog request on one leg and what became of it. */
/** What the Call listens to on each of its dialogs. */
interface DialogWatch {
  terminated: (reason: string) => void;
  updated: () => void;
  request: (req: IncomingRequest) => void;
  refused: (r: { method: string; status: number; reason: string }) => void;
}

export interface InDialogActivity {
  side: LegSide;
  method: string;
  /** The final status the request was answered with (ours or the relayed one). */
  status: number;
  /** True when it was relayed to the other leg, false when the gateway answered it itself. */
  relayed: boolean;
  /** What it was for: 'hold', 'resume', 'offer', 'refresh', 'dtmf', 'transfer', 'options' ... */
  purpose?: string;
}

/** Typed events of a Call (subscribe with call.on(name, fn)). */
export interface CallEvents {
  /** Every state change, in order. */
  state: [change: { from: CallState; to: CallState }];
  answered: [];
  /** Once, after both legs were hung up and the media released. */
  ended: [end: CallEnd];
  /** An in-dialog request was handled (relayed or answered by the gateway). */
  inDialog: [activity: InDialogActivity];
  /** What snapshot() returns changed (answer, new dialog state, new SDP, new leg): time to store it. */
  updated: [what: string];
}

/**
 * Everything another node needs to carry the call on (docs/architecture.md, "State and failover"),
 * JSON-safe. The media worker's own state (SRTP contexts, rewrite offsets) is exported
 * separately by MediaEngine.exportState(media.bridgeId). Version 1.
 */
export interface CallSnapshot {
  version: 1;
  record: CallRecord;
  legs: Record<LegSide, { dialog: DialogState | null }>;
  /** SDP of both legs: what each party last sent, what we last sent each, the o= counters and the PT mapping. */
  sdp: OfferAnswerSnapshot | null;
  media: { bridgeId: string; towardBrowser: { ssrc: number; cname: string } } | null;
}

export class Call extends EventEmitter<CallEvents> {
  readonly record: CallRecord;
  readonly log: Logger;
  media: CallMedia | null = null;
  /** The offer/answer state of both legs, once the first offer was mapped. */
  sdp: OfferAnswer | null = null;
  /** What each leg's party said it handles (Allow, Supported), from its INVITE or 2xx. */
  readonly peers: Partial<Record<LegSide, PeerCapabilities>> = {};
  /**
   * Who answers in-dialog requests (re-INVITE, UPDATE, INFO, REFER ...) on either leg:
   * in-dialog.ts once the call is set up. Until then they are refused 491 (RFC 3261 §14.2).
   */
  requestHandler: ((side: LegSide, req: IncomingRequest) => void) | null = null;
  private readonly dialogs: Record<LegSide, Dialog | null> = { a: null, b: null };
  /** The listeners this call put on each dialog, removed when the dialog is replaced. */
  private readonly watches = new Map<Dialog, DialogWatch>();
  /** Cancels whatever is pending (client INVITE, ring timer, session timers ...). */
  private cleanups: Array<() => void> = [];
  private endPromise: Promise<void> | null = null;

  /** Set while this node may have lost the call to another (self-fencing, cluster/node.ts): it acts on nothing. */
  suspended = false;
  /** True once handOver() let the call go (it was not ended here). */
  handedOver = false;

  constructor(init: Pick<CallRecord, 'direction' | 'aCallId' | 'from' | 'to'> & { id?: string }, parentLog: Logger, private readonly onEnded: (call: Call) => void) {
    super();
    // Kept for the whole call: copies, not views into the INVITE's text (ownString).
    const aCallId = ownString(init.aCallId);
    this.record = { id: randomUUID(), state: 'routing', createdAt: Date.now(), ...init, aCallId, from: ownString(init.from), to: ownString(init.to) };
    this.log = parentLog.child({ callId: this.record.id, aLeg: aCallId, direction: init.direction });
  }

  get id(): string {
    return this.record.id;
  }

  get state(): CallState {
    return this.record.state;
  }

  get ended(): boolean {
    return this.record.state === 'ended';
  }

  get aDialog(): Dialog | null {
    return this.dialogs.a;
  }

  get bDialog(): Dialog | null {
    return this.dialogs.b;
  }

  dialog(side: LegSide): Dialog | null {
    return this.dialogs[side];
  }

  /** The leg toward the browser (WebRTC): the caller on outbound calls, the agent on inbound ones. */
  get browserSide(): LegSide {
    return this.record.direction === 'outbound' ? 'a' : 'b';
  }

  /**
   * Moves the call to `to` (see call-state.ts for the legal moves); throws CallStateError
   * on any other move. 'ended' is reached through end() only.
   */
  transition(to: Exclude<CallState, 'ended'>, meta: Record<string, unknown> = {}): void {
    const from = this.record.state;
    this.record.state = checkMove(from, to);
    if (to === 'answered') this.record.answeredAt = Date.now();
    if (to === 'early') this.record.ringingAt ??= Date.now();
    this.log.info(`call ${to}`, { event: `call-${to}`, bLeg: this.record.bCallId, ...meta });
    this.emit('state', { from, to });
    if (to === 'answered') {
      this.emit('answered');
      this.emit('updated', 'answered');
    }
  }

  /**
   * Registers an action to run when the call ends (cancel a timer, a pending request).
   * The returned function withdraws it: an action that is moot once the call is set up
   * (cancelling its branches) should not keep what it holds alive as long as the call.
   */
  onEnd(fn: () => void): () => void {
    if (this.ended) {
      fn();
      return () => undefined;
    }
    this.cleanups.push(fn);
    return () => {
      const i = this.cleanups.indexOf(fn);
      if (i !== -1) this.cleanups.splice(i, 1);
    };
  }

  /** Takes ownership of the call's media: released by end(); a browser gone silent ends the call. */
  attachMedia(media: CallMedia): void {
    this.media = media;
    // The browser stopped answering consent checks: its media is gone, perhaps not its
    // signalling, so both legs get a BYE saying why.
    media.onConsentLost(() => void this.end(480, 'Browser media consent lost (RFC 7675)', 'gateway', 'consent-lost'));
    // The browser's media leg failed mid-call (it closed itself): a call without media is
    // not kept up until a watchdog notices; it ends now, saying why.
    media.onLegFailed((error) => {
      this.log.error('browser media leg failed', { event: 'media-error', error });
      void this.end(500, 'Browser media failed', 'gateway', 'media-failed');
    });
  }

  /** Joins the two dialogs: a BYE on one is relayed as a BYE on the other. */
  linkDialogs(a: Dialog, b: Dialog): void {
    this.setDialog('a', a);
    this.setDialog('b', b);
  }

  /**
   * Puts `dialog` on one side (answer, or a transfer replacing a leg). A leg that ends
   * ends the call; a dialog that ended before it could be set (an ACK and a BYE read in
   * one turn of the event loop) ends it at once. A replaced dialog no longer does.
   */
  setDialog(side: LegSide, dialog: Dialog): void {
    const old = this.dialogs[side];
    if (old === dialog) return;
    if (this.endPromise) {
      // The call ended while this leg was being answered: it goes too.
      if (!dialog.terminated) void dialog.bye().catch(() => undefined);
      return;
    }
    if (old) this.unwatch(old);
    this.dialogs[side] = dialog;
    const key = side === 'a' ? 'aDialog' : 'bDialog';
    this.record[key] = dialog.toState();
    if (side === 'b') this.record.bCallId = dialog.state.callId;
    const terminated = (reason: string): void => {
      void this.end(200, `${side.toUpperCase()} leg ended: ${reason}`, side, reason === 'bye' ? 'hangup' : 'request-failed');
    };
    const updated = (): void => {
      this.record[key] = dialog.toState();
      this.emit('updated', `${side}-dialog`);
    };
    const request = (req: IncomingRequest): void => {
      if (this.requestHandler && !this.ended) this.requestHandler(side, req);
      else req.reply(491, 'Request Pending');
    };
    // What the dialog refused by itself (a PRACK for nothing, glare) is logged with the call.
    const refused = (r: { method: string; status: number; reason: string }): void => {
      this.inDialog({ side, method: r.method, status: r.status, relayed: false, purpose: r.reason });
    };
    if (dialog.terminated) {
      // An ACK and a BYE read in one turn: a hang-up all the same (the CDR's cause).
      terminated(dialog.terminationReason ?? 'before the legs were linked');
    } else {
      this.watches.set(dialog, { terminated, updated, request, refused });
      dialog.on('terminated', terminated).on('updated', updated).on('request', request).on('refused', refused);
    }
    this.emit('updated', `${side}-dialog`);
  }

  private unwatch(d: Dialog): void {
    const w = this.watches.get(d);
    if (!w) return;
    d.off('terminated', w.terminated).off('updated', w.updated).off('request', w.request).off('refused', w.refused);
    this.watches.delete(d);
  }

  /**
   * Lets a leg's dialog go without hanging it up (an attended transfer moved it to another
   * call): its end no longer ends this call, and end() sends it no BYE.
   */
  detach(side: LegSide): Dialog | null {
    const d = this.dialogs[side];
    if (!d) return null;
    this.unwatch(d);
    this.dialogs[side] = null;
    this.emit('updated', `${side}-dialog`);
    return d;
  }

  /** Reports an in-dialog request's outcome (log line and 'inDialog' event). */
  inDialog(activity: InDialogActivity): void {
    const level = activity.status >= 300 ? 'warn' : 'info';
    this.log[level](`${activity.method} on leg ${activity.side}: ${activity.status}`, { event: 'in-dialog', ...activity });
    this.emit('inDialog', activity);
  }

  /** The plain state another node needs to carry the call on (see CallSnapshot). */
  snapshot(): CallSnapshot {
    const state = (side: LegSide): DialogState | null => this.dialogs[side]?.toState() ?? null;
    return {
      version: 1,
      record: structuredClone(this.record),
      legs: { a: { dialog: state('a') }, b: { dialog: state('b') } },
      sdp: this.sdp?.snapshot() ?? null,
      media: this.media ? { bridgeId: this.media.id, towardBrowser: { ...this.media.towardBrowser } } : null,
    };
  }

  /**
   * Ends the call once: runs cleanups, hangs up whichever dialog is still up (the
   * side that ended it is not sent a BYE), releases the media and drops the record.
   * Later calls return the end already under way. When the gateway ends it, its BYEs
   * carry a Reason header (RFC 3326) with `status` and `reason`.
   */
  end(status: number, reason: string, endedBy: EndedBy = 'gateway', cause?: EndCause): Promise<void> {
    if (this.endPromise) return this.endPromise;
    const from = this.record.state;
    this.record.state = 'ended';
    this.record.endedAt = Date.now();
    this.record.endStatus = status;
    this.record.endReason = reason;
    if (endedBy !== 'gateway') this.record.endedBy = endedBy;
    const c: EndCause = cause ?? (from === 'answered' ? 'hangup' : status === 487 ? 'canceled' : 'rejected');
    // Released in a later microtask: hanging up a dialog emits 'terminated'
    // synchronously, which calls end() again and must find endPromise set.
    this.endPromise = Promise.resolve().then(() => this.release(from, { status, reason, endedBy, cause: c, durationMs: 0 }));
    return this.endPromise;
  }

  /**
   * The call belongs to another node now (a takeover fenced this one off): let it go here
   * without a word to either side (no BYE, no 'ended', no CDR: the new owner ends it),
   * releasing the ports and forgetting the dialogs.
   */
  handOver(reason: string): Promise<void> {
    if (this.endPromise) return this.endPromise;
    this.record.state = 'ended';
    this.handedOver = true;
    this.endPromise = Promise.resolve().then(async () => {
      for (const fn of this.cleanups.splice(0)) {
        try { fn(); } catch { /* the call is gone from here either way */ }
      }
      for (const d of [...this.watches.keys()]) this.unwatch(d);
      for (const d of [this.dialogs.a, this.dialogs.b]) if (d && !d.terminated) d.terminate('closed');
      const media = this.media;
      this.media = null;
      await media?.close().catch(() => undefined);
      this.log.warn('call handed over to another node', { event: 'call-handed-over', reason });
      this.onEnded(this);
    });
    return this.endPromise;
  }

  private async release(from: CallState, end: CallEnd): Promise<void> {
    for (const fn of this.cleanups.splice(0)) {
      try { fn(); } catch (err) { this.log.warn('cleanup failed', { event: 'call-cleanup-error', error: String(err) }); }
    }
    const hangups: Promise<unknown>[] = [];
    const bye = end.endedBy === 'gateway' ? { headers: { Reason: sipReasonHeader(end.status, end.reason) } } : undefined;
    for (const side of ['a', 'b'] as const) {
      const d = this.dialogs[side];
      if (d && end.endedBy !== side && !d.terminated) hangups.push(d.bye(bye).catch(() => undefined));
    }
    const media = this.media;
    this.media = null;
    if (media) hangups.push(media.close().catch((err) => this.log.warn('media close failed', { event: 'media-close-error', error: String(err) })));
    await Promise.allSettled(hangups);
    // The dialogs outlive the call in their transactions (Timer L and M: 32 s after the
    // INVITE's answer): their events are no longer this call's, nor need they keep it alive.
    for (const d of [...this.watches.keys()]) this.unwatch(d);
    end.durationMs = this.record.answeredAt ? this.record.endedAt! - this.record.answeredAt : 0;
    this.log.info('call ended', { event: 'call-ended', ...end });
    this.emit('state', { from, to: 'ended' });
    this.emit('ended', end);
    this.onEnded(this);
  }
}
