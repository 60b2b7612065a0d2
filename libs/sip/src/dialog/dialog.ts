// A dialog (RFC 3261 §12-15): in-dialog requests out (§12.2.1) and in (§12.2.2),
// the ACK for 2xx (§13.2.2.4), 2xx retransmission until the ACK (§13.3.1.4), glare
// (§14.1/14.2), BYE (§15). Its state is a plain DialogState (see state.ts).
//
// Events: 'request' (IncomingRequest: re-INVITE, UPDATE, INFO, REFER, NOTIFY ...),
// 'ack' (the ACK for our 2xx), 'bye' (IncomingRequest, already answered 200),
// 'updated' (confirmed, remote target or route set changed: time to store the state;
// CSeq moves are not reported), 'terminated' (DialogTerminationReason).

import { EventEmitter } from 'node:events';
import { Headers, ownString, SipRequest, type SipResponse } from '../message/index.js';
import { parseCSeq } from '../parser/index.js';
import type { ServerTransaction } from '../transaction/server.js';
import { synthesizeResponse } from '../transaction/response.js';
import { startTimer, startTimerAt } from '../transaction/timers.js';
import type { Destination } from '../transport/types.js';
import { ClientRequest } from '../ua/client-request.js';
import { applyMessageOptions, type MessageOptions, type SendOptions, type UaCore } from '../ua/core.js';
import { newBranch } from '../ua/ids.js';
import { IncomingRequest } from '../ua/incoming-request.js';
import { requestTarget } from './route.js';
import { contactUri, dialogId, withTag, type DialogState } from './state.js';

/** §12.2.1.1 / RFC 3311 / RFC 3515 / RFC 6665: requests that carry a Contact. */
const CARRIES_CONTACT: ReadonlySet<string> = new Set(['INVITE', 'UPDATE', 'REFER', 'SUBSCRIBE', 'NOTIFY']);
/** Target refresh requests (§12.2, RFC 3311). */
const TARGET_REFRESH: ReadonlySet<string> = new Set(['INVITE', 'UPDATE']);

export type DialogTerminationReason =
  | 'bye' | 'local-bye' | 'ack-timeout' | 'rejected' | 'canceled' | 'forked-other-answered'
  | 'request-failed' | 'closed';

interface PendingAck {
  response: SipResponse;
  request: SipRequest;
  seq: number;
  interval: number;
  elapsed: number;
  /** Date.now() of the first 2xx: copies are due at nominal times from it, not from late firings. */
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (d: Dialog) => void;
  reject: (e: Error) => void;
}

function onRetransmit2xx(d: Dialog): void { d.retransmit2xx(); }

/** What JSON.parse(JSON.stringify(v)) gives for plain data: undefined fields left out, objects and arrays copied. */
function plainCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainCopy);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plainCopy(x);
  return out;
}

export class Dialog extends EventEmitter {
  private s: DialogState;
  private lastAck: SipRequest | undefined;
  private lastAckDest: Destination | undefined;
  private pendingAck: PendingAck | undefined;
  /** §14.1: our re-INVITE still waiting for its final response. */
  private outgoingInvite: ClientRequest | undefined;
  /** §14.2: the peer's re-INVITE still waiting for our final response. */
  private incomingInvite: ServerTransaction | undefined;
  /** §15: a BYE asked for while our 2xx still waits for its ACK. */
  private deferredBye: { opts: SendOptions | undefined; resolve: (res: SipResponse) => void } | undefined;
  /** UAS early dialog whose INVITE sent reliable provisionals: PRACKs go there (RFC 3262 §3). */
  prackReceiver: ((prack: IncomingRequest) => void) | undefined;

  private endReason: DialogTerminationReason | undefined;

  constructor(private readonly core: UaCore, state: DialogState) {
    super();
    this.s = state;
  }

  /** The live state (do not mutate). */
  get state(): Readonly<DialogState> {
    return this.s;
  }

  get id(): string {
    return dialogId(this.s.callId, this.s.localTag, this.s.remoteTag);
  }

  get terminated(): boolean {
    return this.s.state === 'terminated';
  }

  /** Why the dialog ended (undefined while it lives): for whoever looks after its 'terminated' event. */
  get terminationReason(): DialogTerminationReason | undefined {
    return this.endReason;
  }

