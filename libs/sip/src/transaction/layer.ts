// The transaction layer (RFC 3261 §17): the client and server transaction tables,
// matching of incoming messages to them (§17.1.3, §17.2.3), CANCEL matching (§9.2)
// and merged-request detection (§8.2.2.2). Everything a transaction does not absorb
// goes to the transaction user (the UA core).

import type { SipMessage, SipRequest, SipResponse } from '../message/index.js';
import { SipError } from '../message/index.js';
import { tagOf, validateResponse } from '../parser/index.js';
import type { Destination } from '../transport/types.js';
import { pinToSource } from '../transport/inbound.js';
import type { ClientTransaction, ClientTransactionUser } from './client.js';
import { InviteClientTransaction } from './invite-client.js';
import { InviteServerTransaction } from './invite-server.js';
import { clientKey, clientKeyOfResponse, isRfc2543Key, mergeKey, serverKey } from './matching.js';
import { NonInviteClientTransaction } from './non-invite-client.js';
import { NonInviteServerTransaction } from './non-invite-server.js';
import { createResponse } from './response.js';
import type { ServerTransaction } from './server.js';
import type { SipTransport } from './sip-transport.js';
import type { TimerSettings } from './timers.js';

export interface TransactionUser {
  /**
   * A request that starts a server transaction, or (tx undefined) an ACK that no
   * transaction absorbs: the ACK for a 2xx, which belongs to the dialog (§13.3.1.4).
   */
  receiveRequest(req: SipRequest, tx: ServerTransaction | undefined): void;
  /** A CANCEL with its own transaction, and the INVITE transaction it matches if any (§9.2). */
  receiveCancel(cancel: SipRequest, cancelTx: ServerTransaction, inviteTx: InviteServerTransaction | undefined): void;
  /** A response that matches no client transaction (e.g. a 2xx retransmitted after Timer M). */
  receiveStrayResponse(res: SipResponse): void;
  /**
   * Optional check run before a request gets a transaction; throw a SipError to
   * answer it statelessly (400 for a malformed request).
   */
  validateRequest?(req: SipRequest): void;
  /**
   * Optional screen consulted first for every request (RFC 3261 §8.2.7, stateless UAS
   * behaviour): 'drop' discards it before anything else; a response is sent once,
   * statelessly, instead of creating a transaction, unless the request turns out to be
   * an ACK or to match a live transaction (a retransmission goes to its transaction).
   */
  prescreen?(req: SipRequest): 'drop' | SipResponse | undefined;
}

export interface TransactionCounters {
  clientTransactionsCreated: number;
  serverTransactionsCreated: number;
  /** Requests answered 482 as merged (§8.2.2.2). */
  mergedRequests: number;
  /** Requests answered statelessly because they were unusable (400). */
  rejectedRequests: number;
  /** Requests the TU's screen dropped without an answer. */
  screenedDrops: number;
  /** Requests the TU's screen answered statelessly (§8.2.7), no transaction created. */
  statelessResponses: number;
}

function ignore(): void { /* stateless responses: nothing to do when they fail */ }

export class TransactionLayer {
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly merged = new Map<string, ServerTransaction>();
  readonly counters: TransactionCounters = {
    clientTransactionsCreated: 0, serverTransactionsCreated: 0, mergedRequests: 0, rejectedRequests: 0,
    screenedDrops: 0, statelessResponses: 0,
  };

  constructor(
    readonly transport: SipTransport,
    readonly tu: TransactionUser,
    readonly timers: TimerSettings,
  ) {}

