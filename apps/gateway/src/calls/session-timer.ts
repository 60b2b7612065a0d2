// Session timers (RFC 4028), on each leg of a call on its own: the interval and who
// refreshes are negotiated per dialog; a refresh on one leg (JsSIP's offerless UPDATE at
// half the interval, a re-INVITE) is answered by the gateway and never reaches the other
// leg; where the gateway is the refresher it refreshes itself (UPDATE when the peer
// announced it, else a re-INVITE with the SDP in force, RFC 4028 §7.4); a session that
// is not refreshed in time ends cleanly: BYE on both legs, logged with cause
// 'session-expired' (§10).

import { type Dialog, type HeaderValues, type IncomingRequest, type SipRequest, type SipResponse } from '@trapezoid/sip';
import type { Call, LegSide } from './call.js';
import { allowsUpdate } from './capabilities.js';
import type { InDialogHooks } from './in-dialog.js';

/** RFC 4028 §4: the smallest interval anyone may ask for. */
export const MIN_SE = 90;

export interface SessionTimerOptions {
  /** Interval we ask for on legs we call, and offer a caller that supports timers but asked none (s). */
  expires: number;
  /** Smaller intervals in a request are refused 422 with this Min-SE (RFC 4028 §5). */
  minExpires: number;
}

interface LegTimer {
  /** Seconds; the session expires this long after the last refresh. */
  interval: number;
  /** True when the gateway refreshes this leg, false when its party does. */
  ours: boolean;
  timer: NodeJS.Timeout | null;
  /** Our refresh in flight. */
  refreshing: boolean;
}

/** Session-Expires: delta-seconds *(;se-params), RFC 4028 §4. */
function parseSessionExpires(msg: SipRequest | SipResponse): { interval: number; refresher?: 'uac' | 'uas' } | null {
  const v = msg.headers.get('session-expires');
  if (v === undefined) return null;
  const m = /^\s*(\d+)\s*(.*)$/.exec(v);
  if (!m) return null;
  const r = /;\s*refresher\s*=\s*(uac|uas)\b/i.exec(m[2]!);
  return { interval: Number(m[1]), ...(r ? { refresher: r[1]!.toLowerCase() as 'uac' | 'uas' } : {}) };
}

function supportsTimer(msg: SipRequest | SipResponse): boolean {
  return [...msg.headers.getAll('supported'), ...msg.headers.getAll('require')].some((t) => t.trim().toLowerCase() === 'timer');
}

export class SessionTimers implements InDialogHooks {
  private readonly legs: Partial<Record<LegSide, LegTimer>> = {};
  private started = false;

  constructor(private readonly call: Call, private readonly opts: SessionTimerOptions) {
    call.onEnd(() => this.stop());
  }

  /**
   * The INVITE from the caller (leg a, we are its UAS, RFC 4028 §9): an interval below
   * our minimum is to be refused 422 with Min-SE (returned, with the headers); one that
   * is asked for is accepted with the refresher it names, or the caller if it supports
   * timers; a caller that knows no timers gets none.
   */
  fromCaller(req: SipRequest): { status: 422; headers: HeaderValues } | null {
    const se = parseSessionExpires(req);
    const supported = supportsTimer(req);
    if (se && se.interval < this.opts.minExpires) return { status: 422, headers: { 'Min-SE': String(this.opts.minExpires) } };
    if (!se && !supported) return null;
    const interval = se?.interval ?? this.opts.expires;
    // §9: a refresher the request names stands; else the UAC when it supports timers.
    const refresher = se?.refresher ?? (supported ? 'uac' : 'uas');
    this.legs.a = { interval, ours: refresher === 'uas', timer: null, refreshing: false };
    return null;
  }

  /** Headers for the INVITE to the called party (leg b): our interval, the UAS picks the refresher. */
  calleeHeaders(): HeaderValues {
    return { 'Session-Expires': String(this.opts.expires), 'Min-SE': String(Math.min(this.opts.minExpires, this.opts.expires)) };
  }

  /** The called party's 2xx (RFC 4028 §7.2): a timer only when it says Session-Expires. */
  fromCallee(res: SipResponse): void {
    const se = parseSessionExpires(res);
    if (!se) return;
    this.legs.b = { interval: se.interval, ours: se.refresher !== 'uas', timer: null, refreshing: false };
  }

  /** Headers of our answer to the caller's INVITE. */
  callerAnswerHeaders(): HeaderValues {
    const a = this.legs.a;
    return a ? this.responseHeaders(a) : {};
  }

  /** The call is answered: both legs' clocks start. */
  start(): void {
    this.started = true;
    for (const side of ['a', 'b'] as const) this.arm(side);
  }

  stop(): void {
    this.started = false;
    for (const l of Object.values(this.legs)) if (l?.timer) clearTimeout(l.timer);
  }