  /** A copy that JSON round-trips, for a store; rebuild with UserAgent.restoreDialog(). */
  toState(): DialogState {
    // Copied field by field rather than through JSON text: calls take it on every change
    // of a dialog (their record, replication), a handful of times per call set up.
    return plainCopy(this.s) as DialogState;
  }

  /** Next local CSeq number (§12.2.1.1: strictly increasing by one). */
  nextSeq(): number {
    return ++this.s.localSeq;
  }

  setInviteSeq(seq: number): void {
    this.s.inviteSeq = seq;
  }

  /** Builds an in-dialog request with the dialog's identifiers, route set and target. */
  buildRequest(method: string, seq: number, branch: string, opts?: MessageOptions): { req: SipRequest; dest: Destination } {
    const s = this.s;
    const target = requestTarget(s.remoteTarget, s.routeSet);
    const next = this.core.destinationFor(target.nextHop, s.flow);
    // Requests leave from the address the dialog lives on (its service address).
    const dest = s.localAddress !== undefined && next.localAddress === undefined && next.flowId === undefined ? { ...next, localAddress: s.localAddress } : next;
    const h = new Headers();
    h.append('via', this.core.via(dest.protocol, branch, dest.localAddress));
    h.append('max-forwards', '70');
    for (const r of target.routes) h.append('route', r);
    h.append('from', withTag(s.localUri, s.localTag));
    h.append('to', withTag(s.remoteUri, s.remoteTag));
    h.append('call-id', s.callId);
    h.append('cseq', seq + ' ' + method);
    if (CARRIES_CONTACT.has(method)) h.append('contact', s.localContact);
    if (this.core.userAgentName) h.append('user-agent', this.core.userAgentName);
    const req = new SipRequest(method, target.requestUri, h);
    applyMessageOptions(req, opts);
    return { req, dest };
  }

  /** Sends an in-dialog request (not ACK, not CANCEL: see ack() and ClientRequest.cancel()). */
  request(method: string, opts: SendOptions = {}): ClientRequest {
    const m = method.toUpperCase();
    if (m === 'ACK' || m === 'CANCEL') throw new Error(`use ${m === 'ACK' ? 'dialog.ack()' : 'ClientRequest.cancel()'}`);
    if (this.s.state === 'terminated') throw new Error('dialog is terminated');
    const branch = newBranch();
    const { req, dest } = this.buildRequest(m, this.nextSeq(), branch, opts);
    const out = new ClientRequest(this.core, req, dest, branch, opts, this);
    if (m === 'INVITE') this.outgoingInvite = out;
    return out;
  }

  /**
   * Ends the dialog with BYE (§15.1.1); the dialog is over once it is sent, whatever
   * the answer. §15: a UAS whose 2xx is not yet ACKed waits for the ACK (or for the
   * 64*T1 give-up, which sends the BYE itself) before sending it.
   */
  bye(opts?: SendOptions): Promise<SipResponse> {
    if (this.s.state === 'terminated') return Promise.reject(new Error('dialog is terminated'));
    if (this.pendingAck) {
      if (this.deferredBye) return Promise.reject(new Error('BYE already pending'));
      return new Promise((resolve) => { this.deferredBye = { opts, resolve }; });
    }
    return this.sendBye(opts);
  }

  private sendBye(opts: SendOptions | undefined): Promise<SipResponse> {
    const out = this.request('BYE', opts);
    this.terminate('local-bye');
    return out.final;
  }

  /** §13.2.2.4: the ACK for the last INVITE's 2xx (new branch, the INVITE's CSeq number). */
  ack(opts?: MessageOptions): void {
    const branch = newBranch();
    const { req, dest } = this.buildRequest('ACK', this.s.inviteSeq, branch, opts);
    this.lastAck = req;
    this.lastAckDest = dest;
    this.core.sendStateless(req, dest);
  }

  /** A retransmitted 2xx means our ACK was lost: send it again (§13.2.2.4). */
  receive2xxRetransmission(res: SipResponse): void {
    if (!this.lastAck || !this.lastAckDest) return;
    if (parseCSeq(res.headers.get('cseq') ?? '').seq !== this.s.inviteSeq) return;
    this.core.sendStateless(this.lastAck, this.lastAckDest);
  }

