// What the transaction, dialog and UA layers need from the transport layer (RFC 3261
// §18). libs/sip's TransportLayer provides it; so does the in-memory loopback used by
// tests that drive timers with a mock clock.

import type { SipMessage, SipRequest, SipResponse, TransportInfo } from '../message/index.js';
import type { Destination, ListeningPoint, TransportProtocol } from '../transport/types.js';

export interface SipTransport {
  send(message: SipMessage, dest: Destination): Promise<TransportInfo>;
  /** Sends a response where RFC 3261 §18.2.2 / RFC 3581 say it goes. */
  sendResponse(response: SipResponse, request: SipRequest): Promise<TransportInfo>;
  /** The listening point Via and Contact name for `protocol` (the one bound to `address`, if given and there is one). */
  localPoint(protocol: TransportProtocol, address?: string): ListeningPoint | undefined;
  on(event: 'message', listener: (message: SipMessage) => void): unknown;
  on(event: 'flowClosed', listener: (flowId: string) => void): unknown;
  off(event: 'message', listener: (message: SipMessage) => void): unknown;
  off(event: 'flowClosed', listener: (flowId: string) => void): unknown;
}

/** RFC 3261 §17.1.1.2: timers that only cover loss are zero on reliable transports. */
export function isReliable(protocol: string): boolean {
  return protocol !== 'udp';
}
