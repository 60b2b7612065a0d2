// Browser -> trunk (docs/architecture.md, "Call flows"): the browser's INVITE over WebSocket is
// authenticated and routed by dialled number; the B2BUA primitive carries it to the
// trunk (WebRTC offer -> RTP/AVP offer, the trunk's answer -> WebRTC answer), through
// the route's trunks in turn while they fail over (TrunkLeg). Transfers a browser agent
// asks for are routed here too (transferDeps): the same routes and guards.

import { parseUri, isSipUri, SipError, type ClientRequest, type HeaderValues, type IncomingRequest } from '@trapezoid/sip';
import type { TrunkConfig } from '../config/index.js';
import { TrunkLeg, trunkDomain } from '../trunks/index.js';
import type { Call } from './call.js';
import { connectB2bua } from './b2bua.js';
import { authenticate, checkInviteOffer, replyRefusal, type CallContext } from './context.js';
import type { TransferDeps, TransferTarget } from './transfer.js';
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
    dtmf: { toTrunk: trunk.dtmf, toBrowser: ctx.config.calls.dtmfToBrowser },
    send: (sdp, headers) => [inviteTrunks(ctx, call, trunks, target.number, user, sdp, headers, sips)],
    timeoutSeconds: trunk.answerTimeout,
    timeoutEvent: 'call-timeout',
    transfer: transferDeps(ctx, trunk),
  });
}

/** The INVITE to `number` over the route's trunks in turn while they fail with 503/408 and nothing was relayed. */
function inviteTrunks(
  ctx: CallContext, call: Call, trunks: TrunkConfig[], number: string, user: string, sdp: string, headers: HeaderValues, sips = false,
): TrunkLeg {
  return new TrunkLeg({
    trunks: ctx.trunks, candidates: trunks, log: call.log,
    send: (t, destination) => {
      const domain = trunkDomain(t);
      const port = t.port === undefined || t.port === 5060 ? '' : `:${t.port}`;
      return ctx.ua.request('INVITE', `${sips ? 'sips' : 'sip'}:${number}@${domain}${port}`, {
        from: `<sip:${user}@${ctx.config.domain}>`,
        to: `<sip:${number}@${domain}>`,
        destination, body: sdp, contentType: 'application/sdp', headers,
        ...(t.credentials ? { credentials: t.credentials } : {}),
      });
    },
    // Before 'proceeding' is announced (a trunk by address): observers see the B leg.
    onAttempt: (t, invite) => {
      call.record.trunk = t.name;
      call.record.bCallId = invite.message.callId;
      call.log.info('INVITE sent to trunk', { event: 'trunk-attempt', trunk: t.name, bLeg: invite.message.callId });
      // Our PRACK of the trunk's reliable provisional refused (RFC 3262 §4): logged with the call.
      const onPrack = (prack: ClientRequest): void => {
        void prack.final.then((r) => {
          if (r.status >= 300) call.inDialog({ side: 'b', method: 'PRACK', status: r.status, relayed: false, purpose: `our PRACK refused: ${r.reason}` });
        }, () => undefined);
      };
      invite.on('prack', onPrack);
      // PRACKs answer provisionals: none after the final. The INVITE outlives the call in
      // its transaction (Timer M, 32 s): its listener need not keep the call alive that long.
      void invite.final.then(() => invite.off('prack', onPrack));
    },
  });
}

/**
 * Where a call's REFER sends the transferee (calls/transfer.ts), decided as for a new
 * call from the referring agent: its dial patterns and call limits (CallGuards), then an
 * agent when the number is a registered user's or an inbound route's, else the outbound
 * routes. The INVITE carries the transferee's identity and Referred-By naming the agent
 * (RFC 3892). A refusal is the REFER's answer (403 with the rule, 404 no route).
 */
export function transferDeps(ctx: CallContext, trunk: TrunkConfig): TransferDeps {
  return {
    calls: ctx.calls,
    trunkRefer: trunk.refer,
    target: (number, call, refer) => {
      // The transferee: the trunk's caller on inbound calls, the number the agent dialled on outbound ones.
      const user = call.record.direction === 'inbound' ? userOf(call.record.from) : call.record.to;
      const identity = ctx.auth.identities.get(refer.message.transport?.flowId) ?? { user: userOf(refer.message.headers.get('from') ?? ''), method: 'digest' as const };
      const aor = ctx.registrar.lookup(`sip:${number}@${ctx.config.domain}`).length > 0
        ? `sip:${number}@${ctx.config.domain}` : ctx.router.inboundAor(number)?.aor;
      const contact = aor !== undefined ? ctx.registrar.lookup(aor).at(-1) : undefined;
      const route = contact ? undefined : ctx.router.outbound(number);
      if (!contact && (!route || route.kind !== 'trunk')) return Promise.reject(new SipError(404, `No route for ${number || 'an empty number'}`));
      const first = route?.kind === 'trunk' ? route.trunks[0] : undefined;
      const admission = ctx.guards.admitOutbound(identity, number, first, { callId: refer.message.callId, ...sourceOf(refer.message.transport) });
      if (!('release' in admission)) return Promise.reject(new SipError(admission.status, admission.reason));
      const referredBy = (referrer: string): HeaderValues => ({ 'Referred-By': `<${referrer}>` });
      const target: TransferTarget = contact
        ? {
          kind: 'agent',
          release: () => admission.release(),
          dial: (offer, referrer) => ctx.ua.request('INVITE', contact.contact, {
            from: `<sip:${user}@${ctx.config.domain}>`, to: `<${contact.aor}>`,
            destination: {
              protocol: contact.source.protocol as 'ws' | 'wss' | 'udp' | 'tcp' | 'tls', address: contact.source.address, port: contact.source.port,
              ...(contact.flowId !== undefined ? { flowId: contact.flowId } : {}),
            },
            body: offer, contentType: 'application/sdp', headers: referredBy(referrer),
          }),
        }
        : {
          kind: 'trunk',
          release: () => admission.release(),
          dial: (offer, referrer) => inviteTrunks(ctx, call, route!.kind === 'trunk' ? route!.trunks : [], route!.number, user, offer, referredBy(referrer)),
        };
      return Promise.resolve(target);
    },
  };
}

function userOf(uri: string): string {
  try {
    const u = parseUri(uri.includes('<') ? uri.slice(uri.indexOf('<') + 1, uri.indexOf('>')) : uri);
    return isSipUri(u) && u.user ? u.user : 'anonymous';
  } catch {
    return 'anonymous';
  }
}