  /** UAC: early dialog -> confirmed on a 2xx; the route set is recomputed (§12.1.2). */
  confirmFromResponse(res: SipResponse): void {
    this.s.routeSet = res.headers.getAll('record-route').reverse().map(ownString);
    const c = contactUri(res);
    if (c !== undefined) this.s.remoteTarget = ownString(c);
    this.s.state = 'confirmed';
    this.emit('updated');
  }

  /** Target refresh by a response (§12.2.1.2): the Contact of a 1xx/2xx. */
  updateTargetFromResponse(res: SipResponse): void {
    const c = contactUri(res);
    if (c !== undefined && c !== this.s.remoteTarget) {
      this.s.remoteTarget = ownString(c);
      this.emit('updated');
    }
  }

  /** UAS: the 2xx went out; confirmed now (§12.1.1). */
  confirm(): void {
    if (this.s.state !== 'early') return;
    this.s.state = 'confirmed';
    this.emit('updated');
  }

  /** A ClientRequest of this dialog got its final response. */
  requestCompleted(out: ClientRequest, res: SipResponse): void {
    if (out === this.outgoingInvite) this.outgoingInvite = undefined;
    const s = res.status;
    if (s >= 200 && s < 300 && out.method === 'UPDATE') this.updateTargetFromResponse(res);
    // §12.2.1.2: 481 and 408 to an in-dialog request end the dialog.
    if ((s === 481 || s === 408) && out.method !== 'BYE') this.terminate('request-failed');
  }

  /** UAS: retransmit the 2xx until the ACK comes; give up after 64*T1 (§13.3.1.4). */
  awaitAck(response: SipResponse, request: SipRequest): Promise<Dialog> {
    this.stopRetransmit(new Error('superseded by a newer 2xx'));
    const seq = parseCSeq(request.headers.get('cseq') ?? '').seq;
    return new Promise<Dialog>((resolve, reject) => {
      const T1 = this.core.timers.T1;
      const reliable = request.transport !== undefined && request.transport.protocol !== 'udp';
      // Over reliable transports the 2xx is not retransmitted, but the 64*T1 wait stays.
      const interval = reliable ? 64 * T1 : T1;
      this.pendingAck = {
        response, request, seq, resolve, reject, interval, elapsed: 0, startedAt: Date.now(),
        timer: startTimer(onRetransmit2xx, interval, this),
      };
    });
  }

  retransmit2xx(): void {
    const p = this.pendingAck;
    if (!p) return;
    p.elapsed += p.interval;
    const T1 = this.core.timers.T1;
    if (p.elapsed >= 64 * T1) {
      p.timer = undefined;
      this.pendingAck = undefined;
      p.reject(new Error('no ACK for the 2xx within 64*T1'));
      // §13.3.1.4: the UAS SHOULD end the dialog with a BYE.
      if (this.s.state !== 'terminated') {
        const deferred = this.deferredBye;
        this.deferredBye = undefined;
        const out = this.request('BYE', deferred?.opts);
        this.terminate('ack-timeout');
        if (deferred) void out.final.then(deferred.resolve);
      }
      return;
    }
    this.core.transport.sendResponse(p.response, p.request).then(undefined, ignore);
    p.interval = Math.min(2 * p.interval, this.core.timers.T2);
    p.timer = startTimerAt(onRetransmit2xx, p.startedAt + Math.min(p.elapsed + p.interval, 64 * T1), this);
  }

  private stopRetransmit(err?: Error): void {
    const p = this.pendingAck;
    if (!p) return;
    if (p.timer) clearTimeout(p.timer);
    this.pendingAck = undefined;
    if (err) p.reject(err);
  }

  /** The ACK for our 2xx (or for a 2xx to a re-INVITE). */
  receiveAck(ack: SipRequest): void {
    const p = this.pendingAck;
    if (!p || parseCSeq(ack.headers.get('cseq') ?? '').seq !== p.seq) return;
    if (p.timer) clearTimeout(p.timer);
    this.pendingAck = undefined;
    this.emit('ack', ack);
    p.resolve(this);
    const deferred = this.deferredBye;
    if (deferred && this.s.state !== 'terminated') {
      this.deferredBye = undefined;
      void this.sendBye(deferred.opts).then(deferred.resolve);
    }
  }

