// A message tap on the transport layer: every SIP message it sends or receives, as the
// exact bytes on the wire with the addresses they travelled between. What a capture
// agent (HEP, RFC-less but Homer's de facto protocol) or a monitor needs, without the
// stack knowing about either. Taps run synchronously on the send/receive path, so they
// must only copy or queue; an exception thrown by a tap is swallowed, never the stack's.

import type { SipRequest, SipResponse, TransportInfo } from '../message/index.js';

export interface TappedMessage {
  direction: 'received' | 'sent';
  /** The bytes as they left or arrived (one datagram, one framed message, one WebSocket message). */
  data: Buffer;
  /** The parsed message; absent for a received message that failed to parse, or a raw stateless reply. */
  message?: SipRequest | SipResponse;
  /** Protocol, local and remote address and port, flow id on connections. */
  transport: TransportInfo;
  /** Date.now() when it was handed to the socket or read from it. */
  at: number;
}

export type MessageTap = (m: TappedMessage) => void;
