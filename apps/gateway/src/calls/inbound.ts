// Trunk -> browser agent (docs/architecture.md, "Call flows": call-centre ingress): the trunk's
// INVITE is routed by called number to an agent AOR, and the B2BUA primitive forks a
// WebRTC offer in parallel to every registered contact of it (first 2xx wins, the
// other branches are cancelled); the winner's answer becomes the RTP/AVP answer.

import { parseUri, isSipUri, parseNameAddr, SipError, type IncomingRequest } from '@trapezoid/sip';
import type { TrunkConfig } from '../config/index.js';
import { connectB2bua } from './b2bua.js';
import { checkInviteOffer, replyRefusal, type CallContext } from './context.js';
import { transferDeps } from './outbound.js';
import { sourceOf } from '../auth/source.js';
import { isSecureTransport, isSipsUri } from '../security/secure-transport.js';

export async function handleInboundInvite(ctx: CallContext, req: IncomingRequest, trunk: TrunkConfig): Promise<void> {
  const msg = req.message;
  checkInviteOffer(msg);
  const ruri = parseUri(msg.uri);
  const called = isSipUri(ruri) ? ruri.user ?? '' : '';
  const route = ctx.router.inboundAor(called);
  if (!route) throw new SipError(404, `No agent for ${called || 'an empty number'}`);
  // RFC 3261 §26.2.2: a sips: call goes on over TLS only: agents on a secure connection.
  const sips = isSipsUri(msg.uri);
  const all = ctx.registrar.lookup(route.aor);
  if (all.length === 0) throw new SipError(480, 'Agent not registered');
  const registered = sips ? all.filter((b) => isSecureTransport(b.source.protocol)) : all;
  if (registered.length === 0) throw new SipError(480, 'No agent on a secure connection for a SIPS URI');
  if (msg.body.length === 0) throw new SipError(488, 'An SDP offer is required in the INVITE');
  const admission = ctx.guards.admitInbound(trunk, { callId: msg.callId, called, ...sourceOf(msg.transport) });
  if (!('release' in admission)) return replyRefusal(req, admission);
  // Forking is bounded (security.maxForks): the most recently registered contacts ring.
  const contacts = registered.slice(-ctx.config.security.maxForks);
  const from = parseNameAddr(msg.headers.get('from') ?? '');
  const call = ctx.calls.create({ direction: 'inbound', aCallId: msg.callId, from: from.uri, to: route.aor });
  call.onEnd(() => admission.release());
  if (contacts.length < registered.length) {
    call.log.info('forking bounded', { event: 'fork-limited', aor: route.aor, registered: registered.length, rung: contacts.length });
  }
  call.record.trunk = trunk.name;
  const fromUser = userOf(from.uri);
  await connectB2bua(ctx, {
    call, req,
    profiles: { a: 'rtp', b: 'webrtc' },
    policy: { codecs: trunk.codecs },
    legacyHold: trunk.legacyHold,
    sessionTimers: { expires: ctx.config.calls.sessionExpires, minExpires: ctx.config.calls.minSessionExpires },
    dtmf: { toTrunk: trunk.dtmf, toBrowser: ctx.config.calls.dtmfToBrowser },
    send: (sdp, headers) => {
      const branches = contacts.map((b) => ctx.ua.request('INVITE', b.contact, {
        from: `<sip:${fromUser}@${ctx.config.domain}>`,
        to: `<${b.aor}>`,
        destination: {
          protocol: b.source.protocol as 'ws' | 'wss' | 'udp' | 'tcp' | 'tls',
          address: b.source.address,
          port: b.source.port,
          ...(b.flowId !== undefined ? { flowId: b.flowId } : {}),
        },
        body: sdp, contentType: 'application/sdp', headers,
      }));
      call.record.bCallId = branches[0]?.message.callId;
      return branches;
    },
    timeoutSeconds: route.ringTimeout,
    timeoutEvent: 'ring-timeout',
    transfer: transferDeps(ctx, trunk),
  });
}

function userOf(uri: string): string {
  try {
    const u = parseUri(uri);
    return isSipUri(u) && u.user ? u.user : 'anonymous';
  } catch {
    return 'anonymous';
  }
}
