// RFC 3261 §17.1.1.1 and Table 4: the timer base values every transaction timer is
// derived from. T1 is the round-trip estimate, T2 the cap on non-INVITE request and
// INVITE response retransmit intervals, T4 the time a message may stay in the network.

export interface TimerSettings {
  T1: number;
  T2: number;
  T4: number;
}

export const DEFAULT_TIMERS: Readonly<TimerSettings> = { T1: 500, T2: 4000, T4: 5000 };

export function timerSettings(partial?: Partial<TimerSettings>): TimerSettings {
  return {
    T1: partial?.T1 ?? DEFAULT_TIMERS.T1,
    T2: partial?.T2 ?? DEFAULT_TIMERS.T2,
    T4: partial?.T4 ?? DEFAULT_TIMERS.T4,
  };
}

/**
 * Starts a timer that calls `fn(target)`. Passing the transaction as the timer's
 * argument (instead of a closure over it) keeps a transaction down to a handful of
 * fields; unref'd so an idle stack never holds the process open.
 */
export function startTimer<T>(fn: (target: T) => void, ms: number, target: T): NodeJS.Timeout {
  const t = setTimeout(fn, ms, target);
  t.unref();
  return t;
}

/**
 * Starts a retransmission timer (A, E, G) due at `dueAt` (Date.now() clock) rather than
 * an interval after the previous firing: on a busy event loop one late firing then does
 * not push every later copy back, and the copies due before Timer B/F/H still go out.
 */
export function startTimerAt<T>(fn: (target: T) => void, dueAt: number, target: T): NodeJS.Timeout {
  return startTimer(fn, Math.max(0, dueAt - Date.now()), target);
}
