// The B2BUA primitive, used by both call directions (in the spirit of drachtio-srf's
// createB2BUA): the A leg's INVITE is carried to the B leg (one trunk, or an agent's
// registered contacts rung in parallel), provisional responses are passed back (early
// media mapped through libs/sdp and the media bridge), failures are passed back with the
// status that does not mislead the caller, the first 2xx is answered to A with the
// mapped SDP, and the two dialogs are joined in the Call, which from then on owns every
// in-dialog request and every way the call can end.
//
//   A (caller) --INVITE--> gateway --INVITE--> B (one or more branches)
//             <--18x/SDP--        <--18x/SDP--   (each mapped; the latest early answer wins)
//             <--200/SDP--        <--200/SDP--   (first 2xx wins; later ones are hung up)
//             ---ACK------>        ---ACK----->  linked: the Call carries on (in-dialog.ts)

import {
  SipError, tagOf,
  type Dialog, type HeaderValues, type IncomingRequest, type SipResponse,
} from '@trapezoid/sip';
import { SdpError, type CodecPolicy } from '@trapezoid/sdp';
import type { Call } from './call.js';
import { bindCallMedia, failSetup, type CallContext } from './context.js';
import { OfferAnswer, type LegProfile } from './offer-answer.js';
import { capabilityHeaders, peerCapabilities } from './capabilities.js';
import { InDialog, hasSdp } from './in-dialog.js';
import { SessionTimers, type SessionTimerOptions } from './session-timer.js';
import { DtmfInfo, type DtmfPolicy } from './dtmf.js';
import { Transfer, type TransferDeps } from './transfer.js';

/**
 * One B leg INVITE as the primitive sees it: a libs/sip ClientRequest, or anything that
 * behaves like one (the trunk failover's TrunkLeg, which tries trunk after trunk).
 */
export interface BranchRequest {
  /** The final response (rejects only when nothing could be sent: a SipError with its status). */
  readonly final: Promise<SipResponse>;
  /** The confirmed dialog once a 2xx arrived. */
  readonly dialog: Dialog | undefined;
  cancel(): void;
  on(event: 'provisional', listener: (res: SipResponse) => void): unknown;
  off?(event: 'provisional', listener: (res: SipResponse) => void): unknown;
  /**
   * Resolves once the INVITE has left (a branch that first locates its target sends it
   * later). The call moves to 'proceeding' then, with its B leg's Call-ID known.
   */
  readonly sent?: Promise<void>;
}

export interface B2buaOptions {
  call: Call;
  /** The A leg's INVITE. Its CANCEL ends the call with 487. */
  req: IncomingRequest;
  /** The SDP profile of each leg ('webrtc' for the browser, 'rtp' for the trunk). */
  profiles: Record<'a' | 'b', LegProfile>;
  /** The trunk's codec policy. */
  policy: CodecPolicy;
  /** Write RFC 2543 hold (c=0.0.0.0) toward the trunk (old equipment). */
  legacyHold?: boolean;
  /**
   * Sends the B leg INVITE(s) with our offer `sdp` and `headers`: one (a trunk) or
   * several rung at once (an agent's contacts; first 2xx wins, RFC 3261 §16.7 style).
   */
  send: (sdp: string, headers: HeaderValues) => BranchRequest[];
  /** Seconds before branches still ringing are cancelled; A then gets 480. */
  timeoutSeconds: number;
  /** Log event and message when that happens. */
  timeoutEvent: string;
  /** Extra headers for the provisional and final responses to A. */
  answerHeaders?: (bFinal: SipResponse | null) => HeaderValues;
  /** Session timers (RFC 4028) on each leg; none when absent. */
  sessionTimers?: SessionTimerOptions;
  /** What becomes of DTMF sent as SIP INFO; default RFC 4733 toward the trunk, INFO toward the browser. */
  dtmf?: DtmfPolicy;
  /** REFER handling (RFC 3515); REFER is refused 405 without it. */
  transfer?: TransferDeps;
}

/** What the primitive needs of the gateway. */
export type B2buaContext = Pick<CallContext, 'ua' | 'engine' | 'config'>;

/**
 * Sets up the call: binds its media, maps A's offer, sends the B INVITE(s) and relays
 * until A is answered (or the call fails, which ends it through call.end()). Resolves
 * when the call is answered or over; never rejects (a failure becomes A's response).
 */
