// The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8): retransmitted
// requests get the last response again; Timer J keeps the final for 64*T1 on
// unreliable transports. A TU that never answers would pin the transaction, so after
// 64*T1 (when the client's Timer F has long given up) it is dropped.

import type { SipRequest, SipResponse } from '../message/index.js';
import type { TransactionLayer } from './layer.js';
import type { ServerTransaction, ServerTransactionOwner, ServerTransactionState } from './server.js';
import { isReliable } from './sip-transport.js';
import { startTimer } from './timers.js';

function onTimerJ(tx: NonInviteServerTransaction): void { tx.terminate(); }
function onUnanswered(tx: NonInviteServerTransaction): void { tx.unansweredFired(); }

export class NonInviteServerTransaction implements ServerTransaction {
  state: ServerTransactionState = 'trying';
  lastResponse: SipResponse | undefined;
  owner: ServerTransactionOwner | undefined;
  mergeKey: string | undefined;
  private readonly reliable: boolean;
  private timer: NodeJS.Timeout | undefined;
  private readonly onSendError = (): void => this.transportError();

  constructor(
    private readonly layer: TransactionLayer,
    readonly request: SipRequest,
    readonly key: string,
  ) {
    this.reliable = isReliable(request.transport?.protocol ?? 'udp');
    this.timer = startTimer(onUnanswered, 64 * layer.timers.T1, this);
  }

  get finalSent(): boolean {
    return this.state === 'completed' || this.state === 'terminated';
  }

  respond(res: SipResponse): boolean {
    if (this.state !== 'trying' && this.state !== 'proceeding') return false;
    this.lastResponse = res;
    if (res.status < 200) {
      this.state = 'proceeding';
      this.send(res);
      return true;
    }
    this.state = 'completed';
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    this.send(res);
    if (this.reliable) this.terminate();
    else this.timer = startTimer(onTimerJ, 64 * this.layer.timers.T1, this);
    return true;
  }

  respondOnce(res: SipResponse): boolean {
    if ((this.state !== 'trying' && this.state !== 'proceeding') || res.status < 300) return false;
    this.lastResponse = res;
    this.send(res);
    this.terminate();
    return true;
  }

  receiveRetransmission(): void {
    if (this.lastResponse && this.state !== 'terminated') this.send(this.lastResponse);
  }

  unansweredFired(): void {
    this.timer = undefined;
    if (this.state === 'trying' || this.state === 'proceeding') {
      const owner = this.owner;
      this.terminate();
      owner?.serverTransactionFailed(this, 'timeout');
    }
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

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    this.layer.removeServer(this);
  }
}
