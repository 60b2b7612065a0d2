// The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6): Timer E
// retransmits at T1 doubling to T2 (T2 straight away once a provisional arrived),
// Timer F gives up at 64*T1, Timer K absorbs response retransmissions for T4.

import type { SipRequest, SipResponse } from '../message/index.js';
import type { Destination } from '../transport/types.js';
import type { ClientTransaction, ClientTransactionState, ClientTransactionUser } from './client.js';
import type { TransactionLayer } from './layer.js';
import { errorReason, synthesizeResponse } from './response.js';
import { isReliable } from './sip-transport.js';
import { startTimer, startTimerAt } from './timers.js';

function onTimerE(tx: NonInviteClientTransaction): void { tx.timerEFired(); }
function onTimerF(tx: NonInviteClientTransaction): void { tx.timerFFired(); }
function onTimerK(tx: NonInviteClientTransaction): void { tx.terminate(); }

export class NonInviteClientTransaction implements ClientTransaction {
  state: ClientTransactionState = 'trying';
  private readonly reliable: boolean;
  private timerE: NodeJS.Timeout | undefined;
  private timerF: NodeJS.Timeout | undefined;
  private timerK: NodeJS.Timeout | undefined;
  private intervalE: number;
  /** When the next Timer E copy is due (Date.now() clock). */
  private dueE = 0;
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
    this.intervalE = layer.timers.T1;
  }

  start(): void {
    this.send();
    if (!this.reliable) {
      this.dueE = Date.now() + this.intervalE;
      this.timerE = startTimerAt(onTimerE, this.dueE, this);
    }
    this.timerF = startTimer(onTimerF, 64 * this.layer.timers.T1, this);
  }

  timerEFired(): void {
    this.timerE = undefined;
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.send();
    const T2 = this.layer.timers.T2;
    this.intervalE = this.state === 'trying' ? Math.min(2 * this.intervalE, T2) : T2;
    this.dueE += this.intervalE;
    this.timerE = startTimerAt(onTimerE, this.dueE, this);
  }

  timerFFired(): void {
    this.timerF = undefined;
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    const tu = this.tu;
    this.terminate();
    tu.receiveResponse(synthesizeResponse(this.request, 408), this);
  }

  receiveResponse(res: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return; // Completed absorbs
    if (res.status < 200) {
      this.state = 'proceeding';
      this.tu.receiveResponse(res, this);
      return;
    }
    this.state = 'completed';
    this.clearRetransmit();
    if (this.reliable) {
      this.tu.receiveResponse(res, this);
      this.terminate();
    } else {
      this.timerK = startTimer(onTimerK, this.layer.timers.T4, this);
      this.tu.receiveResponse(res, this);
    }
  }

  private send(): void {
    this.layer.transport.send(this.request, this.destination).then(undefined, this.onSendError);
  }

  /** Ends a pending transaction as if the transport failed: the TU gets a local 503. */
  fail(err: unknown): void {
    this.transportError(err);
  }

  private transportError(err: unknown): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    const tu = this.tu;
    this.terminate();
    tu.receiveResponse(synthesizeResponse(this.request, 503, errorReason(err)), this);
  }

  private clearRetransmit(): void {
    if (this.timerE) { clearTimeout(this.timerE); this.timerE = undefined; }
    if (this.timerF) { clearTimeout(this.timerF); this.timerF = undefined; }
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearRetransmit();
    if (this.timerK) { clearTimeout(this.timerK); this.timerK = undefined; }
    this.layer.removeClient(this);
  }
}
