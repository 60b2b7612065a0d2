// The application's SIP endpoint: a UA core (RFC 3261 §8) over the transaction layer.
// Out-of-dialog requests go to handlers by method, in-dialog ones to their Dialog;
// requests go out through ClientRequest. It knows nothing of calls or media.

import { EventEmitter } from 'node:events';
import { Headers, SipRequest, splitList, type SipMessage, type SipResponse } from '../message/index.js';
import { SipError } from '../message/index.js';
import { parseCSeq, parseNameAddr, tagOf, validateRequest } from '../parser/index.js';
import { isToken } from '../parser/charset.js';
import { TransactionLayer, type TransactionUser } from '../transaction/layer.js';
import type { InviteServerTransaction } from '../transaction/invite-server.js';
import { createResponse } from '../transaction/response.js';
import type { ServerTransaction } from '../transaction/server.js';
import type { SipTransport } from '../transaction/sip-transport.js';
import { timerSettings, type TimerSettings } from '../transaction/timers.js';
import { viaTransport, type Destination, type TransportProtocol } from '../transport/types.js';
import { Dialog } from '../dialog/dialog.js';
import { dialogId, type DialogState } from '../dialog/state.js';
import { ClientRequest } from './client-request.js';
import { applyMessageOptions, type SendOptions, type UaCore } from './core.js';
import { newBranch, newCallId, newTag } from './ids.js';
import { IncomingRequest } from './incoming-request.js';
import { statelessResponse, type RequestScreen } from './screen.js';
import { destinationOfUri } from './resolve.js';

export interface UserAgentOptions {
  transport: SipTransport;
  timers?: Partial<TimerSettings>;
  /** Sent as User-Agent / Server. */
  userAgentName?: string;
  /** User part of this UA's Contact (default "trapezoid"). */
  contactUser?: string;
  /**
   * Host written in Via sent-by and Contact instead of the listening address (needed
   * when listening on 0.0.0.0 / :: or behind a floating address).
   */
  advertisedAddress?: string;
  /** Option tags this UA's application handles (a Require naming others gets 420). */
  supported?: string[];
  /** Request-URI schemes this UA takes (lowercase); any other gets 416 (§8.2.2.1). Default sip, sips, tel. */
  uriSchemes?: string[];
  /**
   * Asked about every request outside a dialog (no To tag) except CANCEL, before its
   * handler: a refusal is answered at once with its status and reason, then `after()`
   * runs (the gateway closes a WebSocket whose bound identity the request's From or To
   * contradicts). Undefined lets the request through.
   */
  screenRequest?: (req: SipRequest) => RequestRefusal | undefined;
  /**
   * Asked for an in-dialog request that matches no live dialog, before answering 481:
   * a failover survivor returns the stored state of a dialog another node owned, and
   * the UA restores it and hands it the request.
   */
  dialogLookup?: (callId: string, localTag: string, remoteTag: string) =>
    DialogState | undefined | Promise<DialogState | undefined>;
  /**
   * Consulted for every request before any transaction exists, earlier than
   * screenRequest (screen.ts, RFC 3261 §8.2.7): drop it, answer it once statelessly,
   * or let it through.
   */
  statelessScreen?: RequestScreen;
}

export interface RequestOptions extends SendOptions {
  /** From: a URI or name-addr (a tag is added unless it has one). Default: this UA's Contact URI. */
  from?: string;
  /** To: a URI or name-addr. Default: the Request-URI. */
  to?: string;
  /** Where to send it; default: resolved from the first Route or the Request-URI. */
  destination?: Destination;
  callId?: string;
  /** Contact for INVITE/SUBSCRIBE/REFER/REGISTER; default: this UA's. */
  contact?: string;
  /** CSeq number (default 1). */
  cseq?: number;
}

export type RequestHandler = (req: IncomingRequest) => unknown;

/** A screenRequest verdict: the final response to send, and what to do once it is sent. */
export interface RequestRefusal {
  status: number;
  reason: string;
  after?: () => void;
}

/** Methods this stack knows (unhandled ones get 405; others 501, §8.2.1). */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'UPDATE', 'INFO', 'REFER', 'NOTIFY',
  'SUBSCRIBE', 'MESSAGE', 'PRACK', 'PUBLISH',
]);
const OUT_OF_DIALOG_CONTACT: ReadonlySet<string> = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'REGISTER']);

export interface UaCounters {
  transactions: number;
  clientTransactions: number;
  serverTransactions: number;
  dialogs: number;
  clientTransactionsCreated: number;
  serverTransactionsCreated: number;
  mergedRequests: number;
  rejectedRequests: number;
  screenedDrops: number;
  statelessResponses: number;
}

