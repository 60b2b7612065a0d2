// Call transfer (RFC 3515 REFER, RFC 5589 call-control transfer). A browser agent's
// REFER asks the gateway to connect the party it talks to (the transferee, a trunk's
// caller) with the Refer-To target; the gateway does it itself, as the B2BUA: the target
// (a number routed to a trunk, checked like a new call) is INVITEd from a leg prepared on
// the browser's side, and once it answers that leg takes the browser's place in the same
// bridge (the transferee's media never moves) and the agent's dialog is ended. The
// target may be another browser agent (a new WebRTC leg with its own ICE, DTLS and SRTP)
// or a number routed to a trunk (a new RTP leg: the bridge then joins two trunks). Progress
// goes to the agent as NOTIFY with message/sipfrag (RFC 3515 §2.4.4, RFC 3420). With
// Refer-To carrying Replaces (RFC 3891, attended transfer) the target is the other party
// of the agent's second call on this gateway: it is re-INVITEd onto the first call's
// bridge and both agent legs end. A REFER from a trunk is refused 403 (trunks[].refer).

import { SipError, isSipUri, parseNameAddr, parseUri, type Dialog, type IncomingRequest, type SipResponse } from '@trapezoid/sip';
import { SdpError, transferAnswer, transferOffer, type TransferOffer, type WebRtcOfferResult } from '@trapezoid/sdp';
import type { Call, CallRegistry, LegSide } from './call.js';
import { hasSdp, type InDialogHooks } from './in-dialog.js';
import { peerCapabilities } from './capabilities.js';

/** Where a transfer's number goes, and how its INVITE is sent (with our offer). */
export interface TransferTarget {
  /** A trunk gets an RTP offer; a registered browser agent a WebRTC one. */
  kind: 'trunk' | 'agent';
  dial(offer: string, referrer: string): TransferBranch;
  /** Gives back what admitting the target took (call limits): at the call's end, or at once if the transfer fails. */
  release(): void;
}

/** What a transfer needs from the gateway: routing (with its checks) and INVITEs. */
export interface TransferDeps {
  calls: CallRegistry;
  /**
   * Where `number` goes, decided as for a new call to it (routes, dial patterns, call
   * limits): a SipError (404, 403 ...) when it may not be called.
   */
  target(number: string, call: Call, refer: IncomingRequest): Promise<TransferTarget>;
  /** How a REFER from the trunk of this call is treated: 'refuse' (403 naming the trunk). */
  trunkRefer: 'refuse';
}

/** The transfer target's INVITE, like the B2BUA's branch. */
export interface TransferBranch {
  readonly final: Promise<SipResponse>;
  readonly dialog: Dialog | undefined;
  cancel(): void;
  on(event: 'provisional', listener: (res: SipResponse) => void): unknown;
}

const other = (side: LegSide): LegSide => (side === 'a' ? 'b' : 'a');

export class Transfer implements InDialogHooks {
  private busy = false;

  constructor(private readonly call: Call, private readonly deps: TransferDeps) {}

  request(side: LegSide, req: IncomingRequest): boolean {
    if (req.method !== 'REFER') return false;
    void this.refer(side, req).catch((err: unknown) => {
      const status = err instanceof SipError || err instanceof SdpError ? err.status : 500;
      if (status === 500) this.call.log.error('transfer failed', { event: 'transfer-error', error: String(err) });
      if (!req.finalSent) req.reply(status, err instanceof SipError || err instanceof SdpError ? err.reason : '');
      this.call.inDialog({ side, method: 'REFER', status, relayed: false, purpose: 'transfer refused' });
    });
    return true;
  }