export async function connectB2bua(ctx: B2buaContext, o: B2buaOptions): Promise<void> {
  const { call, req } = o;
  void req.cancellation.then(() => call.end(487, 'Canceled by the caller', 'a', 'canceled'));
  // RFC 3262 refusals the stack made on the caller's INVITE are logged with the call.
  const prackRefused = (): void => call.inDialog({ side: 'a', method: 'PRACK', status: 481, relayed: false, purpose: 'No Such Reliable Provisional' });
  const failed = (reason: string): void => {
    if (reason === 'prack-timeout') call.log.warn('no PRACK for our reliable provisional: INVITE rejected 504', { event: 'prack-timeout' });
  };
  req.on('prackRefused', prackRefused).on('failed', failed);
  try {
    await setUp(ctx, o);
  } catch (err) {
    await failSetup(call, req, err);
  } finally {
    // Answered or failed: no PRACK is due any more. The INVITE's transaction outlives the
    // call (Timer L, 32 s): its listeners need not keep the call alive that long.
    req.off('prackRefused', prackRefused).off('failed', failed);
  }
}

async function setUp(ctx: B2buaContext, o: B2buaOptions): Promise<void> {
  const { call, req } = o;
  const timers = o.sessionTimers ? new SessionTimers(call, o.sessionTimers) : null;
  const tooSmall = timers?.fromCaller(req.message);
  if (tooSmall) {
    req.reply(tooSmall.status, 'Session Interval Too Small', { headers: tooSmall.headers });
    await call.end(tooSmall.status, 'Session interval too small (RFC 4028 §5)', 'gateway', 'rejected');
    return;
  }
  const media = await bindCallMedia(ctx, call);
  if (!media) return;
  const sdp = new OfferAnswer({ media, profiles: o.profiles, policy: o.policy, legacyHold: o.legacyHold ?? false });
  call.sdp = sdp;
  call.peers.a = peerCapabilities(req.message);
  attachCallControl(ctx, call, { timers, ...(o.dtmf ? { dtmf: o.dtmf } : {}), ...(o.transfer ? { transfer: o.transfer } : {}) });
  const caps = capabilityHeaders(ctx.ua.supported);
  const offer = sdp.offer('a', req.message.body.toString('utf8'));
  if (call.ended) return;
  let headers: HeaderValues = { ...caps, ...timers?.calleeHeaders() };
  for (let attempt = 0; ; attempt++) {
    const rang = await ring(o, sdp, offer, headers, caps);
    if (!rang) return;
    const { winner, finals, timedOut, early } = rang;
    if (winner) {
      await answerCaller(o, sdp, winner, early, caps, timers);
      return;
    }
    if (call.ended) return;
    // RFC 4028 §7.3: a 422 names the smallest interval the callee takes: asked again with it, once.
    const minSe = finals.length === 1 && finals[0]!.status === 422 ? Number.parseInt(finals[0]!.minSe ?? '', 10) : NaN;
    if (attempt === 0 && timers && Number.isInteger(minSe) && minSe > 0) {
      call.log.info('callee wants a longer session interval; asked again', { event: 'session-interval-retry', minSe });
      headers = { ...headers, 'Session-Expires': String(minSe), 'Min-SE': String(minSe) };
      continue;
    }
    const f = failureToCaller(finals, req.canceled, timedOut);
    if (!req.finalSent) req.reply(f.status, f.reason);
    // A timeout is the gateway giving up (a timer: EndedBy 'gateway'), not B refusing.
    await call.end(f.status, f.log, timedOut ? 'gateway' : 'b', timedOut ? 'no-answer' : 'rejected');
    return;
  }
}

/**
 * Sends the B leg INVITE(s) and relays their provisionals until one answers 2xx or all
 * fail; null when the call ended meanwhile.
 */
async function ring(
  o: B2buaOptions, sdp: OfferAnswer, offer: string, headers: HeaderValues, caps: HeaderValues,
): Promise<{ winner: Winner | null; finals: Final[]; timedOut: boolean; early: EarlyRelay } | null> {
  const { call } = o;
  const branches = o.send(offer, headers);
  await Promise.race([...branches.map((b) => b.sent ?? Promise.resolve()), Promise.allSettled(branches.map((b) => b.final))]);
  if (!call.ended && call.state === 'routing') call.transition('proceeding', { branches: branches.length });
  const cancelAll = (except?: BranchRequest): void => {
    for (const b of branches) if (b !== except) b.cancel();
  };
  const withdrawCancel = call.onEnd(() => cancelAll());
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    call.log.info('no answer in time', { event: o.timeoutEvent, seconds: o.timeoutSeconds });
    cancelAll();
  }, o.timeoutSeconds * 1000);
  const withdrawTimer = call.onEnd(() => clearTimeout(timer));

  const early = new EarlyRelay(o, sdp, caps);
  const onProvisional = (res: SipResponse): void => early.push(res);
  for (const b of branches) b.on('provisional', onProvisional);

  const { winner, finals } = await firstAnswer(call, branches, cancelAll);
  clearTimeout(timer);
  // Every branch is answered, cancelled or failed: nothing left to cancel or relay. The
  // branches' transactions keep their INVITEs 32 s more (Timer M): not the call with them.
  withdrawCancel();
  withdrawTimer();
  for (const b of branches) b.off?.('provisional', onProvisional);
  await early.drained();
  return { winner, finals, timedOut, early };
}

