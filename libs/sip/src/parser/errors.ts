// The one error type every parser in this module throws. It is a SipError, so
// whoever owns the server transaction can answer with its status and reason.

import { SipError } from '../message/message.js';
import type { SipRequest, SipResponse } from '../message/message.js';

export class SipParseError extends SipError {
  /**
   * What could be recovered of the message (start line and the header fields that
   * parsed), so a UAS can still build the error response: RFC 3261 §8.2.6 needs
   * Via, From, To, Call-ID and CSeq copied from the request.
   */
  readonly partial?: SipRequest | SipResponse;

  constructor(status: number, reason: string, partial?: SipRequest | SipResponse) {
    super(status, reason);
    this.name = 'SipParseError';
    if (partial) this.partial = partial;
  }
}

/** 400 with a reason phrase naming the fault, e.g. "Bad Request: malformed Via". */
export function badRequest(fault: string, partial?: SipRequest | SipResponse): SipParseError {
  return new SipParseError(400, 'Bad Request: ' + fault, partial);
}