  private async refer(side: LegSide, req: IncomingRequest): Promise<void> {
    const call = this.call;
    if (side !== call.browserSide) throw new SipError(403, `Transfer not allowed from trunk ${call.record.trunk ?? ''}`.trim());
    if (call.state !== 'answered' || !call.sdp || !call.media) throw new SipError(491, 'Call not established');
    if (this.busy || call.sdp.busy) throw new SipError(491, 'Request Pending');
    const referTo = req.message.headers.get('refer-to');
    if (!referTo) throw new SipError(400, 'Missing Refer-To');
    let target;
    try {
      target = parseUri(parseNameAddr(referTo).uri);
    } catch {
      throw new SipError(400, 'Malformed Refer-To');
    }
    if (!isSipUri(target) || !target.user) throw new SipError(416, 'Refer-To must be a sip: URI with a user part');
    const replaces = target.headers.get('Replaces') ?? target.headers.get('replaces');
    const agentDialog = call.dialog(side)!;
    const referrer = parseNameAddr(req.message.headers.get('from') ?? '').uri;
    this.busy = true;
    try {
      if (replaces) await this.attended(side, req, agentDialog, decodeURIComponent(replaces));
      else await this.blind(side, req, agentDialog, target.user, referrer);
    } finally {
      this.busy = false;
    }
  }

  /** Refer-To a number: INVITE it from a leg prepared on the browser's side. */
  private async blind(side: LegSide, req: IncomingRequest, agent: Dialog, number: string, referrer: string): Promise<void> {
    const call = this.call;
    const media = call.media!;
    const sdp = call.sdp!;
    const mapping = sdp.mapping;
    if (!mapping) throw new SipError(491, 'Call not established');
    const target = await this.deps.target(number, call, req);
    let offer: { trunk: TransferOffer } | { agent: WebRtcOfferResult };
    let branch: TransferBranch;
    try {
      if (target.kind === 'trunk') {
        offer = { trunk: transferOffer(mapping, await media.prepareTransferLeg()) };
      } else {
        const p = await media.prepareTransferWebRtcLeg();
        offer = { agent: sdp.agentOffer(side, p.ice, p.endpoint) };
      }
      branch = target.dial('trunk' in offer ? offer.trunk.sdp : offer.agent.sdp, referrer);
    } catch (err) {
      target.release();
      await media.discardTransferLeg();
      throw err;
    }
    // RFC 3515 §2.4.2: accepted; progress follows as NOTIFY in the implicit subscription.
    req.reply(202, 'Accepted');
    call.inDialog({ side, method: 'REFER', status: 202, relayed: false, purpose: `transfer to ${number}` });
    const notify = (status: number, reason: string, final: boolean): void => this.notify(agent, status, reason, final);
    notify(100, 'Trying', false);
    branch.on('provisional', (res: SipResponse) => { if (res.status > 100) notify(res.status, res.reason, false); });
    call.onEnd(() => branch.cancel());
    const res = await branch.final.catch((err: unknown) => ({ status: err instanceof SipError ? err.status : 500, reason: err instanceof SipError ? err.reason : 'Server Internal Error' }) as SipResponse);
    const dialog = branch.dialog;
    if (res.status < 200 || res.status >= 300 || !dialog || !hasSdp(res)) {
      target.release();
      await media.discardTransferLeg();
      if (res.status >= 200 && res.status < 300) void dialog?.bye().catch(() => undefined);
      notify(res.status >= 300 ? res.status : 488, res.status >= 300 ? res.reason : 'Not Acceptable Here', true);
      call.log.info('transfer failed; the call stays', { event: 'transfer-failed', target: number, status: res.status });
      return;
    }
    try {
      if ('trunk' in offer) {
        await this.connect(side, dialog, offer.trunk, res, media);
      } else {
        const r = sdp.agentAnswered(side, offer.agent, res.body.toString('utf8'));
        await media.swapInTransferWebRtcLeg(r.remote, r.mapping, sdp.flow());
        call.setDialog(side, dialog);
      }
    } catch (err) {
      target.release();
      await media.discardTransferLeg();
      void dialog.bye().catch(() => undefined);
      notify(488, 'Not Acceptable Here', true);
      throw err;
    }
    call.peers[side] = peerCapabilities(res);
    call.onEnd(() => target.release());
    notify(200, 'OK', true);
    call.log.info('transferred', { event: 'transferred', target: number, kind: target.kind, bLeg: dialog.state.callId });
    // The agent's part is over (RFC 5589 §6): its leg ends here.
    if (!agent.terminated) void agent.bye().catch(() => undefined);
  }