  /** Transactions alive now (client + server). */
  get size(): number {
    return this.clients.size + this.servers.size;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get serverCount(): number {
    return this.servers.size;
  }

  receive(msg: SipMessage): void {
    if (msg.isRequest) this.receiveRequest(msg);
    else this.receiveResponse(msg);
  }

  /** Starts a client transaction for `req`, whose top Via carries `branch`. */
  sendRequest(req: SipRequest, dest: Destination, branch: string, tu: ClientTransactionUser): ClientTransaction {
    const key = clientKey(branch, req.method);
    const tx: ClientTransaction = req.method === 'INVITE'
      ? new InviteClientTransaction(this, req, dest, branch, key, tu)
      : new NonInviteClientTransaction(this, req, dest, branch, key, tu);
    this.clients.set(key, tx);
    this.counters.clientTransactionsCreated++;
    tx.start();
    return tx;
  }

  /** The INVITE server transaction a CANCEL or ACK refers to, if still alive. */
  findInviteServer(req: SipRequest): InviteServerTransaction | undefined {
    const tx = this.servers.get(serverKey(req, 'INVITE'));
    return tx instanceof InviteServerTransaction ? tx : undefined;
  }

  private receiveResponse(res: SipResponse): void {
    let key: string | undefined;
    try {
      // §18.1.2 and RFC 4475 (scalarlg, bigcode): a response whose mandatory fields do not
      // parse is discarded here, before a transaction, a dialog or the TU reads them.
      validateResponse(res);
      key = clientKeyOfResponse(res);
    } catch {
      return;
    }
    const tx = key === undefined ? undefined : this.clients.get(key);
    if (tx) tx.receiveResponse(res);
    else this.tu.receiveStrayResponse(res);
  }

  private receiveRequest(req: SipRequest): void {
    const screened = this.tu.prescreen?.(req);
    if (screened === 'drop') {
      this.counters.screenedDrops++;
      return;
    }
    let key: string;
    try {
      this.tu.validateRequest?.(req);
      key = serverKey(req);
    } catch (err) {
      if (req.method === 'ACK') return; // an ACK is never answered
      this.counters.rejectedRequests++;
      const e = err instanceof SipError ? err : new SipError(400, 'Bad Request');
      try {
        const res = createResponse(req, e.status, e.reason);
        if (e.headers) for (const [name, value] of Object.entries(e.headers)) res.headers.set(name, value);
        // Back to where the packet came from: the Via of a request we refuse may be wrong.
        if (req.transport) pinToSource(res, req.transport);
        this.transport.sendResponse(res, req).then(undefined, ignore);
      } catch {
        // too broken to be answered (no Via at all)
      }
      return;
    }
    const tx = this.servers.get(key);
    if (tx) {
      if (req.method !== 'ACK') tx.receiveRetransmission();
      else if (tx instanceof InviteServerTransaction && this.ackMatches(req, tx, key)) tx.receiveAck(req);
      else this.tu.receiveRequest(req, undefined);
      return;
    }
    if (req.method === 'ACK') {
      this.tu.receiveRequest(req, undefined);
      return;
    }
    if (screened !== undefined) {
      this.counters.statelessResponses++;
      this.transport.sendResponse(screened, req).then(undefined, ignore);
      return;
    }
    if (req.method === 'CANCEL') {
      const cancelTx = this.createServer(req, key);
      this.tu.receiveCancel(req, cancelTx, this.findInviteServer(req));
      return;
    }
    const created = this.createServer(req, key);
    if (tagOf(req.headers.get('to') ?? '') === undefined) {
      const mk = mergeKey(req);
      if (mk !== undefined) {
        if (this.merged.has(mk)) {
          this.counters.mergedRequests++;
          created.respond(createResponse(req, 482, 'Loop Detected', 'merged'));
          return;
        }
        this.merged.set(mk, created);
        created.mergeKey = mk;
      }
    }
    this.tu.receiveRequest(req, created);
  }

  /** RFC 2543 ACKs also need the To tag of the response they acknowledge (§17.2.3). */
  private ackMatches(ack: SipRequest, tx: InviteServerTransaction, key: string): boolean {
    if (!isRfc2543Key(key) || tx.lastResponse === undefined) return true;
    return tagOf(ack.headers.get('to') ?? '') === tagOf(tx.lastResponse.headers.get('to') ?? '');
  }

  private createServer(req: SipRequest, key: string): ServerTransaction {
    const tx: ServerTransaction = req.method === 'INVITE'
      ? new InviteServerTransaction(this, req, key)
      : new NonInviteServerTransaction(this, req, key);
    this.servers.set(key, tx);
    this.counters.serverTransactionsCreated++;
    return tx;
  }

  removeClient(tx: ClientTransaction): void {
    if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
  }

  removeServer(tx: ServerTransaction): void {
    if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
    if (tx.mergeKey !== undefined && this.merged.get(tx.mergeKey) === tx) this.merged.delete(tx.mergeKey);
  }

  /**
   * Terminates every transaction and its timers (UA shutdown). Pending client
   * transactions give their TU a local 503 first, so nobody waits forever.
   */
  close(): void {
    for (const tx of [...this.clients.values()]) {
      tx.fail(new SipError(503, 'User Agent Closed'));
      tx.terminate();
    }
    for (const tx of [...this.servers.values()]) tx.terminate();
    this.merged.clear();
  }
}
