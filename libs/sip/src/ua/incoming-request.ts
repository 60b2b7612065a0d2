// A request received by this UA with its server transaction: the application
// answers it with reply(), or for INVITE with progress() and answer() which set up
// the UAS dialog (RFC 3261 §12.1.1, §13.3).

import { EventEmitter } from 'node:events';
import type { SipRequest, SipResponse } from '../message/index.js';
import { SipError } from '../message/index.js';
import { tagOf } from '../parser/index.js';
import { createResponse } from '../transaction/response.js';
import type { ServerTransaction, ServerTransactionOwner } from '../transaction/server.js';
import type { TransportProtocol } from '../transport/types.js';
import { Dialog } from '../dialog/dialog.js';
import { uasState } from '../dialog/state.js';
import { applyMessageOptions, type MessageOptions, type UaCore } from './core.js';
import { newTag } from './ids.js';
import { statelessResponse } from './screen.js';
import { names100rel, OPTION_100REL, ReliableSender } from './reliable-provisionals.js';

export interface ReplyOptions extends MessageOptions {
  /** Contact to advertise instead of the UA's own (dialog-creating responses). */
  contact?: string;
  /**
   * INVITE 1xx: send it reliably (RFC 3262) when the INVITE supports 100rel. An INVITE
   * that requires 100rel gets every 101-199 reliably whatever this says.
   */
  reliable?: boolean;
}

/**
 * Events: 'cancel' (the CANCEL, §9.2; only to listeners present when it arrives: use
 * `cancellation` from code that awaits anything first), 'failed' (Timer H or transport;
 * 'prack-timeout': no PRACK for a reliable provisional, §3), 'prack' (a PRACK accepted),
 * 'prackRefused' (a PRACK naming no reliable provisional of ours, answered 481).
 */
export class IncomingRequest extends EventEmitter implements ServerTransactionOwner {
  private tag: string | undefined;
  private cancelRequest: SipRequest | undefined;
  private cancelPromise: Promise<SipRequest> | undefined;
  private settleCancel: ((cancel: SipRequest) => void) | undefined;
  /** The early dialog made by progress(), then the dialog made by answer(). */
  private uasDialog: Dialog | undefined;
  /** RFC 3262 §3: this INVITE's reliable provisionals, once one was sent. */
  private reliable: ReliableSender | undefined;

  constructor(
    private readonly core: UaCore,
    readonly message: SipRequest,
    readonly transaction: ServerTransaction,
    /** The dialog an in-dialog request belongs to. */
    readonly dialog?: Dialog,
  ) {
    super();
    transaction.owner = this;
    // A CANCEL that matched before this object existed (the request waited for a dialog
    // lookup): the request is canceled from the start.
    const early = transaction.cancel;
    if (early) {
      this.tag = early.toTag;
      this.cancelReceived(early.request);
    }
  }

  /** True once a CANCEL for this INVITE arrived (§9.2), also one read before any handler ran. */
  get canceled(): boolean {
    return this.cancelRequest !== undefined;
  }

  /**
   * Settles with the CANCEL once one matched this INVITE, also for a subscriber that
   * comes after it: a handler that awaited authentication or a lookup first must still
   * learn that its caller gave up (an INVITE and its CANCEL can arrive in one TCP or
   * WebSocket read). Never rejects; stays pending when no CANCEL comes.
   */
  get cancellation(): Promise<SipRequest> {
    if (this.cancelPromise === undefined) {
      const done = this.cancelRequest;
      this.cancelPromise = done !== undefined
        ? Promise.resolve(done)
        : new Promise<SipRequest>((resolve) => { this.settleCancel = resolve; });
    }
    return this.cancelPromise;
  }

  /** The To tag of every response to this request (one UAS dialog per request). */
  get localTag(): string {
    if (this.tag === undefined) {
      this.tag = this.dialog ? this.dialog.state.localTag : tagOf(this.message.headers.get('to') ?? '') ?? newTag();
    }
    return this.tag;
  }

  get method(): string {
    return this.message.method;
  }

  /** True once a final response was sent. */
  get finalSent(): boolean {
    return this.transaction.finalSent;
  }

  private protocol(): TransportProtocol {
    return (this.message.transport?.protocol ?? 'udp') as TransportProtocol;
  }

