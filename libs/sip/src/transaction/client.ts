// What client transactions share: the TU callback and the send path.

import type { SipRequest, SipResponse } from '../message/index.js';
import type { Destination } from '../transport/types.js';

export interface ClientTransactionUser {
  /**
   * Every response the TU must see (§17.1.1.2, §17.1.2.2), including 2xx
   * retransmissions in the Accepted state (RFC 6026 §8.4) and the locally made 408
   * (Timer B/F) or 503 (transport error): see isLocalResponse().
   */
  receiveResponse(response: SipResponse, tx: ClientTransaction): void;
}

export type ClientTransactionState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

export interface ClientTransaction {
  readonly key: string;
  readonly branch: string;
  readonly request: SipRequest;
  readonly destination: Destination;
  readonly state: ClientTransactionState;
  tu: ClientTransactionUser;
  start(): void;
  receiveResponse(res: SipResponse): void;
  terminate(): void;
  /** Ends it now; if still pending, the TU gets a local 503 carrying the reason. */
  fail(err: unknown): void;
}
