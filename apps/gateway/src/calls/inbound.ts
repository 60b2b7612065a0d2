// Trunk -> browser agent (DESIGN.md call flow 2, call-centre ingress): the trunk's
// RTP/AVP offer becomes a WebRTC offer forked in parallel to every registered
// contact of the agent AOR (RFC 3261 §16.7-style: first 2xx wins, the other branches
// are cancelled); the winner's answer becomes the RTP/AVP answer to the trunk.

import { parseUri, isSipUri, parseNameAddr, SipError, type IncomingRequest, type SipResponse, type ClientRequest } from '@trapezoid/sip';
import { rtpOfferToWebrtcOffer, webrtcAnswerToRtpAnswer, SdpError, type OfferState } from '@trapezoid/sdp';
import type { Binding } from '../registrar/bindings.js';
import type { Call } from './call.js';
import { bindCallMedia, failSetup, type CallContext } from './context.js';
import type { TrunkConfig } from '../config/index.js';

export async function handleInboundInvite(ctx: CallContext, req: IncomingRequest, trunk: TrunkConfig): Promise<void> {
  const msg = req.message;
  const ruri = parseUri(msg.uri);
  const called = isSipUri(ruri) ? ruri.user ?? '' : '';
  const route = ctx.router.inboundAor(called);
  if (!route) throw new SipError(404, `No agent for ${called || 'an empty number'}`);
  const contacts = ctx.registrar.lookup(route.aor);
  if (contacts.length === 0) throw new SipError(480, 'Agent not registered');
  if (msg.body.length === 0) throw new SipError(488, 'An SDP offer is required in the INVITE');
  const from = parseNameAddr(msg.headers.get('from') ?? '');
  const call = ctx.calls.create({ direction: 'inbound', aCallId: msg.callId, from: from.uri, to: route.aor });
  call.record.trunk = trunk.name;
  void req.cancellation.then(() => call.end(487, 'Canceled by the trunk', 'a'));
  try {
    await forkToAgents(ctx, call, req, trunk, contacts, route.ringTimeout, from.uri);
  } catch (err) {
    await failSetup(call, req, err);
  }
}

async function forkToAgents(
  ctx: CallContext, call: Call, req: IncomingRequest, trunk: TrunkConfig, contacts: Binding[], ringTimeout: number, fromUri: string,
): Promise<void> {
  const policy = { codecs: trunk.codecs };
  const media = await bindCallMedia(ctx, call);
  if (!media) return;
  const converted = rtpOfferToWebrtcOffer(req.message.body.toString('utf8'), policy, media.iceDtls, media.webrtcEndpoint, { stream: media.towardBrowser });
  await media.setRtpRemote(converted.remote);

  const fromUser = (() => {
    try {
      const u = parseUri(fromUri);
      return isSipUri(u) && u.user ? u.user : 'anonymous';
    } catch {
      return 'anonymous';
    }
  })();
  const branches: ClientRequest[] = contacts.map((b) => ctx.ua.request('INVITE', b.contact, {
    from: `<sip:${fromUser}@${ctx.config.domain}>`,
    to: `<${b.aor}>`,
    destination: {
      protocol: b.source.protocol as 'ws' | 'wss' | 'udp' | 'tcp' | 'tls',
      address: b.source.address,
      port: b.source.port,
      ...(b.flowId !== undefined ? { flowId: b.flowId } : {}),
    },
    body: converted.sdp,
    contentType: 'application/sdp',
  }));
  call.setState('proceeding', { branches: branches.length });
  const cancelAll = (except?: ClientRequest): void => {
    for (const b of branches) if (b !== except) b.cancel();
  };
  call.onEnd(() => cancelAll());
  const ringTimer = setTimeout(() => {
    call.log.info('agents did not answer in time', { event: 'ring-timeout', seconds: ringTimeout });
    cancelAll();
  }, ringTimeout * 1000);
  call.onEnd(() => clearTimeout(ringTimer));

  let ringing = false;
  for (const b of branches) {
    b.on('provisional', (res: SipResponse) => {
      if (res.status === 100 || ringing || call.ended || req.finalSent) return;
      ringing = true;
      call.setState('early');
      req.progress(180);
    });
  }

  // First 2xx wins; a 2xx arriving after the winner (a CANCEL crossed it) is hung up.
  const statuses: number[] = [];
  const winner = await new Promise<ClientRequest | null>((resolve) => {
    let pending = branches.length;
    let won = false;
    for (const b of branches) {
      void b.final.then((res) => {
        statuses.push(res.status);
        if (res.status >= 200 && res.status < 300) {
          if (!won && !call.ended) {
            won = true;
            cancelAll(b);
            resolve(b);
          } else {
            void b.dialog?.bye().catch(() => undefined);
          }
        }
        if (--pending === 0) resolve(null);
      });
    }
  });
  clearTimeout(ringTimer);
  if (!winner) {
    if (call.ended) return;
    const status = bestFailure(statuses, req.canceled);
    if (!req.finalSent) req.reply(status);
    await call.end(status, 'no agent answered', 'b');
    return;
  }
  await answerTrunk(call, req, winner, converted.session);
}

async function answerTrunk(call: Call, req: IncomingRequest, winner: ClientRequest, session: OfferState): Promise<void> {
  const bDialog = winner.dialog!;
  call.bDialog = bDialog;
  call.record.bCallId = winner.message.callId;
  const media = call.media;
  if (call.ended || req.finalSent || !media) {
    await bDialog.bye().catch(() => undefined);
    return;
  }
  let rtpAnswer: string;
  try {
    const converted = webrtcAnswerToRtpAnswer(session, winner.response!.body.toString('utf8'), media.rtpEndpoint);
    await media.connect(converted.mapping, { webrtc: converted.remote });
    rtpAnswer = converted.sdp;
  } catch (err) {
    call.log.warn('agent answer not usable', { event: 'answer-sdp-error', error: String(err) });
    if (!req.finalSent) req.reply(err instanceof SdpError ? err.status : 500);
    await call.end(500, 'agent SDP not usable');
    return;
  }
  if (call.ended || req.finalSent) {
    // The trunk gave up while the media was being set up.
    await bDialog.bye().catch(() => undefined);
    return;
  }
  const aDialog = await req.answer({ body: rtpAnswer, contentType: 'application/sdp' }).catch(() => null);
  if (!aDialog) {
    await call.end(408, 'No ACK from the trunk');
    return;
  }
  call.linkDialogs(aDialog, bDialog);
  call.setState('answered');
}

/**
 * The response to relay when every branch failed (after RFC 3261 §16.7 step 6): a
 * 6xx wins, then busy (486) over other 4xx, then the lowest class; all cancelled
 * by the ring timer means nobody answered: 480.
 */
function bestFailure(statuses: number[], canceledByCaller: boolean): number {
  if (canceledByCaller) return 487;
  const six = statuses.find((s) => s >= 600);
  if (six) return six;
  if (statuses.includes(486)) return 486;
  const real = statuses.filter((s) => s !== 487 && s !== 408);
  if (real.length === 0) return 480;
  return Math.min(...real);
}
