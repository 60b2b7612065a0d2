// How a call ended, in the words a billing system or an operator uses, from what the
// call record says: the SIP status it ended with, whether it was answered, and which
// leg hung up. One function, so the call record, the metrics and the admin API agree.

import type { CallRecord } from '../calls/call.js';

export type EndCause =
  /** Answered, then a BYE from either side. */
  | 'normal'
  /** The caller gave up before an answer (CANCEL). */
  | 'canceled'
  /** 486 Busy Here / 600 Busy Everywhere. */
  | 'busy'
  /** Nobody answered in time (ring or answer timeout, 408, 480). */
  | 'no-answer'
  /** Refused by the far end or by routing (403, 404, 488, 603 ...). */
  | 'rejected'
  /** Hung up through the admin API. */
  | 'admin'
  /** Ended by a gateway shutdown or drain deadline. */
  | 'shutdown'
  /** The gateway, a media worker or the far end failed (5xx, media or consent loss). */
  | 'failed';

/** Who hung up, from the caller's point of view. */
export type HangupParty = 'caller' | 'callee' | 'gateway';

export const ADMIN_HANGUP_REASON = 'Hung up by an administrator';
export const SHUTDOWN_REASON = 'Gateway shutting down';

export function hangupParty(record: Pick<CallRecord, 'endedBy'>): HangupParty {
  return record.endedBy === 'a' ? 'caller' : record.endedBy === 'b' ? 'callee' : 'gateway';
}

export function endCause(record: Pick<CallRecord, 'answeredAt' | 'endStatus' | 'endReason' | 'endedBy'>): EndCause {
  const status = record.endStatus ?? 500;
  if (record.endReason === ADMIN_HANGUP_REASON) return 'admin';
  if (record.endReason === SHUTDOWN_REASON) return 'shutdown';
  if (record.answeredAt !== undefined) {
    return (status >= 200 && status < 300) && record.endedBy !== undefined ? 'normal' : 'failed';
  }
  if (status === 487) return 'canceled';
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480) return 'no-answer';
  if (status >= 500 && status < 600) return 'failed';
  return 'rejected';
}
