// How a call ended, in the words a billing system or an operator uses: the call's own
// end cause (calls/call.ts CallEnd: hangup, canceled, rejected, no-answer, shutdown ...)
// with a busy callee told apart from other refusals, and who hung up seen from the
// caller. One function, so the call record, the metrics and the admin API agree.

import type { CallEnd } from '../calls/call.js';

/** Who hung up, from the caller's point of view. */
export type HangupParty = 'caller' | 'callee' | 'gateway';

/** The cause of an admin API hang-up (Call.end's cause). */
export const ADMIN_HANGUP_CAUSE = 'admin';
export const ADMIN_HANGUP_REASON = 'Hung up by an administrator';

export function hangupParty(end: Pick<CallEnd, 'endedBy'>): HangupParty {
  return end.endedBy === 'a' ? 'caller' : end.endedBy === 'b' ? 'callee' : 'gateway';
}

/** The call's cause, with 486 Busy Here and 600 Busy Everywhere as 'busy'. */
export function endCause(end: Pick<CallEnd, 'cause' | 'status'>): string {
  if (end.cause === 'rejected' && (end.status === 486 || end.status === 600)) return 'busy';
  return end.cause;
}
