// A request this UA sends and everything that comes back for it: provisional and
// final responses, digest retries (RFC 3261 §22.2), CANCEL (§9.1), and for INVITE
// the early and confirmed dialogs it creates (§13.2.2), forks included.

import { EventEmitter } from 'node:events';
import { DigestClient } from '../auth/index.js';
import { Headers, SipRequest } from '../message/index.js';
import type { SipResponse } from '../message/index.js';
import { parseCSeq, tagOf } from '../parser/index.js';
import type { ClientTransaction, ClientTransactionUser } from '../transaction/client.js';
import type { Destination, TransportProtocol } from '../transport/types.js';
import { Dialog } from '../dialog/dialog.js';
import { uacState } from '../dialog/state.js';
import type { MessageOptions, SendOptions, UaCore } from './core.js';
import { newBranch } from './ids.js';
import { names100rel, rackFor, rseqOf, RSeqWindow } from './reliable-provisionals.js';

/** Each realm is answered once; a second challenge after that means wrong credentials. */
const MAX_AUTH_RETRIES = 2;

export class ClientRequest extends EventEmitter implements ClientTransactionUser {
  /** The request as last sent (a digest retry replaces it). */
  message: SipRequest;
  /** Resolves with the final response, locally made 408/503 included; never rejects. */
  readonly final: Promise<SipResponse>;
  /** The final response, once it arrived. */
  response: SipResponse | undefined;
  /**
   * INVITE: the confirmed dialog once a 2xx arrived. In-dialog requests: the dialog
   * they were sent in.
   */
  dialog: Dialog | undefined;
  /** INVITE outside a dialog: early dialogs by remote tag (forking, §12.1.2). */
  readonly earlyDialogs = new Map<string, Dialog>();
  private tx: ClientTransaction;
  private resolveFinal!: (res: SipResponse) => void;
  private provisionalSeen = false;
  private cancelWanted = false;
  private cancelTx: ClientTransaction | undefined;
  private digest: DigestClient | undefined;
  private authRetries = 0;
  private readonly autoAck: boolean;
  /** RFC 3262 §4: RSeq order per early dialog (remote tag). */
  private readonly rseqWindows = new Map<string, RSeqWindow>();

  constructor(
    private readonly core: UaCore,
    req: SipRequest,
    readonly destination: Destination,
    branch: string,
    private readonly opts: SendOptions,
    private readonly inDialog?: Dialog,
  ) {
    super();
    this.message = req;
    this.dialog = inDialog;
    this.autoAck = opts.autoAck ?? true;
    if (opts.credentials) {
      this.digest = opts.credentials instanceof DigestClient ? opts.credentials : new DigestClient(opts.credentials);
    }
    this.final = new Promise((resolve) => { this.resolveFinal = resolve; });
    this.tx = core.layer.sendRequest(req, destination, branch, this);
  }

  get method(): string {
    return this.message.method;
  }

  /** True once a final response (received or local) is known. */
  get completed(): boolean {
    return this.response !== undefined;
  }

  /**
   * RFC 3261 §9.1: CANCEL a pending INVITE. Before any provisional arrived the CANCEL
   * waits for one (a CANCEL may not overtake the INVITE); after the final it does nothing.
   */
  cancel(): void {
    if (this.message.method !== 'INVITE' || this.response !== undefined || this.cancelTx) return;
    this.cancelWanted = true;
    if (this.provisionalSeen) this.sendCancel();
  }

  private sendCancel(): void {
    const inv = this.message;
    const h = new Headers();
    const via = inv.headers.getRaw('via')!;
    h.append('via', via.split(',')[0]!.trim());
    h.append('max-forwards', '70');
    h.append('from', inv.headers.get('from') ?? '');
    h.append('to', inv.headers.get('to') ?? '');
    h.append('call-id', inv.callId);
    h.append('cseq', parseCSeq(inv.headers.get('cseq') ?? '').seq + ' CANCEL');
    for (const r of inv.headers.getAll('route')) h.append('route', r);
    if (this.core.userAgentName) h.append('user-agent', this.core.userAgentName);
    const cancel = new SipRequest('CANCEL', inv.uri, h);
    this.cancelTx = this.core.layer.sendRequest(cancel, this.tx.destination, this.tx.branch, this);
  }

  receiveResponse(res: SipResponse, tx: ClientTransaction): void {
    if (tx === this.cancelTx) {
      this.emit('cancelResponse', res);
      return;
    }
    if (tx !== this.tx) return; // a transaction replaced by a digest retry
    const s = res.status;
    if (s < 200) {
      if (this.response !== undefined) return;
      this.provisionalSeen = true;
      const early = this.message.method === 'INVITE' && !this.inDialog && s > 100 ? this.earlyDialog(res) : undefined;
      // RFC 3262 §4: a reliable provisional out of RSeq order (a retransmission) is absorbed.
      const reliable = early !== undefined && names100rel(res) && rseqOf(res) !== undefined;
      if (reliable && !this.inRSeqOrder(early, res)) return;
      if (this.cancelWanted && !this.cancelTx) this.sendCancel();
      this.emit('response', res);
      this.emit('provisional', res);
      if (reliable) void this.sendPrack(early, res);
      return;
    }
    if (this.message.method === 'INVITE' && s < 300) {
      this.invite2xx(res);
      return;
    }
    if (this.response !== undefined) return;
    if ((s === 401 || s === 407) && this.retryWithCredentials(res)) return;
    this.finish(res);
  }

