// What server transactions share: the owner callback and the respond surface.

import type { SipRequest, SipResponse } from '../message/index.js';

export type ServerTransactionState = 'trying' | 'proceeding' | 'completed' | 'accepted' | 'confirmed' | 'terminated';

export interface ServerTransactionOwner {
  /**
   * The transaction ended without the exchange completing: Timer H fired (no ACK for
   * a non-2xx final, §17.2.1) or a response could not be sent (§17.2.4).
   */
  serverTransactionFailed(tx: ServerTransaction, reason: 'timeout' | 'transport'): void;
}

/** The CANCEL that matched an INVITE server transaction (§9.2) and the To tag its 200 carried. */
export interface CancelRecord {
  request: SipRequest;
  toTag: string;
}

export interface ServerTransaction {
  readonly key: string;
  readonly request: SipRequest;
  readonly state: ServerTransactionState;
  readonly lastResponse: SipResponse | undefined;
  /** True once a final response was handed to the transaction. */
  readonly finalSent: boolean;
  owner: ServerTransactionOwner | undefined;
  /** Set by the layer while the request is registered for merge detection (§8.2.2.2). */
  mergeKey: string | undefined;
  /**
   * INVITE only: the CANCEL that matched it. Kept on the transaction, which exists from
   * the INVITE's arrival, so a TU that takes the request over later (after an awaited
   * lookup) still learns of it.
   */
  cancel?: CancelRecord | undefined;
  /** Hands a response from the TU to the transaction; false if the state forbids it. */
  respond(res: SipResponse): boolean;
  /**
   * A final non-2xx response sent once and never retransmitted, the transaction ending
   * at once: what a stateless UAS would have sent (RFC 3261 §8.2.7), e.g. a challenge to
   * credentials that failed over UDP. False if the state forbids it.
   */
  respondOnce(res: SipResponse): boolean;
  receiveRetransmission(): void;
  terminate(): void;
}