  /** An in-dialog request (§12.2.2) with its server transaction. */
  receiveRequest(req: SipRequest, tx: ServerTransaction): void {
    const inc = new IncomingRequest(this.core, req, tx, this);
    const seq = parseCSeq(req.headers.get('cseq') ?? '').seq;
    if (this.s.remoteSeq !== null && seq < this.s.remoteSeq) {
      inc.reply(500, 'CSeq Out Of Order');
      return;
    }
    this.s.remoteSeq = seq;
    const m = req.method;
    if (m === 'BYE') {
      inc.reply(200);
      this.emit('bye', inc);
      this.terminate('bye');
      return;
    }
    if (m === 'PRACK') {
      if (this.prackReceiver) this.prackReceiver(inc);
      else this.refuse(inc, 481, 'No Such Reliable Provisional');
      return;
    }
    if (m === 'INVITE') {
      if (this.outgoingInvite && !this.outgoingInvite.completed) {
        this.refuse(inc, 491, 'Request Pending'); // §14.2: our own re-INVITE is pending: glare
        return;
      }
      if (this.incomingInvite && !this.incomingInvite.finalSent && this.incomingInvite.state !== 'terminated') {
        // §14.2: a second re-INVITE while the first is unanswered.
        this.refuse(inc, 500, 'Server Internal Error', { 'Retry-After': String(Math.floor(Math.random() * 10)) });
        return;
      }
      this.incomingInvite = tx;
    }
    if (this.listenerCount('request') > 0) {
      this.emit('request', inc);
      return;
    }
    // Nobody to judge an offer or an event: refuse in the terms of each method.
    if (m === 'OPTIONS') inc.reply(200);
    else if (m === 'INVITE' || m === 'UPDATE') inc.reply(488);
    else if (m === 'NOTIFY') inc.reply(481); // RFC 6665 §4.1.3: no such subscription
    else inc.reply(405, { headers: { Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE' } });
  }

  /**
   * A request the dialog answers itself with a refusal: answered, and told as 'refused'
   * ({ method, status, reason }) so the owner can log it with its call.
   */
  private refuse(inc: IncomingRequest, status: number, reason: string, headers?: Record<string, string>): void {
    inc.reply(status, reason, headers ? { headers } : undefined);
    this.emit('refused', { method: inc.method, status, reason });
  }

  /**
   * The peer is now reachable over another flow (RFC 5626 §5.3: a browser whose
   * WebSocket closed reconnected and registered again with the same instance): requests
   * toward it go there from now on. Reported as 'updated' (state to store).
   */
  rebindFlow(flow: Destination): void {
    if (this.s.state === 'terminated') return;
    this.s.flow = { ...flow };
    this.emit('updated');
  }

  /** Target refresh by a request we answered 2xx (§12.2.2). */
  refreshTargetFromRequest(req: SipRequest): void {
    if (!TARGET_REFRESH.has(req.method)) return;
    const c = contactUri(req);
    if (c !== undefined && c !== this.s.remoteTarget) {
      this.s.remoteTarget = ownString(c);
      this.emit('updated');
    }
  }

  /** Ends the dialog locally (no message is sent): timers stop, the UA forgets it. */
  terminate(reason: DialogTerminationReason): void {
    if (this.s.state === 'terminated') return;
    this.s.state = 'terminated';
    this.endReason = reason;
    this.stopRetransmit(new Error('dialog terminated: ' + reason));
    const deferred = this.deferredBye;
    if (deferred) {
      // Ended another way first (the peer's BYE, UA shutdown): our BYE would meet a 481.
      this.deferredBye = undefined;
      const never = this.buildRequest('BYE', this.s.localSeq + 1, newBranch()).req;
      deferred.resolve(synthesizeResponse(never, 481, 'Dialog Terminated'));
    }
    this.core.removeDialog(this);
    this.emit('terminated', reason);
  }
}

function ignore(): void { /* a lost 2xx retransmission is retried by the next timer */ }