  private finish(res: SipResponse): void {
    this.response = res;
    if (this.message.method === 'INVITE' && !this.inDialog) {
      // §13.2.2.3: a non-2xx final ends every early dialog of this INVITE.
      for (const d of this.earlyDialogs.values()) d.terminate('rejected');
      this.earlyDialogs.clear();
    }
    if (this.inDialog) this.inDialog.requestCompleted(this, res);
    this.emit('response', res);
    this.resolveFinal(res);
  }

  private inRSeqOrder(d: Dialog, res: SipResponse): boolean {
    const tag = d.state.remoteTag;
    let w = this.rseqWindows.get(tag);
    if (!w) {
      w = new RSeqWindow();
      this.rseqWindows.set(tag, w);
    }
    return w.accept(rseqOf(res)!);
  }

  /** RFC 3262 §4: PRACK in the early dialog the reliable provisional created. */
  private async sendPrack(d: Dialog, res: SipResponse): Promise<void> {
    let extra: MessageOptions | undefined;
    try {
      extra = this.opts.prack ? await this.opts.prack(res) : undefined;
    } catch {
      extra = undefined;
    }
    if (d.terminated || this.response !== undefined && this.response.status >= 300) return;
    const prack = d.request('PRACK', { ...extra, headers: { ...extra?.headers, RAck: rackFor(res) } });
    this.emit('prack', prack, res);
  }

  private earlyDialog(res: SipResponse): Dialog | undefined {
    const tag = tagOf(res.headers.get('to') ?? '');
    if (tag === undefined) return undefined;
    const existing = this.earlyDialogs.get(tag);
    if (existing) {
      existing.updateTargetFromResponse(res);
      return existing;
    }
    const d = new Dialog(this.core, uacState(this.message, res, this.message.headers.get('contact') ?? '', this.destination.protocol as TransportProtocol, this.tx.destination.flowId ? this.tx.destination : undefined));
    this.earlyDialogs.set(tag, d);
    this.core.addDialog(d);
    this.emit('earlyDialog', d, res);
    return d;
  }

  /** §13.2.2.4: every 2xx (first, retransmitted, or from another fork) gets an ACK. */
  private invite2xx(res: SipResponse): void {
    const tag = tagOf(res.headers.get('to') ?? '') ?? '';
    if (this.inDialog) {
      const d = this.inDialog;
      if (this.response !== undefined) { d.receive2xxRetransmission(res); return; }
      d.updateTargetFromResponse(res);
      d.setInviteSeq(parseCSeq(res.headers.get('cseq') ?? '').seq);
      this.finish(res);
      if (this.autoAck) d.ack();
      return;
    }
    if (this.dialog && this.dialog.state.remoteTag === tag) {
      this.dialog.receive2xxRetransmission(res);
      return;
    }
    let d = this.earlyDialogs.get(tag);
    if (d) {
      this.earlyDialogs.delete(tag);
      d.confirmFromResponse(res);
    } else {
      d = new Dialog(this.core, uacState(this.message, res, this.message.headers.get('contact') ?? '', this.destination.protocol as TransportProtocol, this.tx.destination.flowId ? this.tx.destination : undefined));
      this.core.addDialog(d);
    }
    if (this.dialog) {
      // A second fork answered too: ACK it and hang it up (§13.2.2.4).
      d.ack();
      void d.bye();
      return;
    }
    this.dialog = d;
    for (const other of this.earlyDialogs.values()) other.terminate('forked-other-answered');
    this.earlyDialogs.clear();
    this.finish(res);
    if (this.cancelWanted) {
      // The CANCEL lost the race with the 2xx: the call exists and is not wanted.
      d.ack();
      void d.bye();
      return;
    }
    if (this.autoAck) d.ack();
  }

  private retryWithCredentials(res: SipResponse): boolean {
    if (!this.digest || this.authRetries >= MAX_AUTH_RETRIES) return false;
    const proxy = res.status === 407;
    const challenges = res.headers.getAll(proxy ? 'proxy-authenticate' : 'www-authenticate');
    const header = proxy ? 'proxy-authorization' : 'authorization';
    const prev = this.message.headers.get(header);
    let value: string | undefined;
    try {
      value = this.digest.respond(challenges, { method: this.message.method, uri: this.message.uri, body: this.message.body }, prev);
    } catch {
      value = undefined;
    }
    if (value === undefined) return false;
    this.authRetries++;
    const req = this.message.clone();
    req.transport = undefined;
    const branch = newBranch();
    req.headers.set('via', this.core.via(this.tx.destination.protocol, branch, this.tx.destination.localAddress));
    const seq = this.inDialog ? this.inDialog.nextSeq() : parseCSeq(req.headers.get('cseq') ?? '').seq + 1;
    req.headers.set('cseq', seq + ' ' + req.method);
    req.headers.set(header, value);
    this.message = req;
    this.provisionalSeen = false;
    this.emit('response', res);
    this.tx = this.core.layer.sendRequest(req, this.tx.destination, branch, this);
    return true;
  }
}
