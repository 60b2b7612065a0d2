// Every in-dialog request of a call, from either leg, lands here (Call.requestHandler).
// Offers (re-INVITE, UPDATE with SDP: hold, resume, new address or codecs, ICE restart)
// are carried to the other leg through OfferAnswer and its answer carried back; what
// concerns one leg only is answered by the gateway itself: a session refresh (an UPDATE
// without SDP, an SDP with an unchanged o= version, RFC 3264 §8), an offerless
// re-INVITE (answered with our offer, the answer in the ACK, RFC 3261 §14.2), OPTIONS.
// One offer at a time per call: a new offer from either leg while one is in progress is
// refused 491 (RFC 3261 §14.1, RFC 3311 §5.2), which also covers glare between the two
// legs of one call; a 491 from the far leg is passed back, so each party retries on its
// own §14.1 timer. Every refusal is logged with the call (Call.inDialog).

import { SipError, isMediaType, type HeaderValues, type IncomingRequest, type SipResponse } from '@trapezoid/sip';
import { SdpError, type Direction } from '@trapezoid/sdp';
import type { Call, LegSide } from './call.js';
import { ALLOW, allowsUpdate, capabilityHeaders } from './capabilities.js';

const CT = 'application/sdp';
const other = (side: LegSide): LegSide => (side === 'a' ? 'b' : 'a');

/** What other call modules add to in-dialog handling (session timers, DTMF, transfer). */
export interface InDialogHooks {
  /** Headers for our 2xx to an INVITE/UPDATE from `side` (Session-Expires ...); also notes the refresh. */
  answering?(side: LegSide, req: IncomingRequest): HeaderValues;
  /** Headers for a re-INVITE/UPDATE we send on `side`. */
  requesting?(side: LegSide, method: string): HeaderValues;
  /** Our re-INVITE/UPDATE on `side` was answered 2xx (a refresh of that leg). */
  answered?(side: LegSide, res: SipResponse): void;
  /** Methods other than INVITE/UPDATE/OPTIONS: true when the hook took the request. */
  request?(side: LegSide, req: IncomingRequest): boolean;
}

export class InDialog {
  readonly hooks: InDialogHooks[] = [];

  constructor(private readonly call: Call, private readonly supported: ReadonlySet<string>) {}

  /** The Call's request handler: one in-dialog request from the party on `side`. */
  readonly handle = (side: LegSide, req: IncomingRequest): void => {
    void this.dispatch(side, req).catch((err: unknown) => {
      const status = err instanceof SipError || err instanceof SdpError ? err.status : 500;
      if (status === 500) this.call.log.error('in-dialog request failed', { event: 'in-dialog-error', method: req.method, error: String(err) });
      this.refuse(side, req, status, err instanceof SipError || err instanceof SdpError ? err.reason : undefined);
    });
  };

  private async dispatch(side: LegSide, req: IncomingRequest): Promise<void> {
    const m = req.method;
    if (m === 'INVITE' || m === 'UPDATE') return this.offerRequest(side, req);
    if (m === 'OPTIONS') {
      // RFC 3261 §11.2: what we would answer an INVITE with.
      req.reply(200, { headers: { ...capabilityHeaders(this.supported), Accept: CT } });
      this.call.inDialog({ side, method: m, status: 200, relayed: false, purpose: 'options' });
      return;
    }
    for (const h of this.hooks) if (h.request?.(side, req)) return;
    if (m === 'NOTIFY') {
      this.refuse(side, req, 481, 'Subscription Does Not Exist'); // RFC 6665 §4.1.3
      return;
    }
    this.refuse(side, req, 405, undefined, { Allow: ALLOW });
  }

  /** A refusal, answered and logged with the call. */
  refuse(side: LegSide, req: IncomingRequest, status: number, reason?: string, headers?: HeaderValues): void {
    if (!req.finalSent) req.reply(status, reason ?? '', headers ? { headers } : undefined);
    this.call.inDialog({ side, method: req.method, status, relayed: false, purpose: reason ?? 'refused' });
  }

