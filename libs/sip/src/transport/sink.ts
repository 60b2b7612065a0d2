// What a flow hands upward: the transport layer implements this once for every
// connection-oriented transport (TCP, TLS, WS, WSS).

import type { Flow } from './flow.js';

export interface FlowSink {
  /** One complete SIP message: framed from a byte stream, or one WebSocket message. */
  flowMessage(data: Buffer, flow: Flow): void;
  /**
   * The byte stream cannot be framed; the flow closes right after this call.
   * `data` is the unframeable rest of the stream, for recovering headers to answer.
   */
  flowFramingError(err: unknown, flow: Flow, data: Buffer): void;
  /** The connection is gone (either side closed it, or it failed). */
  flowClosed(flow: Flow): void;
}
