// Browser -> trunk (DESIGN.md call flow 1): the browser's INVITE over WebSocket is
// authenticated and routed by dialled number; its WebRTC offer becomes an RTP/AVP
// offer to the trunk; the trunk's answer becomes the WebRTC answer; BYE and CANCEL
// cross in both directions.

import {
  parseUri, isSipUri, SipError,
  type IncomingRequest, type SipResponse,
} from '@trapezoid/sip';
import { webrtcOfferToRtpOffer, rtpAnswerToWebrtcAnswer, SdpError } from '@trapezoid/sdp';
import type { Call } from './call.js';
import { authenticate, relayStatus, type CallContext, bindCallMedia, failSetup } from './context.js';
import type { TrunkConfig } from '../config/index.js';
import { TrunkLeg, trunkDomain } from '../trunks/index.js';

export async function handleOutboundInvite(ctx: CallContext, req: IncomingRequest): Promise<void> {
  const msg = req.message;
  const user = await authenticate(ctx, req);
  // A CANCEL read with the INVITE (one TCP or WebSocket read) was answered while the
  // digest check ran: the caller is gone before any call exists.
  if (user === undefined || req.canceled) return;
  const ruri = parseUri(msg.uri);
  const dialled = isSipUri(ruri) ? ruri.user ?? '' : '';
  const target = ctx.router.outbound(dialled);
  if (!target) throw new SipError(404, `No route for ${dialled || 'an empty number'}`);
  const echo = ctx.echoTrunk();
  const trunks = target.kind === 'trunk' ? target.trunks : echo ? [echo] : [];
  const trunk = trunks[0];
  if (!trunk) throw new SipError(503, 'Echo service not running');
  if (msg.body.length === 0) throw new SipError(488, 'An SDP offer is required in the INVITE');

  const call = ctx.calls.create({ direction: 'outbound', aCallId: msg.callId, from: user, to: target.number });
  call.record.trunk = trunk.name;
  void req.cancellation.then(() => call.end(487, 'Canceled by the caller', 'a'));
  try {
    await connectToTrunk(ctx, call, req, trunks, target.number, user);
  } catch (err) {
    await failSetup(call, req, err);
  }
}