  private async offerRequest(side: LegSide, req: IncomingRequest): Promise<void> {
    const call = this.call;
    const sdp = call.sdp;
    const m = req.method;
    if (!sdp || call.ended) throw new SipError(481, 'Call Does Not Exist');
    const body = req.message.body;
    if (body.length > 0 && !hasSdp(req.message)) {
      this.refuse(side, req, 415, 'Only application/sdp bodies', { Accept: CT });
      return;
    }
    if (body.length === 0) {
      // No offer: an UPDATE is a refresh of this leg; an INVITE asks for our offer.
      if (m === 'UPDATE') {
        this.ok(side, req, undefined, 'refresh');
        return;
      }
      return this.offerless(side, req);
    }
    const text = body.toString('utf8');
    if (sdp.busy) {
      // RFC 3261 §14.1 / RFC 3311 §5.2: an offer is in progress on this call (from this
      // leg, or ours toward it for the other leg): glare.
      this.refuse(side, req, 491, 'Request Pending');
      return;
    }
    if (sdp.unchanged(side, text) && sdp.legs[side].local !== null) {
      // RFC 3264 §8: the same o= version is the same session: a refresh, not relayed.
      this.ok(side, req, sdp.legs[side].local, 'refresh');
      return;
    }
    const before = sdp.legs[side].direction;
    if (sdp.bothRtp) {
      // Two trunks (after a transfer): answered here, the other one is not bothered.
      const answer = await sdp.localAnswer(side, text);
      await this.ok(side, req, answer, holdPurpose(before, sdp.legs[side].direction)).catch(() => undefined);
      return;
    }
    const mapped = sdp.offer(side, text); // SdpError (488/400) -> refused, nothing changed
    const purpose = holdPurpose(before, sdp.legs[side].direction);
    const to = other(side);
    const dialog = call.dialog(to);
    if (!dialog || dialog.terminated) {
      sdp.fail();
      this.refuse(side, req, 491, 'Request Pending');
      return;
    }
    // UPDATE only toward a party that announced it (RFC 3311 §5.1); a re-INVITE otherwise.
    const method = m === 'UPDATE' && allowsUpdate(call.peers, to) ? 'UPDATE' : 'INVITE';
    const out = dialog.request(method, {
      body: mapped, contentType: CT,
      headers: { ...capabilityHeaders(this.supported), ...this.requestHeaders(to, method) },
    });
    // The offerer may give up (CANCEL of its re-INVITE): so do we.
    void req.cancellation.then(() => out.cancel());
    const res = await out.final;
    if (res.status >= 200 && res.status < 300) {
      for (const h of this.hooks) h.answered?.(to, res);
      if (!hasSdp(res)) {
        sdp.fail();
        this.refuse(side, req, 488, 'No answer from the other party');
        call.log.warn('2xx to a relayed offer carried no SDP', { event: 'answer-missing', leg: to });
        return;
      }
      let answer: string;
      try {
        answer = await sdp.answer(to, res.body.toString('utf8'));
        sdp.settle();
      } catch (err) {
        // The other party accepted a session we cannot carry back: it stays as it was here.
        sdp.fail();
        throw err;
      }
      this.ok(side, req, answer, purpose, true);
      return;
    }
    sdp.fail();
    if (!req.finalSent) req.reply(res.status, res.reason, res.status === 491 || res.status === 500 ? retryAfter(res) : undefined);
    call.inDialog({ side, method: m, status: res.status, relayed: true, purpose });
  }

  /**
   * RFC 3261 §14.2 / RFC 3264 §5: an INVITE without SDP gets our offer in the 2xx (what
   * is in force now) and the party's answer comes in the ACK. It concerns this leg only.
   */
  private async offerless(side: LegSide, req: IncomingRequest): Promise<void> {
    const sdp = this.call.sdp!;
    if (sdp.busy) {
      this.refuse(side, req, 491, 'Request Pending');
      return;
    }
    const offer = sdp.bothRtp ? sdp.relayReoffer(side) : sdp.localOffer(side);
    const dialog = req.dialog!;
    let answer: string | null = null;
    const onAck = (ack: IncomingRequest['message']): void => {
      answer = hasSdp(ack) ? ack.body.toString('utf8') : null;
    };
    dialog.once('ack', onAck);
    const acked = await this.ok(side, req, offer, 'offer').then(() => true, () => false);
    dialog.off('ack', onAck);
    if (!acked || answer === null) {
      sdp.fail();
      if (acked) this.call.log.warn('ACK without the answer to our offer', { event: 'ack-without-answer', leg: side });
      return;
    }
    try {
      if (sdp.bothRtp) await sdp.relayAnswered(side, answer);
      else {
        await sdp.answer(side, answer);
        sdp.settle();
      }
    } catch (err) {
      sdp.fail();
      this.call.log.warn('answer in the ACK not usable', { event: 'answer-sdp-error', leg: side, error: String(err) });
    }
  }

  /**
   * A 2xx to an INVITE/UPDATE from `side`, with `body` (SDP) if any. For an INVITE it
   * resolves when the ACK came (rejects when none came within 64*T1: libs/sip then ends
   * the dialog with BYE, and with it the call).
   */
  private ok(side: LegSide, req: IncomingRequest, body: string | null | undefined, purpose: string, relayed = false): Promise<unknown> {
    const headers = { ...capabilityHeaders(this.supported), ...this.answerHeaders(side, req) };
    const opts = { headers, ...(body ? { body, contentType: CT } : {}) };
    const acked = req.method === 'INVITE' ? req.answer(opts) : Promise.resolve(req.reply(200, opts));
    acked.catch(() => undefined);
    this.call.inDialog({ side, method: req.method, status: 200, relayed, purpose });
    this.call.emit('updated', `${side}-sdp`);
    return acked;
  }

  private answerHeaders(side: LegSide, req: IncomingRequest): HeaderValues {
    let h: HeaderValues = {};
    for (const x of this.hooks) if (x.answering) h = { ...h, ...x.answering(side, req) };
    return h;
  }

  private requestHeaders(side: LegSide, method: string): HeaderValues {
    let h: HeaderValues = {};
    for (const x of this.hooks) if (x.requesting) h = { ...h, ...x.requesting(side, method) };
    return h;
  }
}

/** 'hold' when the party stops wanting to receive, 'resume' when it wants again. */
function holdPurpose(before: Direction | null, after: Direction | null): string {
  const receives = (d: Direction | null): boolean => d === null || d === 'sendrecv' || d === 'recvonly';
  if (receives(before) && !receives(after)) return 'hold';
  if (!receives(before) && receives(after)) return 'resume';
  return 'offer';
}

/** A 491/500 passed back keeps the far party's Retry-After (RFC 3261 §14.2). */
function retryAfter(res: SipResponse): { headers: HeaderValues } | undefined {
  const v = res.headers.get('retry-after');
  return v ? { headers: { 'Retry-After': v } } : undefined;
}

/** True when a message carries an SDP body (RFC 3264 offer or answer). */
export function hasSdp(msg: { body: Buffer; headers: { get(name: string): string | undefined } }): boolean {
  return msg.body.length > 0 && isMediaType(msg.headers.get('content-type'), 'application/sdp');
}