export class UserAgent extends EventEmitter implements UaCore, TransactionUser {
  readonly layer: TransactionLayer;
  readonly transport: SipTransport;
  readonly timers: TimerSettings;
  readonly userAgentName: string | undefined;
  private readonly contactUser: string;
  private readonly advertisedAddress: string | undefined;
  readonly supported: ReadonlySet<string>;
  private readonly uriSchemes: ReadonlySet<string>;
  private readonly dialogLookup: UserAgentOptions['dialogLookup'];
  private readonly screenRequest: UserAgentOptions['screenRequest'];
  private readonly statelessScreen: RequestScreen | undefined;
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly dialogTable = new Map<string, Dialog>();
  private readonly onMessage = (msg: SipMessage): void => this.layer.receive(msg);
  private closed = false;

  constructor(opts: UserAgentOptions) {
    super();
    this.transport = opts.transport;
    this.timers = timerSettings(opts.timers);
    this.userAgentName = opts.userAgentName;
    this.contactUser = opts.contactUser ?? 'trapezoid';
    this.advertisedAddress = opts.advertisedAddress;
    this.supported = new Set(opts.supported ?? []);
    this.uriSchemes = new Set(opts.uriSchemes ?? ['sip', 'sips', 'tel']);
    this.dialogLookup = opts.dialogLookup;
    this.screenRequest = opts.screenRequest;
    this.statelessScreen = opts.statelessScreen;
    this.layer = new TransactionLayer(this.transport, this, this.timers);
    this.transport.on('message', this.onMessage);
  }

  /** Registers the handler of out-of-dialog requests of `method`. */
  onRequest(method: string, handler: RequestHandler): this {
    this.handlers.set(method.toUpperCase(), handler);
    return this;
  }

  /** Live dialogs (early and confirmed) by id (Call-ID|local tag|remote tag). */
  get dialogs(): ReadonlyMap<string, Dialog> {
    return this.dialogTable;
  }

  findDialog(callId: string, localTag: string, remoteTag: string): Dialog | undefined {
    return this.dialogTable.get(dialogId(callId, localTag, remoteTag));
  }

  get counters(): UaCounters {
    return {
      transactions: this.layer.size,
      clientTransactions: this.layer.clientCount,
      serverTransactions: this.layer.serverCount,
      dialogs: this.dialogTable.size,
      ...this.layer.counters,
    };
  }

  /** Builds and sends an out-of-dialog request (§8.1.1). */
  request(method: string, uri: string, opts: RequestOptions = {}): ClientRequest {
    if (this.closed) throw new Error('user agent is closed');
    const m = method.toUpperCase();
    const routes = opts.headers?.['Route'] ?? opts.headers?.['route'];
    const firstRoute = Array.isArray(routes) ? routes[0] : routes;
    // §8.1.2: a preloaded Route set sends the request to its first entry.
    const dest = opts.destination ?? destinationOfUri(firstRoute ? parseNameAddr(splitList(firstRoute)[0]!).uri : uri);
    const branch = newBranch();
    const contact = opts.contact ?? this.contact(dest.protocol, dest.localAddress);
    const h = new Headers();
    h.append('via', this.via(dest.protocol, branch, dest.localAddress));
    h.append('max-forwards', '70');
    const from = nameAddr(opts.from ?? contact);
    // A From that already carries a tag keeps it (a REGISTER refresh, a test replaying a request).
    h.append('from', tagOf(from) === undefined ? from + ';tag=' + newTag() : from);
    h.append('to', nameAddr(opts.to ?? uri));
    h.append('call-id', opts.callId ?? newCallId());
    h.append('cseq', (opts.cseq ?? 1) + ' ' + m);
    if (OUT_OF_DIALOG_CONTACT.has(m)) h.append('contact', contact);
    if (this.userAgentName) h.append('user-agent', this.userAgentName);
    const req = new SipRequest(m, uri, h);
    applyMessageOptions(req, opts);
    // Dialog-creating requests tell what this UA handles (RFC 3261 §20.37; RFC 3262 §4).
    if (m === 'INVITE' && this.supported.size > 0 && !req.headers.has('supported')) req.headers.set('supported', [...this.supported].join(', '));
    return new ClientRequest(this, req, dest, branch, opts);
  }