  /** A response to this request with the UA's To tag, not yet sent. */
  createResponse(status: number, reason?: string, opts?: ReplyOptions): SipResponse {
    const res = createResponse(this.message, status, reason, this.localTag);
    if (this.core.userAgentName) res.headers.append('server', this.core.userAgentName);
    applyMessageOptions(res, opts);
    return res;
  }

  /**
   * Sends a response. For an INVITE, a 2xx goes through answer() (dialog, 2xx
   * retransmission) and a 1xx through progress(); returns the response.
   */
  reply(status: number, reasonOrOpts?: string | ReplyOptions, maybeOpts?: ReplyOptions): SipResponse {
    const reason = typeof reasonOrOpts === 'string' ? reasonOrOpts : undefined;
    const opts = typeof reasonOrOpts === 'object' ? reasonOrOpts : maybeOpts;
    if (this.message.method === 'INVITE') {
      if (status >= 200 && status < 300) {
        const { response, acked } = this.sendAnswer(status, reason, opts);
        acked.then(undefined, ignore);
        return response;
      }
      if (status > 100 && status < 200) return this.progress(status, reason, opts);
    }
    const res = this.createResponse(status, reason, opts);
    if (this.dialog && status >= 200 && status < 300) this.dialog.refreshTargetFromRequest(this.message);
    if (status >= 200) this.reliable?.stop();
    this.transaction.respond(res);
    if (status >= 200) this.finalResponded();
    if (status >= 300 && this.uasDialog && this.uasDialog.state.state === 'early') {
      this.uasDialog.terminate(this.canceled ? 'canceled' : 'rejected');
    }
    return res;
  }

  /**
   * A final failure sent once, never retransmitted, the transaction ended at once (RFC
   * 3261 §8.2.7, the To tag derived from the request as a stateless UAS would): over
   * UDP, a challenge answering failed credentials then reflects no more than the
   * request's worth. Falls back to reply() for a 2xx or once a final was sent.
   */
  replyOnce(status: number, reason?: string, opts?: ReplyOptions): SipResponse {
    if (status < 300 || this.transaction.finalSent) return reason !== undefined ? this.reply(status, reason, opts) : this.reply(status, opts ?? {});
    const res = statelessResponse(this.message, { status, ...(reason !== undefined ? { reason } : {}), ...(opts?.headers ? { headers: opts.headers } : {}) }, this.core.userAgentName);
    this.transaction.respondOnce(res);
    this.finalResponded();
    return res;
  }

  /** INVITE: a 1xx with To tag and Contact; 101-199 create the early dialog (§12.1.1). */
  progress(status = 180, reason?: string, opts?: ReplyOptions): SipResponse {
    if (status < 100 || status > 199) throw new RangeError('progress() takes a 1xx status');
    const res = this.createResponse(status, reason, opts);
    if (status > 100 && this.message.method === 'INVITE' && !this.dialog) {
      this.addDialogHeaders(res, opts);
      if (!this.uasDialog) {
        this.uasDialog = new Dialog(this.core, uasState(this.message, this.localTag, res.headers.get('contact')!, this.protocol()));
        this.core.addDialog(this.uasDialog);
      }
      if (this.sendsReliably(opts)) {
        this.reliableSender().send(res);
        return res;
      }
    }
    this.transaction.respond(res);
    return res;
  }

  /**
   * RFC 3262 §3: reliable when the INVITE requires it, or when asked and the INVITE
   * supports it; never unless this UA handles 100rel (it would not see the PRACK).
   */
  private sendsReliably(opts: ReplyOptions | undefined): boolean {
    if (!this.core.supported.has(OPTION_100REL)) return false;
    return names100rel(this.message) || (opts?.reliable === true && names100rel(this.message, true));
  }

  private reliableSender(): ReliableSender {
    if (!this.reliable) {
      const inviteSeq = this.uasDialog!.state.inviteSeq;
      const sender = new ReliableSender(this.transaction, this.core.timers.T1, () => {
        // §3: 64*T1 without a PRACK: the INVITE is rejected with a 5xx.
        this.emit('failed', 'prack-timeout');
        if (!this.transaction.finalSent) this.reply(504, 'Reliable Provisional Not Acknowledged');
      });
      this.reliable = sender;
      this.uasDialog!.prackReceiver = (prack) => {
        if (sender.receivePrack(prack.message, inviteSeq)) {
          prack.reply(200);
          this.emit('prack', prack);
        } else {
          prack.reply(481, 'No Such Reliable Provisional');
          this.emit('prackRefused', prack);
        }
      };
    }
    return this.reliable;
  }