/**
 * Makes `call` answer its in-dialog requests (in-dialog.ts) with session timers, INFO
 * DTMF and transfer. The primitive does it for every call it sets up; a call carried on
 * after a takeover (its sdp restored with OfferAnswer.restore) gets the same with it.
 */
export function attachCallControl(
  ctx: Pick<B2buaContext, 'ua'>, call: Call, o: { timers?: SessionTimers | null; dtmf?: DtmfPolicy; transfer?: TransferDeps },
): InDialog {
  const relay = new InDialog(call, ctx.ua.supported);
  if (o.timers) relay.hooks.push(o.timers);
  relay.hooks.push(new DtmfInfo(call, o.dtmf ?? { toTrunk: 'rfc4733', toBrowser: 'info' }));
  if (o.transfer) relay.hooks.push(new Transfer(call, o.transfer));
  call.requestHandler = relay.handle;
  return relay;
}

/**
 * Relays B's provisional responses to A in order (an early answer's mapping waits for
 * the media worker; a 180 must not overtake the 183 before it).
 */
class EarlyRelay {
  private queue: Promise<void> = Promise.resolve();
  /** Early SDP by B dialog (To tag): a 2xx without SDP answers with it (reliable 183). */
  readonly sdpByTag = new Map<string, string>();
  /** A got early media: later 180s are relayed without touching it. */
  earlyMedia = false;
  private lastPlain = 0;

  constructor(private readonly o: B2buaOptions, private readonly sdp: OfferAnswer, private readonly caps: HeaderValues) {}

  push(res: SipResponse): void {
    this.queue = this.queue.then(() => this.relay(res)).catch((err: unknown) => {
      this.o.call.log.warn('provisional not relayed', { event: 'provisional-error', error: String(err) });
    });
  }

  drained(): Promise<void> {
    return this.queue;
  }

  private async relay(res: SipResponse): Promise<void> {
    const { call, req } = this.o;
    if (call.ended || req.finalSent || res.status === 100) return;
    if (call.state === 'proceeding') call.transition('early', { status: res.status });
    const headers = { ...this.caps, ...this.o.answerHeaders?.(null) };
    if (hasSdp(res)) {
      const body = res.body.toString('utf8');
      this.sdpByTag.set(tagOf(res.headers.get('to') ?? '') ?? '', body);
      try {
        // Several forked B dialogs may each send early media: the latest one wins.
        const answer = await this.sdp.answer('b', body);
        if (call.ended || req.finalSent) return;
        req.progress(183, 'Session Progress', { body: answer, contentType: 'application/sdp', headers });
        this.earlyMedia = true;
        this.lastPlain = 0;
        return;
      } catch (err) {
        call.log.warn('early media SDP not usable', { event: 'early-media-error', error: String(err) });
        if (call.ended || req.finalSent) return;
      }
    }
    // A 180 after early media is passed on as it is: the media keeps flowing.
    const status = res.status === 183 ? 183 : 180;
    if (status === this.lastPlain) return;
    this.lastPlain = status;
    req.progress(status, undefined, { headers });
  }
}

/** A final status, received or made locally. */
export interface Final {
  status: number;
  reason: string;
  /** The Min-SE of a 422 (RFC 4028 §6). */
  minSe?: string;
}

interface Winner {
  branch: BranchRequest;
  response: SipResponse;
}

