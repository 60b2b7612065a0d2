// Building a response from a request (RFC 3261 §8.2.6.2): Via, From, To, Call-ID and
// CSeq are copied, and the UAS adds its To tag to every response but 100 Trying.

import { Headers, SipError, SipResponse, reasonPhrase } from '../message/index.js';
import type { SipRequest } from '../message/index.js';
import { tagOf } from '../parser/index.js';

export function createResponse(req: SipRequest, status: number, reason?: string, toTag?: string): SipResponse {
  const h = new Headers();
  for (const [name, value] of req.headers.lines()) {
    if (name === 'via' || name === 'from' || name === 'call-id' || name === 'cseq') h.append(name, value);
    else if (name === 'to') {
      h.append(name, toTag !== undefined && status > 100 && tagOf(value) === undefined ? value + ';tag=' + toTag : value);
    } else if (name === 'timestamp' && status === 100) h.append(name, value); // §8.2.6.1
  }
  return new SipResponse(status, reason ?? reasonPhrase(status), h);
}

/**
 * A response no peer sent: the transaction layer's answer to the TU on Timer B/F
 * expiry (408) or a transport failure (503), RFC 3261 §8.1.3.1 and §17.1.1.2.
 */
export function synthesizeResponse(req: SipRequest, status: number, reason?: string): SipResponse {
  const res = createResponse(req, status, reason);
  LOCAL_RESPONSES.add(res);
  return res;
}

const LOCAL_RESPONSES = new WeakSet<SipResponse>();

/** True for a response made up locally (timeout, transport error), not received. */
export function isLocalResponse(res: SipResponse): boolean {
  return LOCAL_RESPONSES.has(res);
}

/** The reason phrase for a failure: a SipError's own reason, else the message. */
export function errorReason(err: unknown): string {
  if (err instanceof SipError) return err.reason;
  return err instanceof Error ? err.message : 'Transport Error';
}