  /** Describes the legs' timers (for logs and the snapshot). */
  describe(): Partial<Record<LegSide, { interval: number; refresher: 'gateway' | 'peer' }>> {
    const out: Partial<Record<LegSide, { interval: number; refresher: 'gateway' | 'peer' }>> = {};
    for (const side of ['a', 'b'] as const) {
      const l = this.legs[side];
      if (l) out[side] = { interval: l.interval, refresher: l.ours ? 'gateway' : 'peer' };
    }
    return out;
  }

  // ---- InDialogHooks: refreshes in either direction

  /** A 2xx to the party's re-INVITE/UPDATE on `side` is a refresh (§9): its headers say the outcome. */
  answering(side: LegSide, req: IncomingRequest): HeaderValues {
    const se = parseSessionExpires(req.message);
    let l = this.legs[side];
    if (se) {
      if (!l) l = this.legs[side] = { interval: se.interval, ours: false, timer: null, refreshing: false };
      l.interval = Math.max(se.interval, Math.min(l.interval, this.opts.minExpires));
      // The requester says who refreshes from now on ('uac' = itself).
      if (se.refresher) l.ours = se.refresher === 'uas';
    }
    if (!l) return {};
    this.arm(side);
    return this.responseHeaders(l, req.message);
  }

  /** Our re-INVITE/UPDATE on `side` refreshes that leg too (§7.4): it says the interval and refresher. */
  requesting(side: LegSide): HeaderValues {
    const l = this.legs[side];
    if (!l) return {};
    return { 'Session-Expires': `${l.interval};refresher=${l.ours ? 'uac' : 'uas'}` };
  }

  answered(side: LegSide, res: SipResponse): void {
    const l = this.legs[side];
    if (!l) return;
    const se = parseSessionExpires(res);
    if (se) {
      l.interval = se.interval;
      if (se.refresher) l.ours = se.refresher === 'uac';
    }
    this.arm(side);
  }

  private responseHeaders(l: LegTimer, req?: SipRequest): HeaderValues {
    const refresher = l.ours ? 'uas' : 'uac';
    const h: HeaderValues = { 'Session-Expires': `${l.interval};refresher=${refresher}` };
    // §9: Require: timer only toward a UAC that supports it (it must refresh or expect it).
    if (refresher === 'uac' || (req && supportsTimer(req))) h.Require = 'timer';
    return h;
  }

  /** (Re)starts a leg's clock: our refresh at half the interval, or the expiry check (§10). */
  private arm(side: LegSide): void {
    const l = this.legs[side];
    if (!l || !this.started) return;
    if (l.timer) clearTimeout(l.timer);
    const ms = l.interval * 1000;
    if (l.ours) {
      l.timer = setTimeout(() => void this.refresh(side), ms / 2);
    } else {
      // §10: the non-refresher gives up min(32, interval/3) before the end.
      l.timer = setTimeout(() => this.expire(side), ms - Math.min(32_000, ms / 3));
    }
    l.timer.unref();
  }

  private async refresh(side: LegSide): Promise<void> {
    const l = this.legs[side];
    const dialog: Dialog | null = this.call.dialog(side);
    const sdp = this.call.sdp;
    if (!l || !dialog || dialog.terminated || this.call.ended) return;
    // Expiry stays armed while the refresh is out: no answer in time ends the session.
    l.timer = setTimeout(() => this.expire(side), (l.interval * 1000) / 2);
    l.timer.unref();
    if (sdp?.busy) return; // an offer on its way to this leg refreshes it when answered
    const useUpdate = allowsUpdate(this.call.peers, side);
    const body = useUpdate ? undefined : sdp?.legs[side].local ?? undefined;
    l.refreshing = true;
    const out = dialog.request(useUpdate ? 'UPDATE' : 'INVITE', {
      headers: { 'Session-Expires': `${l.interval};refresher=uac`, Supported: 'timer' },
      ...(body ? { body, contentType: 'application/sdp' } : {}),
    });
    const res = await out.final;
    l.refreshing = false;
    this.call.inDialog({ side, method: out.method, status: res.status, relayed: false, purpose: 'refresh' });
    if (res.status >= 200 && res.status < 300) {
      this.answered(side, res);
      return;
    }
    // §10: a refresh answered 408/481 (or not at all) ends the session; libs/sip ended the
    // dialog for those already. Other refusals leave it to expire.
    if (res.status === 408 || res.status === 481) this.expire(side, `refresh answered ${res.status}`);
  }

  private expire(side: LegSide, why = 'not refreshed in time'): void {
    if (this.call.ended) return;
    this.call.log.warn(`session timer on leg ${side} expired`, { event: 'session-expired', leg: side, why, timers: this.describe() });
    void this.call.end(408, `Session timer expired on leg ${side} (${why})`, 'gateway', 'session-expired');
  }
}
