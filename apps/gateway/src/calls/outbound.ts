// Browser -> trunk (docs/architecture.md, "Call flows"): the browser's INVITE over WebSocket is
// authenticated and routed by dialled number; the B2BUA primitive carries it to the
// trunk (WebRTC offer -> RTP/AVP offer, the trunk's answer -> WebRTC answer), through
// the route's trunks in turn while they fail over (TrunkLeg).

import { parseUri, isSipUri, SipError, type IncomingRequest } from '@trapezoid/sip';
import { TrunkLeg, trunkDomain } from '../trunks/index.js';
import { connectB2bua } from './b2bua.js';
import { authenticate, checkInviteOffer, replyRefusal, type CallContext } from './context.js';
import { sourceOf } from '../auth/source.js';
import { isSipsUri } from '../security/secure-transport.js';

export async function handleOutboundInvite(ctx: CallContext, req: IncomingRequest): Promise<void> {
  const msg = req.message;
  const identity = await authenticate(ctx, req);
  // A CANCEL read with the INVITE (one TCP or WebSocket read) was answered while the
  // digest check ran: the caller is gone before any call exists.
  if (identity === undefined || req.canceled) return;
  checkInviteOffer(msg);
  const user = identity.user;
  const ruri = parseUri(msg.uri);
  const dialled = isSipUri(ruri) ? ruri.user ?? '' : '';
  const target = ctx.router.outbound(dialled);
  if (!target) throw new SipError(404, `No route for ${dialled || 'an empty number'}`);
  const echo = ctx.echoTrunk();
  let trunks = target.kind === 'trunk' ? target.trunks : echo ? [echo] : [];
  // RFC 3261 §26.2.2: a sips: target is reached over TLS on every hop, the trunk's too.
  const sips = isSipsUri(msg.uri);
  if (sips && target.kind === 'trunk') trunks = trunks.filter((t) => t.transport === 'tls');
  const trunk = trunks[0];
  if (!trunk && sips) throw new SipError(480, 'No TLS trunk for a SIPS URI');
  if (!trunk) throw new SipError(503, 'Echo service not running');
  if (msg.body.length === 0) throw new SipError(488, 'An SDP offer is required in the INVITE');
  const admission = ctx.guards.admitOutbound(identity, dialled, target.kind === 'trunk' ? trunk : undefined, { callId: msg.callId, ...sourceOf(msg.transport) });
  if (!('release' in admission)) return replyRefusal(req, admission);

  const call = ctx.calls.create({ direction: 'outbound', aCallId: msg.callId, from: user, to: target.number });
  call.onEnd(() => admission.release());
  call.record.trunk = trunk.name;
  await connectB2bua(ctx, {
    call, req,
    profiles: { a: 'webrtc', b: 'rtp' },
    policy: { codecs: trunk.codecs },
    legacyHold: trunk.legacyHold,
    sessionTimers: { expires: ctx.config.calls.sessionExpires, minExpires: ctx.config.calls.minSessionExpires },
    send: (sdp, headers) => {
      // Each trunk of the route in turn while it fails with 503/408 and nothing was relayed.
      const out = new TrunkLeg({
        trunks: ctx.trunks, candidates: trunks, log: call.log,
        send: (t, destination) => {
          const domain = trunkDomain(t);
          const port = t.port === undefined || t.port === 5060 ? '' : `:${t.port}`;
          return ctx.ua.request('INVITE', `${sips ? 'sips' : 'sip'}:${target.number}@${domain}${port}`, {
            from: `<sip:${user}@${ctx.config.domain}>`,
            to: `<sip:${target.number}@${domain}>`,
            destination, body: sdp, contentType: 'application/sdp', headers,
            ...(t.credentials ? { credentials: t.credentials } : {}),
          });
        },
        // Before 'proceeding' is announced (a trunk by address): observers see the B leg.
        onAttempt: (t, invite) => {
          call.record.trunk = t.name;
          call.record.bCallId = invite.message.callId;
          call.log.info('INVITE sent to trunk', { event: 'trunk-attempt', trunk: t.name, bLeg: invite.message.callId });
        },
      });
      return [out];
    },
    timeoutSeconds: trunk.answerTimeout,
    timeoutEvent: 'call-timeout',
  });
}
