// The UA internals that dialogs and request objects call back into (implemented by
// UserAgent); kept as an interface so those modules do not import UserAgent itself.

import type { SipRequest, SipResponse } from '../message/index.js';
import type { TransactionLayer } from '../transaction/layer.js';
import type { SipTransport } from '../transaction/sip-transport.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { Destination, TransportProtocol } from '../transport/types.js';
import type { Dialog } from '../dialog/dialog.js';
import type { UserCredentials, DigestClient } from '../auth/index.js';

export type HeaderValues = Record<string, string | string[]>;

/** What every outgoing message may carry beyond what the stack sets. */
export interface MessageOptions {
  headers?: HeaderValues;
  body?: string | Buffer;
  contentType?: string;
}

export interface SendOptions extends MessageOptions {
  /** Answer one 401/407 per realm with digest credentials (RFC 3261 §22.2). */
  credentials?: UserCredentials | DigestClient;
  /** INVITE: ACK a 2xx automatically (default true); false -> call dialog.ack(). */
  autoAck?: boolean;
  /**
   * INVITE: what the PRACK of a reliable provisional carries (RFC 3262 §5: the answer
   * when the provisional carried an offer). Default: an empty PRACK.
   */
  prack?: (res: SipResponse) => MessageOptions | undefined | Promise<MessageOptions | undefined>;
}

export interface UaCore {
  readonly layer: TransactionLayer;
  readonly transport: SipTransport;
  readonly timers: TimerSettings;
  readonly userAgentName: string | undefined;
  /** Option tags this UA handles (Supported; a Require naming others gets 420). */
  readonly supported: ReadonlySet<string>;
  /** A Via value for a request leaving over `protocol` with `branch` (from `localAddress`, when it is one of ours). */
  via(protocol: TransportProtocol, branch: string, localAddress?: string): string;
  /** This UA's Contact value for `protocol` (on `localAddress`, when it is one of ours). */
  contact(protocol: TransportProtocol, localAddress?: string): string;
  addDialog(d: Dialog): void;
  removeDialog(d: Dialog): void;
  /** Dialogs keep the flow they were set up on (or were pinned to); fall back to the URI otherwise. */
  destinationFor(nextHop: string, flow: Destination | undefined): Destination;
  sendStateless(req: SipRequest, dest: Destination): void;
}

/** Adds the caller's headers and body to a message (after the stack's own headers). */
export function applyMessageOptions(msg: { headers: { append(n: string, v: string): unknown; set(n: string, v: string): unknown }; setBody(b: Buffer | string, ct?: string): unknown }, opts: MessageOptions | undefined): void {
  if (!opts) return;
  if (opts.headers) {
    for (const name of Object.keys(opts.headers)) {
      const v = opts.headers[name]!;
      if (Array.isArray(v)) for (const one of v) msg.headers.append(name, one);
      else msg.headers.set(name, v);
    }
  }
  if (opts.body !== undefined) msg.setBody(opts.body, opts.contentType);
  else if (opts.contentType !== undefined) msg.headers.set('content-type', opts.contentType);
}