  /**
   * Rebuilds a live dialog from a stored state (another node's, after failover).
   * `seqGap` is added to the local CSeq: a store written at state changes only may
   * hold a CSeq older than the last one the dead node sent, and the peer answers a
   * lower CSeq with 500 (§12.2.2).
   */
  restoreDialog(state: DialogState, opts?: { seqGap?: number }): Dialog {
    const copy = JSON.parse(JSON.stringify(state)) as DialogState;
    copy.localSeq += opts?.seqGap ?? 0;
    const d = new Dialog(this, copy);
    this.addDialog(d);
    return d;
  }

  /** Stops every timer, transaction and dialog (no BYE is sent). The transport stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.transport.off('message', this.onMessage);
    for (const d of [...this.dialogTable.values()]) d.terminate('closed');
    this.layer.close();
  }

  // ---- UaCore

  private sentBy(protocol: TransportProtocol, localAddress?: string): string {
    const lp = this.transport.localPoint(protocol, localAddress);
    // RFC 7118 §5: a WebSocket client without a listening point uses an .invalid host.
    if (!lp) return 'trapezoid.invalid';
    // A listening point's own advertised host:port (listeners[].advertise) wins.
    return lp.sentBy ?? hostPort(this.advertisedAddress ?? lp.address, lp.port);
  }

  via(protocol: TransportProtocol, branch: string, localAddress?: string): string {
    const host = this.sentBy(protocol, localAddress);
    return 'SIP/2.0/' + viaTransport(protocol) + ' ' + host + ';branch=' + branch + ';rport';
  }

  contact(protocol: TransportProtocol, localAddress?: string): string {
    const host = this.sentBy(protocol, localAddress);
    return '<sip:' + this.contactUser + '@' + host + (protocol === 'udp' ? '' : ';transport=' + protocol) + '>';
  }

  addDialog(d: Dialog): void {
    this.dialogTable.set(d.id, d);
    this.emit('dialog', d);
  }

  removeDialog(d: Dialog): void {
    if (this.dialogTable.get(d.id) === d) this.dialogTable.delete(d.id);
  }

  destinationFor(nextHop: string, flow: Destination | undefined): Destination {
    // A flow without a flowId is a peer pinned to its configured address (a dialog that
    // was on a connection of a node that died): reconnect there, not to the URI.
    if (flow !== undefined) return flow;
    return destinationOfUri(nextHop);
  }

  sendStateless(req: SipRequest, dest: Destination): void {
    this.transport.send(req, dest).then(undefined, ignore);
  }

  // ---- TransactionUser

  prescreen(req: SipRequest): 'drop' | SipResponse | undefined {
    if (this.closed || this.statelessScreen === undefined) return undefined;
    const verdict = this.statelessScreen(req);
    if (verdict === undefined) return undefined;
    if (verdict.action === 'drop') return 'drop';
    return statelessResponse(req, verdict, this.userAgentName);
  }

  /**
   * §8.2.1-8.2.2 before any transaction: malformed (400), a method this stack does not
   * know (501 with Allow), a Request-URI scheme it does not take (416).
   */
  validateRequest(req: SipRequest): void {
    try {
      validateRequest(req, { methods: KNOWN_METHODS, uriSchemes: this.uriSchemes, registrar: this.handlers.has('REGISTER') });
    } catch (err) {
      if (err instanceof SipError && err.status === 501) throw new SipError(501, err.reason, { headers: { Allow: this.allow() } });
      throw err;
    }
  }