  /**
   * Refer-To with Replaces (RFC 3891): the dialog it names is the agent's leg of its
   * other call on this gateway; that call's other party is re-INVITEd onto this bridge.
   */
  private async attended(side: LegSide, req: IncomingRequest, agent: Dialog, replaces: string): Promise<void> {
    const call = this.call;
    const m = /^([^;]+)(.*)$/.exec(replaces.trim());
    const params = new Map([...(m?.[2] ?? '').matchAll(/;\s*([a-z-]+)\s*=\s*([^;]*)/gi)].map((x) => [x[1]!.toLowerCase(), x[2]!.trim()]));
    const callId = m?.[1]?.trim();
    const toTag = params.get('to-tag');
    const fromTag = params.get('from-tag');
    if (!callId || !toTag || !fromTag) throw new SipError(400, 'Malformed Replaces in Refer-To');
    const peer = this.deps.calls.list().find((c) => c !== call && c.state === 'answered'
      && ['a', 'b'].some((s) => { const d = c.dialog(s as LegSide)?.state; return d && d.callId === callId && d.localTag === toTag && d.remoteTag === fromTag; }));
    if (!peer) throw new SipError(481, 'No call matches the Replaces of Refer-To');
    const peerAgent = peer.browserSide;
    const target = peer.dialog(other(peerAgent));
    if (!target || target.terminated || peer.sdp?.busy || call.sdp?.busy) throw new SipError(491, 'Request Pending');
    const media = call.media!;
    const local = await media.prepareTransferLeg();
    const offer = transferOffer(call.sdp!.mapping!, local, peer.sdp?.legs[other(peerAgent)].origin ? { origin: peer.sdp.legs[other(peerAgent)].origin! } : {});
    req.reply(202, 'Accepted');
    call.inDialog({ side, method: 'REFER', status: 202, relayed: false, purpose: 'attended transfer' });
    this.notify(agent, 100, 'Trying', false);
    const res = await target.request('INVITE', { body: offer.sdp, contentType: 'application/sdp' }).final;
    if (res.status < 200 || res.status >= 300 || !hasSdp(res)) {
      await media.discardTransferLeg();
      this.notify(agent, res.status >= 300 ? res.status : 488, res.status >= 300 ? res.reason : 'Not Acceptable Here', true);
      return;
    }
    // The target leaves its call for this one: its dialog no longer ends that call.
    peer.detach(other(peerAgent));
    await this.connect(side, target, offer, res, media);
    this.notify(agent, 200, 'OK', true);
    call.log.info('transferred (attended)', { event: 'transferred', replaces: callId });
    void peer.end(200, 'Attended transfer completed', 'gateway', 'transferred');
    if (!agent.terminated) void agent.bye().catch(() => undefined);
  }

  /** The target answered `offer`: its leg takes the browser's side, its dialog the agent's. */
  private async connect(side: LegSide, dialog: Dialog, offer: TransferOffer, res: SipResponse, media: NonNullable<Call['media']>): Promise<void> {
    const call = this.call;
    const body = res.body.toString('utf8');
    const answer = transferAnswer(offer, body);
    const sdp = call.sdp!;
    sdp.transferred(side, { offer: offer.sdp, origin: offer.origin, answer: body, direction: answer.direction, mapping: answer.mapping });
    await media.swapInTransferLeg(answer.remote, answer.mapping, sdp.flow());
    call.setDialog(side, dialog);
  }

  private notify(agent: Dialog, status: number, reason: string, final: boolean): void {
    if (agent.terminated) return;
    agent.request('NOTIFY', {
      headers: { Event: 'refer', 'Subscription-State': final ? 'terminated;reason=noresource' : 'active;expires=60' },
      body: `SIP/2.0 ${status} ${reason}\r\n`, contentType: 'message/sipfrag;version=2.0',
    }).final.then((r) => {
      if (r.status >= 300) this.call.log.info('NOTIFY refused by the transferor', { event: 'notify-refused', status: r.status });
    }, () => undefined);
  }
}