  /**
   * INVITE: sends the 2xx (To tag, Contact, Record-Route), confirms the dialog and
   * resolves with it when the ACK arrives; rejects when no ACK comes within 64*T1
   * (the dialog is then ended with BYE, §13.3.1.4) or the dialog ends first.
   */
  answer(opts?: ReplyOptions & { status?: number; reason?: string }): Promise<Dialog> {
    if (this.message.method !== 'INVITE') return Promise.reject(new Error('answer() is for INVITE'));
    return this.sendAnswer(opts?.status ?? 200, opts?.reason, opts).acked;
  }

  private sendAnswer(status: number, reason: string | undefined, opts: ReplyOptions | undefined): { response: SipResponse; acked: Promise<Dialog> } {
    if (this.transaction.finalSent) {
      const err = new SipError(500, 'INVITE already answered');
      return { response: this.transaction.lastResponse!, acked: Promise.reject(err) };
    }
    const res = this.createResponse(status, reason, opts);
    let d = this.dialog;
    if (d) {
      if (!res.headers.has('contact')) res.headers.set('contact', opts?.contact ?? d.state.localContact);
      d.refreshTargetFromRequest(this.message);
    } else {
      this.addDialogHeaders(res, opts);
      d = this.uasDialog;
      if (!d) {
        d = new Dialog(this.core, uasState(this.message, this.localTag, res.headers.get('contact')!, this.protocol()));
        this.core.addDialog(d);
        this.uasDialog = d;
      }
      d.confirm();
    }
    const dialog = d;
    const send = (): Promise<Dialog> => {
      this.reliable?.stop();
      this.transaction.respond(res);
      this.finalResponded();
      return dialog.awaitAck(res, this.message);
    };
    const reliable = this.reliable;
    if (!reliable?.pending) return { response: res, acked: send() };
    // RFC 3262 §3: a 2xx may not overtake an unacknowledged reliable provisional with SDP.
    const acked = new Promise<Dialog>((resolve, reject) => {
      reliable.beforeFinal(() => send().then(resolve, reject), () => reject(new SipError(500, 'INVITE ended before the PRACK')));
    });
    return { response: res, acked };
  }

  /** §12.1.1: dialog-creating responses copy Record-Route and carry a Contact. */
  private addDialogHeaders(res: SipResponse, opts: ReplyOptions | undefined): void {
    for (const rr of this.message.headers.getAll('record-route')) res.headers.append('record-route', rr);
    if (!res.headers.has('contact')) res.headers.set('contact', opts?.contact ?? this.core.contact(this.protocol(), this.message.transport?.localAddress));
    if (!res.headers.has('supported') && this.core.supported.size > 0) res.headers.set('supported', [...this.core.supported].join(', '));
  }

  /** The UAS dialog (early or confirmed) this INVITE created, if any. */
  get createdDialog(): Dialog | undefined {
    return this.uasDialog;
  }

  /**
   * A final response went out: a CANCEL can no longer do anything (§9.2), so whatever
   * waits for one is let go (the transaction keeps this object until Timer L or J, and
   * a pending `cancellation` would keep its subscribers' state as long).
   */
  private finalResponded(): void {
    this.settleCancel = undefined;
    this.cancelPromise = undefined;
  }

  /** Called by the UA when a CANCEL matched this INVITE before its final response (§9.2). */
  cancelReceived(cancel: SipRequest): void {
    if (this.transaction.finalSent || this.cancelRequest !== undefined) return;
    this.cancelRequest = cancel;
    this.settleCancel?.(cancel);
    this.settleCancel = undefined;
    this.emit('cancel', cancel);
    if (!this.transaction.finalSent) this.reply(487);
  }

  serverTransactionFailed(_tx: ServerTransaction, reason: 'timeout' | 'transport'): void {
    this.reliable?.stop();
    this.emit('failed', reason);
  }
}

function ignore(): void { /* reply() callers do not wait for the ACK */ }