  receiveRequest(req: SipRequest, tx: ServerTransaction | undefined): void {
    if (this.closed) return;
    const toTag = tagOf(req.headers.get('to') ?? '');
    const fromTag = tagOf(req.headers.get('from') ?? '') ?? '';
    if (tx === undefined) {
      // ACK for a 2xx (§13.3.1.4); an ACK matching nothing is dropped (§12.2.2).
      if (toTag !== undefined) this.findDialog(req.callId, toTag, fromTag)?.receiveAck(req);
      return;
    }
    if (toTag !== undefined) {
      const d = this.findDialog(req.callId, toTag, fromTag);
      if (d) d.receiveRequest(req, tx);
      else if (this.dialogLookup) this.lookUpDialog(req, tx, toTag, fromTag);
      else tx.respond(createResponse(req, 481));
      return;
    }
    const m = req.method;
    // A UA is the end of the line for Max-Forwards too (§8.1.1.6, §16.3 step 2 alike).
    if (req.headers.get('max-forwards') === '0' && m !== 'OPTIONS') {
      tx.respond(createResponse(req, 483, undefined, newTag()));
      return;
    }
    if (m !== 'CANCEL') {
      const refusal = this.screenRequest?.(req);
      if (refusal !== undefined) {
        tx.respond(createResponse(req, refusal.status, refusal.reason, newTag()));
        refusal.after?.();
        return;
      }
      const unsupported = req.headers.getAll('require').filter((t) => !this.supported.has(t.toLowerCase()));
      if (unsupported.length > 0) {
        // An option-tag is a token (§25.1): anything else is a malformed Require, not one to list.
        const res = unsupported.every(isToken) ? createResponse(req, 420, undefined, newTag()) : createResponse(req, 400, 'Bad Request: malformed Require', newTag());
        if (res.status === 420) res.headers.set('unsupported', unsupported.join(', '));
        tx.respond(res);
        return;
      }
    }
    const handler = this.handlers.get(m);
    if (handler) {
      const inc = new IncomingRequest(this, req, tx);
      try {
        const r = handler(inc);
        if (r instanceof Promise) r.then(undefined, (err: unknown) => handlerFailed(inc, err));
      } catch (err) {
        handlerFailed(inc, err);
      }
      return;
    }
    const res = createResponse(req, 200, undefined, newTag());
    if (m === 'OPTIONS') {
      res.headers.set('allow', this.allow());
    } else if (m === 'BYE') {
      res.status = 481; res.reason = 'Call/Transaction Does Not Exist';
    } else if (KNOWN_METHODS.has(m)) {
      res.status = 405; res.reason = 'Method Not Allowed';
      res.headers.set('allow', this.allow());
    } else {
      res.status = 501; res.reason = 'Not Implemented';
      res.headers.set('allow', this.allow());
    }
    tx.respond(res);
  }

  private lookUpDialog(req: SipRequest, tx: ServerTransaction, localTag: string, remoteTag: string): void {
    const answer = (state: DialogState | undefined): void => {
      if (this.closed || tx.state === 'terminated') return;
      const live = this.findDialog(req.callId, localTag, remoteTag) ?? (state && state.state !== 'terminated' ? this.restoreDialog(state) : undefined);
      if (live) live.receiveRequest(req, tx);
      else tx.respond(createResponse(req, 481));
    };
    try {
      const r = this.dialogLookup!(req.callId, localTag, remoteTag);
      if (r instanceof Promise) r.then(answer, () => answer(undefined));
      else answer(r);
    } catch {
      answer(undefined);
    }
  }

  private allow(): string {
    const methods = new Set(['ACK', 'BYE', 'CANCEL', 'OPTIONS', ...this.handlers.keys()]);
    return [...methods].join(', ');
  }

  receiveCancel(cancel: SipRequest, cancelTx: ServerTransaction, inviteTx: InviteServerTransaction | undefined): void {
    if (!inviteTx) {
      cancelTx.respond(createResponse(cancel, 481, undefined, newTag()));
      return;
    }
    // §9.2: a CANCEL that matches is answered 200 whatever the INVITE's state, with the
    // To tag of the INVITE's responses. The request may have no owner yet (its dialog is
    // being looked up): the transaction keeps the CANCEL and the tag for it.
    const owner = inviteTx.owner instanceof IncomingRequest ? inviteTx.owner : undefined;
    const toTag = inviteTx.cancel?.toTag ?? owner?.localTag ?? tagOf(inviteTx.request.headers.get('to') ?? '') ?? newTag();
    cancelTx.respond(createResponse(cancel, 200, undefined, toTag));
    if (inviteTx.finalSent || inviteTx.cancel) return;
    inviteTx.cancel = { request: cancel, toTag };
    owner?.cancelReceived(cancel);
  }

  receiveStrayResponse(res: SipResponse): void {
    // A 2xx to INVITE retransmitted after the transaction ended: re-ACK (§13.2.2.4).
    if (res.status < 200 || res.status >= 300) return;
    const c = res.headers.get('cseq');
    if (c === undefined || parseCSeq(c).method !== 'INVITE') return;
    const local = tagOf(res.headers.get('from') ?? '');
    const remote = tagOf(res.headers.get('to') ?? '');
    if (local === undefined || remote === undefined) return;
    this.findDialog(res.callId, local, remote)?.receive2xxRetransmission(res);
  }
}

function handlerFailed(inc: IncomingRequest, err: unknown): void {
  if (inc.finalSent) return;
  if (err instanceof SipError) inc.reply(err.status, err.reason, err.headers ? { headers: { ...err.headers } } : undefined);
  else inc.reply(500);
}

function nameAddr(v: string): string {
  return v.includes('<') ? v : '<' + v + '>';
}

function hostPort(address: string, port: number): string {
  return (address.includes(':') ? '[' + address + ']' : address) + ':' + port;
}

function ignore(): void { /* ACKs for 2xx are fire-and-forget: a lost one is resent on the next 2xx */ }