/** Waits for the first 2xx among the branches (the others are cancelled) or for all to fail. */
function firstAnswer(call: Call, branches: BranchRequest[], cancelAll: (except?: BranchRequest) => void): Promise<{ winner: Winner | null; finals: Final[] }> {
  return new Promise((resolve) => {
    const finals: Final[] = [];
    let pending = branches.length;
    let won: BranchRequest | null = null;
    if (pending === 0) resolve({ winner: null, finals });
    for (const b of branches) {
      void b.final.then((res): SipResponse | Final => res, (err: unknown) => ({
        status: err instanceof SipError ? err.status : 500, reason: err instanceof SipError ? err.reason : 'Server Internal Error',
      })).then((res) => {
        const minSe = res.status === 422 && 'headers' in res ? res.headers.get('min-se') : undefined;
        finals.push({ status: res.status, reason: res.reason, ...(minSe !== undefined ? { minSe } : {}) });
        if (res.status >= 200 && res.status < 300) {
          if (won === null && !call.ended) {
            won = b;
            cancelAll(b);
            resolve({ winner: { branch: b, response: res as SipResponse }, finals });
          } else {
            // A 2xx after the winner (a CANCEL crossed it): that dialog is hung up.
            void b.dialog?.bye().catch(() => undefined);
          }
        }
        if (--pending === 0 && won === null) resolve({ winner: null, finals });
      });
    }
  });
}

/** B answered: A gets the mapped answer; once A's ACK is in, the call is answered. */
async function answerCaller(o: B2buaOptions, sdp: OfferAnswer, winner: Winner, early: EarlyRelay, caps: HeaderValues, timers: SessionTimers | null): Promise<void> {
  const { call, req } = o;
  const final = winner.response;
  call.peers.b = peerCapabilities(final);
  timers?.fromCallee(final);
  const bDialog = winner.branch.dialog;
  if (!bDialog) throw new SipError(502, 'B leg answered without a dialog');
  call.setDialog('b', bDialog);
  if (call.ended || req.finalSent) return;
  // Without SDP in the 2xx the answer was in a reliable provisional of the same dialog.
  const body = hasSdp(final) ? final.body.toString('utf8') : early.sdpByTag.get(tagOf(final.headers.get('to') ?? '') ?? '') ?? '';
  let answer: string;
  try {
    answer = await sdp.answer('b', body);
    sdp.settle();
  } catch (err) {
    sdp.fail();
    const known = err instanceof SdpError;
    const status = known ? err.status : 500;
    call.log.warn('B leg answer not usable', { event: 'answer-sdp-error', error: String(err) });
    if (!req.finalSent) req.reply(status, known ? err.reason : 'Server Internal Error');
    await call.end(status, 'B leg SDP not usable', 'gateway', 'setup-failed');
    return;
  }
  if (call.ended || req.finalSent) return;
  sdp.mediaStarted.catch((err: unknown) => {
    call.log.error('media setup failed', { event: 'media-error', error: String(err) });
    void call.end(500, 'media setup failed', 'gateway', 'media-failed');
  });
  const headers = { ...caps, ...timers?.callerAnswerHeaders(), ...o.answerHeaders?.(final) };
  const aDialog = await req.answer({ body: answer, contentType: 'application/sdp', headers }).catch((err: unknown) => {
    call.log.warn('no ACK from the caller', { event: 'ack-timeout', error: String(err) });
    return null;
  });
  if (!aDialog) {
    await call.end(408, 'No ACK from the caller', 'a', 'setup-failed');
    return;
  }
  call.setDialog('a', aDialog);
  if (call.ended) return;
  call.transition('answered');
  timers?.start();
}

/**
 * The response A gets when no branch answered. One branch: its status (a timeout of
 * ours is 480 No answer). Several (after RFC 3261 §16.7 step 6): a 6xx wins, then busy
 * (486), then the lowest other status; all cancelled or timed out is 480. A challenge
 * the gateway could not meet (401/407) is its own problem: 403.
 */
export function failureToCaller(finals: Final[], canceledByCaller: boolean, timedOut: boolean): { status: number; reason?: string; log: string } {
  const seen = finals.map((f) => f.status).join(', ');
  if (canceledByCaller) return { status: 487, log: 'canceled by the caller' };
  let chosen: Final | undefined;
  if (finals.length === 1) {
    chosen = finals[0];
    if (chosen && chosen.status === 487 && timedOut) chosen = undefined;
  } else {
    chosen = finals.find((f) => f.status >= 600) ?? finals.find((f) => f.status === 486);
    if (!chosen) {
      const real = finals.filter((f) => f.status !== 487 && f.status !== 408).sort((x, y) => x.status - y.status);
      chosen = real[0];
    }
  }
  if (!chosen) return { status: 480, reason: 'No answer', log: `no answer (${seen || 'nothing'})` };
  const log = `B leg answered ${chosen.status} ${chosen.reason}` + (finals.length > 1 ? ` (branches: ${seen})` : '');
  if (chosen.status === 401 || chosen.status === 407) return { status: 403, log };
  return { status: chosen.status, reason: chosen.reason, log };
}