async function connectToTrunk(ctx: CallContext, call: Call, req: IncomingRequest, trunks: TrunkConfig[], number: string, user: string): Promise<void> {
  const trunk = trunks[0]!;
  const offer = req.message.body.toString('utf8');
  const media = await bindCallMedia(ctx, call);
  if (!media) return;
  const rtpOffer = webrtcOfferToRtpOffer(offer, { codecs: trunk.codecs }, media.rtpEndpoint);
  // The browser's ICE/DTLS parameters reach the media worker while the INVITE goes out:
  // requests to one worker run in order, and the answer path awaits this first.
  const webrtcRemoteSet = media.setWebRtcRemote(rtpOffer.remote);
  webrtcRemoteSet.catch(() => undefined);

  // Each trunk of the route in turn while it fails with 503/408 and nothing was relayed.
  const out = new TrunkLeg({
    trunks: ctx.trunks, candidates: trunks, log: call.log,
    send: (t, destination) => {
      const domain = trunkDomain(t);
      const port = t.port === undefined || t.port === 5060 ? '' : `:${t.port}`;
      return ctx.ua.request('INVITE', `sip:${number}@${domain}${port}`, {
        from: `<sip:${user}@${ctx.config.domain}>`,
        to: `<sip:${number}@${domain}>`,
        destination,
        body: rtpOffer.sdp,
        contentType: 'application/sdp',
        ...(t.credentials ? { credentials: t.credentials } : {}),
      });
    },
  });
  out.on('attempt', (t, invite) => {
    call.record.trunk = t.name;
    call.record.bCallId = invite.message.callId;
    call.setState('proceeding', { trunk: t.name, bLeg: invite.message.callId });
  });
  call.onEnd(() => out.cancel());
  const noAnswer = setTimeout(() => {
    call.log.info('no answer from trunk in time', { event: 'call-timeout', seconds: trunk.answerTimeout });
    out.cancel();
  }, trunk.answerTimeout * 1000);
  call.onEnd(() => clearTimeout(noAnswer));

  // The first answer (183 with SDP or the 200) fixes the media; later ones reuse it.
  let webrtcAnswer: Promise<string> | null = null;
  const answerFrom = (res: SipResponse): Promise<string> => {
    if (webrtcAnswer === null) {
      const converted = rtpAnswerToWebrtcAnswer(rtpOffer.session, res.body.toString('utf8'), media.iceDtls, media.webrtcEndpoint, { stream: media.towardBrowser });
      webrtcAnswer = (async () => {
        await webrtcRemoteSet;
        // The answer is fixed already (ports, ICE and DTLS parameters were chosen when the
        // legs were bound), so the 183/200 does not wait for the worker to start
        // forwarding: the browser's first RTP follows ICE and DTLS, long after this update
        // has run (requests to one worker run in order).
        media.connect(converted.mapping, { rtp: converted.remote }).catch((err: unknown) => {
          call.log.error('media setup failed', { event: 'media-error', error: String(err) });
          void call.end(500, 'media setup failed');
        });
        return converted.sdp;
      })();
    }
    return webrtcAnswer;
  };

  const onProvisional = async (res: SipResponse): Promise<void> => {
    if (call.ended || req.finalSent || res.status === 100) return;
    call.setState('early', { status: res.status });
    if (res.body.length > 0 && /application\/sdp/i.test(res.headers.get('content-type') ?? '')) {
      // Early media (announcements, ringback from the far end) reaches the browser.
      try {
        const body = await answerFrom(res);
        // The final response may have overtaken the media setup.
        if (!call.ended && !req.finalSent) req.progress(183, 'Session Progress', { body, contentType: 'application/sdp' });
        return;
      } catch (err) {
        call.log.warn('early media SDP not usable', { event: 'early-media-error', error: String(err) });
        if (call.ended || req.finalSent) return;
      }
    }
    req.progress(res.status === 183 ? 183 : 180);
  };
  out.on('provisional', (res: SipResponse) => void onProvisional(res));

  const final = await out.final;
  clearTimeout(noAnswer);
  if (final.status >= 300 || final.status < 200) {
    if (call.ended) return;
    const timedOut = final.status === 487 && !req.canceled;
    const status = timedOut ? 480 : relayStatus(final.status);
    const reason = timedOut ? 'No answer' : final.reason;
    if (!req.finalSent) req.reply(status, reason);
    await call.end(status, `trunk answered ${final.status} ${final.reason}`, 'b');
    return;
  }
  await bridgeAnswered(call, req, out, final, answerFrom);
}

async function bridgeAnswered(
  call: Call, req: IncomingRequest, out: TrunkLeg, final: SipResponse, answerFrom: (res: SipResponse) => Promise<string>,
): Promise<void> {
  const bDialog = out.dialog;
  if (!bDialog) throw new SipError(502, 'Trunk answered without a dialog');
  if (call.ended || req.finalSent) {
    // The browser gave up while the trunk was answering: hang the trunk up.
    await bDialog.bye().catch(() => undefined);
    return;
  }
  call.bDialog = bDialog;
  let sdp: string;
  try {
    sdp = await answerFrom(final);
  } catch (err) {
    const status = err instanceof SdpError ? err.status : 500;
    call.log.warn('trunk answer not usable', { event: 'answer-sdp-error', error: String(err) });
    if (!req.finalSent) req.reply(status, err instanceof SdpError ? err.reason : 'Bad SDP from trunk');
    await call.end(status, 'trunk SDP not usable');
    return;
  }
  if (call.ended || req.finalSent) {
    // The browser gave up while the media was being set up.
    await bDialog.bye().catch(() => undefined);
    return;
  }
  const aDialog = await req.answer({ body: sdp, contentType: 'application/sdp' }).catch((err: unknown) => {
    call.log.warn('browser did not ACK', { event: 'ack-timeout', error: String(err) });
    return null;
  });
  if (!aDialog) {
    await call.end(408, 'No ACK from the browser');
    return;
  }
  call.linkDialogs(aDialog, bDialog);
  call.setState('answered');
}
