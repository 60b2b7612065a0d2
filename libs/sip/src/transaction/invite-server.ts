// The INVITE server transaction (RFC 3261 §17.2.1, Figure 7) with RFC 6026 §8.7:
// a 2xx moves it to Accepted (Timer L) where the TU's own 2xx retransmissions pass
// through and ACKs go to the TU. The transaction never retransmits a 2xx itself: the
// UAS core does (§13.3.1.4), because only it can end the dialog when no ACK comes.

import type { SipRequest, SipResponse } from '../message/index.js';
import type { TransactionLayer } from './layer.js';
import { createResponse } from './response.js';
import type { CancelRecord, ServerTransaction, ServerTransactionOwner, ServerTransactionState } from './server.js';
import { isReliable } from './sip-transport.js';
import { startTimer, startTimerAt } from './timers.js';

/** §17.2.1: a 100 Trying goes out if the TU has not answered within 200 ms. */
export const TRYING_DELAY_MS = 200;

function onTrying(tx: InviteServerTransaction): void { tx.tryingTimerFired(); }
function onTimerG(tx: InviteServerTransaction): void { tx.timerGFired(); }
function onTimerH(tx: InviteServerTransaction): void { tx.timerHFired(); }
function onTimerIL(tx: InviteServerTransaction): void { tx.terminate(); }

export class InviteServerTransaction implements ServerTransaction {
  state: ServerTransactionState = 'proceeding';
  lastResponse: SipResponse | undefined;
  owner: ServerTransactionOwner | undefined;
  mergeKey: string | undefined;
  cancel: CancelRecord | undefined;
  private readonly reliable: boolean;
  private timerTrying: NodeJS.Timeout | undefined;
  private timerG: NodeJS.Timeout | undefined;
  private timerH: NodeJS.Timeout | undefined;
  /** Timer I (Confirmed) or Timer L (Accepted). */
  private timerEnd: NodeJS.Timeout | undefined;
  private intervalG: number;
  /** When the next Timer G copy is due (Date.now() clock). */
  private dueG = 0;
  private readonly onSendError = (): void => this.transportError();

  constructor(
    private readonly layer: TransactionLayer,
    readonly request: SipRequest,
    readonly key: string,
  ) {
    this.reliable = isReliable(request.transport?.protocol ?? 'udp');
    this.intervalG = layer.timers.T1;
    this.timerTrying = startTimer(onTrying, TRYING_DELAY_MS, this);
  }

  get finalSent(): boolean {
    return this.state !== 'proceeding';
  }

  tryingTimerFired(): void {
    this.timerTrying = undefined;
    if (this.state === 'proceeding' && this.lastResponse === undefined) this.respond(createResponse(this.request, 100));
  }

  respond(res: SipResponse): boolean {
    const s = res.status;
    if (this.state === 'accepted') {
      // RFC 6026 §8.7: 2xx retransmissions from the TU go out; nothing else may.
      if (s < 200 || s >= 300) return false;
      this.send(res);
      return true;
    }
    if (this.state !== 'proceeding') return false;
    if (this.timerTrying) { clearTimeout(this.timerTrying); this.timerTrying = undefined; }
    this.lastResponse = res;
    if (s < 200) {
      this.send(res);
    } else if (s < 300) {
      this.state = 'accepted';
      this.timerEnd = startTimer(onTimerIL, 64 * this.layer.timers.T1, this);
      this.send(res);
    } else {
      this.state = 'completed';
      this.send(res);
      if (!this.reliable) {
        this.dueG = Date.now() + this.intervalG;
        this.timerG = startTimerAt(onTimerG, this.dueG, this);
      }
      this.timerH = startTimer(onTimerH, 64 * this.layer.timers.T1, this);
    }
    return true;
  }

  respondOnce(res: SipResponse): boolean {
    if (this.state !== 'proceeding' || res.status < 300) return false;
    this.lastResponse = res;
    this.send(res);
    this.terminate();
    return true;
  }

  receiveRetransmission(): void {
    // Proceeding: repeat the last provisional; Completed: the final; Accepted and
    // Confirmed absorb it (RFC 6026 §8.7).
    if ((this.state === 'proceeding' || this.state === 'completed') && this.lastResponse) this.send(this.lastResponse);
  }

  /** An ACK that matched this transaction (same branch: the ACK for a non-2xx). */
  receiveAck(ack: SipRequest): void {
    if (this.state === 'completed') {
      this.state = 'confirmed';
      this.clearRetransmit();
      if (this.reliable) this.terminate();
      else this.timerEnd = startTimer(onTimerIL, this.layer.timers.T4, this);
    } else if (this.state === 'accepted') {
      this.layer.tu.receiveRequest(ack, undefined);
    }
  }

  timerGFired(): void {
    this.timerG = undefined;
    if (this.state !== 'completed' || !this.lastResponse) return;
    this.send(this.lastResponse);
    this.intervalG = Math.min(2 * this.intervalG, this.layer.timers.T2);
    this.dueG += this.intervalG;
    this.timerG = startTimerAt(onTimerG, this.dueG, this);
  }

  timerHFired(): void {
    this.timerH = undefined;
    if (this.state !== 'completed') return;
    const owner = this.owner;
    this.terminate();
    owner?.serverTransactionFailed(this, 'timeout');
  }

  private send(res: SipResponse): void {
    this.layer.transport.sendResponse(res, this.request).then(undefined, this.onSendError);
  }

  private transportError(): void {
    if (this.state === 'terminated') return;
    const owner = this.owner;
    this.terminate();
    owner?.serverTransactionFailed(this, 'transport');
  }

  private clearRetransmit(): void {
    if (this.timerG) { clearTimeout(this.timerG); this.timerG = undefined; }
    if (this.timerH) { clearTimeout(this.timerH); this.timerH = undefined; }
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearRetransmit();
    if (this.timerTrying) { clearTimeout(this.timerTrying); this.timerTrying = undefined; }
    if (this.timerEnd) { clearTimeout(this.timerEnd); this.timerEnd = undefined; }
    this.layer.removeServer(this);
  }
}
