// The SIP message model (RFC 3261 §7): a request or a response, its header fields
// and its body. Plain data with raw header values; structured views come from the
// parser module's header parsers (parseVia, parseNameAddr, parseCSeq ...).

import { Headers, displayName } from './headers.js';

const EMPTY = Buffer.alloc(0);

/** Where a message came from or goes to, at the transport layer (RFC 3261 §18). */
export interface TransportInfo {
  /** Lowercase transport name: udp, tcp, tls, ws, wss. */
  readonly protocol: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The connection (flow) the message arrived on, for connection-oriented transports. */
  readonly flowId?: string;
  /**
   * TLS only: the names (subjectAltName DNS entries, then the subject CN) of a peer
   * certificate that verified against the listening point's trust anchors; absent when
   * the peer sent none or it did not verify.
   */
  readonly tlsPeerNames?: readonly string[];
}

abstract class SipMessageBase {
  headers: Headers;
  body: Buffer;
  /** Set by the transport layer on received messages. */
  transport?: TransportInfo;

  constructor(headers?: Headers, body?: Buffer) {
    this.headers = headers ?? new Headers();
    this.body = body ?? EMPTY;
  }

  get callId(): string {
    return this.headers.get('call-id') ?? '';
  }

  /** Sets the body and its Content-Type in one step. */
  setBody(body: Buffer | string, contentType?: string): this {
    this.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (contentType) this.headers.set('content-type', contentType);
    else if (this.body.length === 0) this.headers.delete('content-type');
    return this;
  }

  protected abstract startLine(): string;

  /**
   * Serializes with a Content-Length equal to the body length (RFC 3261 §18.3:
   * the value is always recomputed, never trusted from the model).
   */
  toBuffer(): Buffer {
    let head = this.startLine() + '\r\n';
    for (const [name, value] of this.headers.lines()) {
      if (name === 'content-length') continue;
      head += displayName(name) + ': ' + value + '\r\n';
    }
    head += 'Content-Length: ' + this.body.length + '\r\n\r\n';
    if (this.body.length === 0) return Buffer.from(head, 'utf8');
    const headLen = Buffer.byteLength(head, 'utf8');
    const out = Buffer.allocUnsafe(headLen + this.body.length);
    out.write(head, 0, 'utf8');
    this.body.copy(out, headLen);
    return out;
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}

export class SipRequest extends SipMessageBase {
  readonly isRequest = true as const;
  method: string;
  /** Request-URI as text; parse with parseUri() when its parts are needed. */
  uri: string;

  constructor(method: string, uri: string, headers?: Headers, body?: Buffer) {
    super(headers, body);
    this.method = method;
    this.uri = uri;
  }

  protected startLine(): string {
    return this.method + ' ' + this.uri + ' SIP/2.0';
  }

  clone(): SipRequest {
    const r = new SipRequest(this.method, this.uri, this.headers.clone(), this.body);
    if (this.transport) r.transport = this.transport;
    return r;
  }
}

export class SipResponse extends SipMessageBase {
  readonly isRequest = false as const;
  status: number;
  reason: string;

  constructor(status: number, reason: string, headers?: Headers, body?: Buffer) {
    super(headers, body);
    this.status = status;
    this.reason = reason;
  }

  protected startLine(): string {
    return 'SIP/2.0 ' + this.status + ' ' + wireReason(this.reason);
  }

  clone(): SipResponse {
    const r = new SipResponse(this.status, this.reason, this.headers.clone(), this.body);
    if (this.transport) r.transport = this.transport;
    return r;
  }
}

export type SipMessage = SipRequest | SipResponse;

/** Control characters a Reason-Phrase may not hold (RFC 3261 §25.1: TEXT-UTF8 and HTAB). */
const REASON_CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;
/** Longest Reason-Phrase written; a fault's reason may quote what the sender sent. */
const MAX_REASON = 200;

/**
 * The reason phrase as written on the wire: a reason naming a fault may quote the
 * sender's bytes (a malformed SDP line), and a bare CR or LF there would end the status
 * line (an unparseable response at best, a forged header field at worst); a long quote
 * would make the answer larger than the request that earned it.
 */
function wireReason(reason: string): string {
  const clean = reason.replace(REASON_CONTROL, ' ');
  return clean.length <= MAX_REASON ? clean : clean.slice(0, MAX_REASON - 3) + '...';
}

/** Default reason phrases (RFC 3261 §21 and extensions). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued',
  183: 'Session Progress', 199: 'Early Dialog Terminated',
  200: 'OK', 202: 'Accepted', 204: 'No Notification',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily',
  305: 'Use Proxy', 380: 'Alternative Service',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
  407: 'Proxy Authentication Required', 408: 'Request Timeout', 410: 'Gone',
  412: 'Conditional Request Failed', 413: 'Request Entity Too Large',
  414: 'Request-URI Too Long', 415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme', 417: 'Unknown Resource-Priority', 420: 'Bad Extension',
  421: 'Extension Required', 422: 'Session Interval Too Small', 423: 'Interval Too Brief',
  428: 'Use Identity Header', 429: 'Provide Referrer Identity', 430: 'Flow Failed',
  433: 'Anonymity Disallowed', 439: 'First Hop Lacks Outbound Support',
  480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected', 483: 'Too Many Hops', 484: 'Address Incomplete', 485: 'Ambiguous',
  486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  489: 'Bad Event', 491: 'Request Pending', 493: 'Undecipherable',
  494: 'Security Agreement Required',
  500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Server Time-out', 505: 'Version Not Supported',
  513: 'Message Too Large', 580: 'Precondition Failure',
  600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};

export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? (status < 200 ? 'Trying' : status < 300 ? 'OK' : 'Error');
}

/**
 * A failure that maps to a SIP status: thrown by any layer, turned into a response
 * by whoever owns the server transaction.
 */
export class SipError extends Error {
  readonly status: number;
  readonly reason: string;
  /**
   * Header fields the response must carry to be useful (Allow with 405 and 501, Accept
   * with 415 and 406, Unsupported with 420, Retry-After with 503), added by whoever
   * answers with this error.
   */
  readonly headers: Readonly<Record<string, string>> | undefined;
  constructor(status: number, reason?: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(`${status} ${reason ?? reasonPhrase(status)}`, options);
    this.name = 'SipError';
    this.status = status;
    this.reason = reason ?? reasonPhrase(status);
    this.headers = options?.headers;
  }
}
