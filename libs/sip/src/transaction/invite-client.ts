// The INVITE client transaction (RFC 3261 §17.1.1, Figure 5) with the Accepted
// state of RFC 6026 §8.4 (Timer M): 2xx retransmissions reach the TU, which ACKs
// each of them; the transaction itself only ACKs non-2xx finals (§17.1.1.3).

import { Headers, SipRequest } from '../message/index.js';
import type { SipResponse } from '../message/index.js';
import { parseCSeq } from '../parser/index.js';
import type { Destination } from '../transport/types.js';
import type { ClientTransaction, ClientTransactionState, ClientTransactionUser } from './client.js';
import type { TransactionLayer } from './layer.js';
import { errorReason, synthesizeResponse } from './response.js';
import { isReliable } from './sip-transport.js';
import { startTimer, startTimerAt } from './timers.js';

function onTimerA(tx: InviteClientTransaction): void { tx.timerAFired(); }
function onTimerB(tx: InviteClientTransaction): void { tx.timerBFired(); }
function onTimerDM(tx: InviteClientTransaction): void { tx.terminate(); }

export class InviteClientTransaction implements ClientTransaction {
  state: ClientTransactionState = 'calling';
  private readonly reliable: boolean;
  private timerA: NodeJS.Timeout | undefined;
  private timerB: NodeJS.Timeout | undefined;
  /** Timer D (Completed) or Timer M (Accepted): only one can run. */
  private timerEnd: NodeJS.Timeout | undefined;
  private intervalA: number;
  /** When the next Timer A copy is due (Date.now() clock). */
  private dueA = 0;
  private ack: SipRequest | undefined;
  private readonly onSendError = (err: unknown): void => this.transportError(err);

  constructor(
    private readonly layer: TransactionLayer,
    readonly request: SipRequest,
    readonly destination: Destination,
    readonly branch: string,
    readonly key: string,
    public tu: ClientTransactionUser,
  ) {
    this.reliable = isReliable(destination.protocol);
    this.intervalA = layer.timers.T1;
  }

  start(): void {
    this.send(this.request);
    if (!this.reliable) {
      this.dueA = Date.now() + this.intervalA;
      this.timerA = startTimerAt(onTimerA, this.dueA, this);
    }
    this.timerB = startTimer(onTimerB, 64 * this.layer.timers.T1, this);
  }

  timerAFired(): void {
    this.timerA = undefined;
    if (this.state !== 'calling') return;
    this.send(this.request);
    this.intervalA *= 2;
    this.dueA += this.intervalA;
    this.timerA = startTimerAt(onTimerA, this.dueA, this);
  }

  timerBFired(): void {
    this.timerB = undefined;
    if (this.state !== 'calling') return;
    const tu = this.tu;
    this.terminate();
    tu.receiveResponse(synthesizeResponse(this.request, 408), this);
  }

  receiveResponse(res: SipResponse): void {
    const s = res.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        this.clearRetransmit();
        if (s < 200) {
          this.state = 'proceeding';
          this.tu.receiveResponse(res, this);
        } else if (s < 300) {
          this.state = 'accepted';
          this.timerEnd = startTimer(onTimerDM, 64 * this.layer.timers.T1, this);
          this.tu.receiveResponse(res, this);
        } else {
          this.state = 'completed';
          this.ack = this.buildAck(res);
          this.send(this.ack);
          if (this.reliable) {
            this.tu.receiveResponse(res, this);
            this.terminate();
          } else {
            this.timerEnd = startTimer(onTimerDM, 32000, this);
            this.tu.receiveResponse(res, this);
          }
        }
        return;
      case 'completed':
        // §17.1.1.2: a retransmitted final response is answered with the same ACK.
        if (s >= 300 && this.ack) this.send(this.ack);
        return;
      case 'accepted':
        if (s >= 200 && s < 300) this.tu.receiveResponse(res, this);
        return;
      default:
        return;
    }
  }

  /** §17.1.1.3: same Request-URI, Call-ID, From, top Via, Route; To of the response. */
  private buildAck(res: SipResponse): SipRequest {
    const h = new Headers();
    const req = this.request.headers;
    const via = req.getRaw('via');
    if (via !== undefined) h.append('via', via.split(',')[0]!.trim());
    h.append('max-forwards', '70');
    h.append('from', req.get('from') ?? '');
    h.append('to', res.headers.get('to') ?? req.get('to') ?? '');
    h.append('call-id', this.request.callId);
    h.append('cseq', parseCSeq(req.get('cseq') ?? '').seq + ' ACK');
    for (const r of req.getAll('route')) h.append('route', r);
    return new SipRequest('ACK', this.request.uri, h);
  }

  private send(msg: SipRequest): void {
    this.layer.transport.send(msg, this.destination).then(undefined, this.onSendError);
  }

  /** Ends a pending transaction as if the transport failed: the TU gets a local 503. */
  fail(err: unknown): void {
    this.transportError(err);
  }

  private transportError(err: unknown): void {
    if (this.state !== 'calling' && this.state !== 'proceeding') return;
    const tu = this.tu;
    this.terminate();
    tu.receiveResponse(synthesizeResponse(this.request, 503, errorReason(err)), this);
  }

  private clearRetransmit(): void {
    if (this.timerA) { clearTimeout(this.timerA); this.timerA = undefined; }
    if (this.timerB) { clearTimeout(this.timerB); this.timerB = undefined; }
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearRetransmit();
    if (this.timerEnd) { clearTimeout(this.timerEnd); this.timerEnd = undefined; }
    this.layer.removeClient(this);
  }
}
