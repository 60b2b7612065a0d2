// A call's states and the only moves between them (in the manner of SIP.js's
// stateTransition(): a move the table does not list throws). Mid-call activity (hold,
// re-INVITE, transfer) is not a call state: the call stays 'answered' and reports it as
// in-dialog activity; only the way to the answer and the end are states.

export type CallState = 'routing' | 'proceeding' | 'early' | 'answered' | 'ended';

/**
 * routing: the INVITE is being authenticated and routed, media bound; proceeding: the
 * B leg's INVITE is out; early: a provisional (with or without early media) was relayed;
 * answered: both dialogs are confirmed; ended: end() ran (terminal).
 */
const MOVES: Readonly<Record<CallState, readonly CallState[]>> = {
  routing: ['proceeding', 'ended'],
  proceeding: ['early', 'answered', 'ended'],
  early: ['answered', 'ended'],
  answered: ['ended'],
  ended: [],
};

export class CallStateError extends Error {
  constructor(readonly from: CallState, readonly to: CallState) {
    super(`invalid call state change ${from} -> ${to}`);
    this.name = 'CallStateError';
  }
}

/** True when `to` is a legal move from `from`. */
export function canMove(from: CallState, to: CallState): boolean {
  return MOVES[from].includes(to);
}

/** Returns `to` if the move is legal; throws CallStateError otherwise. */
export function checkMove(from: CallState, to: CallState): CallState {
  if (!canMove(from, to)) throw new CallStateError(from, to);
  return to;
}
