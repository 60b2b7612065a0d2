// What call handlers need from the gateway, passed explicitly (no singletons).

import { SipError, acceptsMediaType, isMediaType, type UserAgent, type IncomingRequest, type SipRequest } from '@trapezoid/sip';
import { SdpError } from '@trapezoid/sdp';
import type { MediaEngine } from '@trapezoid/media';
import type { GatewayConfig, TrunkConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import type { Registrar } from '../registrar/registrar.js';
import type { Call, CallRegistry } from './call.js';
import { CallMedia } from '../media/call-media.js';
import type { Router } from './routing.js';
import type { Trunks } from '../trunks/index.js';
import type { RequestAuthenticator } from '../auth/authenticator.js';
import type { CallGuards, CallRefusal } from '../security/call-guards.js';
import type { ConnectionIdentity } from '@trapezoid/auth';

export interface CallContext {
  ua: UserAgent;
  config: GatewayConfig;
  router: Router;
  calls: CallRegistry;
  registrar: Registrar;
  /** Media workers: the calls' legs and bridges live there, never on this thread. */
  engine: MediaEngine;
  log: Logger;
  /** Authentication of client requests (digest, bans, connection identity). */
  auth: RequestAuthenticator;
  /** The built-in echo endpoint, reached like a trunk. */
  echoTrunk: () => TrunkConfig | undefined;
  /** Trunk runtime: location, up/down, registrations (apps/gateway/src/trunks). */
  trunks: Trunks;
  /** Toll-fraud guards: dial patterns, call limits per user and trunk (security/call-guards.ts). */
  guards: CallGuards;
}

/**
 * Authenticates an out-of-dialog request from a client (RFC 3261 §22.3,
 * Proxy-Authenticate for INVITE). Returns who sent it, or undefined after having
 * answered the request with the challenge or the refusal. The identity carries what a
 * credential allows (ConnectionIdentity.dialPatterns, from a JWT) for the toll-fraud checks.
 */
export async function authenticate(ctx: CallContext, req: IncomingRequest): Promise<ConnectionIdentity | undefined> {
  return ctx.auth.authenticate(req);
}

/** Answers a call the guards refused (with Retry-After on a 503, RFC 3261 §21.5.4). */
export function replyRefusal(req: IncomingRequest, r: CallRefusal): void {
  req.reply(r.status, r.reason, r.retryAfter !== undefined ? { headers: { 'Retry-After': String(r.retryAfter) } } : undefined);
}

/**
 * A call whose setup threw: the caller gets the error's status (SipError and SdpError
 * carry one; anything else is our fault, 500, and logged) and the call ends with it.
 */
/**
 * RFC 3261 §8.2.3 for an INVITE the gateway is to bridge: a body must be SDP (415 with
 * Accept, RFC 4475 invut), and the answer will be SDP so the caller must accept that
 * (406, sdp01). Checked once the caller is authenticated and before routing, as §8.2
 * orders it; a missing offer is the call flows' 488.
 */
export function checkInviteOffer(msg: SipRequest): void {
  if (msg.body.length > 0 && !isMediaType(msg.headers.get('content-type'), 'application/sdp')) {
    throw new SipError(415, 'Unsupported Media Type: the offer must be application/sdp', { headers: { Accept: 'application/sdp' } });
  }
  if (msg.headers.has('accept') && !acceptsMediaType(msg.headers.getAll('accept'), 'application/sdp')) {
    throw new SipError(406, 'Not Acceptable: the answer would be application/sdp', {
      headers: { Accept: 'application/sdp', Warning: '399 trapezoid "Accept does not include application/sdp"' },
    });
  }
}

export async function failSetup(call: Call, req: IncomingRequest, err: unknown): Promise<void> {
  const known = err instanceof SipError || err instanceof SdpError;
  const status = known ? err.status : 500;
  const reason = known ? err.reason : 'Server Internal Error';
  if (!known) call.log.error('call setup failed', { event: 'call-error', error: String(err) });
  if (!req.finalSent) req.reply(status, reason);
  await call.end(status, reason, 'gateway', 'setup-failed');
}

/**
 * Binds the call's media legs and hands them to the call. Null when the call ended
 * while the ports were being bound (end() ran without them, so they are released here).
 */
export async function bindCallMedia(ctx: Pick<CallContext, 'engine' | 'config'>, call: Call): Promise<CallMedia | null> {
  const m = ctx.config.media;
  const trunk = ctx.config.trunks.find((t) => t.name === call.record.trunk);
  const media = await CallMedia.create({
    engine: ctx.engine,
    ...(m.publicAddress ? { advertisedAddress: m.publicAddress } : {}),
    ...(m.interfaces ? { interfaces: m.interfaces } : {}),
    ...(trunk && trunk.mediaNetworks.length > 0 ? { mediaNetworks: trunk.mediaNetworks } : {}),
  }).catch((err: unknown) => {
    // Every port of the range taken: the gateway is full for now, not broken (RFC 3261 §21.5.4).
    const e = err as { code?: unknown; status?: unknown };
    if (e.code === 'EMEDIAPORTS') throw new SipError(503, 'No media port free');
    // The engine says 503 itself when no media worker is up (crashed, restarting).
    if (e.status === 503) throw new SipError(503, 'Media unavailable');
    throw err;
  });
  if (call.ended) {
    await media.close();
    return null;
  }
  call.attachMedia(media);
  return media;
}
