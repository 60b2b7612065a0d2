// Authentication of the requests clients send the gateway (REGISTER, and INVITE
// outside a dialog), over every transport: digest (RFC 3261 §22) with replay-proof
// nonces, failures banned per (source address, user), every failure logged with
// where it came from.
//
// One rule for every authentication failure, whatever its cause (unknown user, wrong
// password, forged or foreign nonce, a banned client): a fresh challenge, 401 for
// REGISTER and 407 otherwise, with the status's standard reason phrase (RFC 3261
// §22.2/§22.3 say the server SHOULD challenge again). The answer, its phrase and the
// hashing work are the same, so an outsider cannot tell a user that exists from one
// that does not; only the log says which. 403 is kept for authorization, after the
// client proved who it is: an identity asking for what it may not have (another
// user's AOR or From, an expired credential).

import {
  DigestServer, MemoryNonceUseStore, parseCredentials, type IncomingRequest, type NonceUseStore, type TransportInfo, type TransportLayer,
} from '@trapezoid/sip';
import { BanTable, type ConnectionIdentity } from '@trapezoid/auth';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../logging.js';

export interface AuthenticatorOptions {
  config: GatewayConfig;
  log: Logger;
  /** Told which WebSocket flows authenticated (their admission deadline is lifted). */
  transport: TransportLayer;
  /** Where accepted nonce-counts are kept; a cluster shares one (issue 10). Default: in memory. */
  nonceUses?: NonceUseStore;
}

/** Where a request came from, as the log names it: `ip:port` and the transport. */
export function sourceOf(t: TransportInfo | undefined): { source: string; transport: string } {
  if (t === undefined) return { source: 'unknown', transport: 'unknown' };
  const host = t.remoteAddress.includes(':') ? `[${t.remoteAddress}]` : t.remoteAddress;
  return { source: `${host}:${t.remotePort}`, transport: t.protocol };
}

export class RequestAuthenticator {
  /** Undefined when auth.required is false: every request passes as "anonymous". */
  readonly digest: DigestServer | undefined;
  /** Authentication failures per (source address, user). */
  readonly bans: BanTable;
  private readonly log: Logger;
  private readonly transport: TransportLayer;

  constructor(opts: AuthenticatorOptions) {
    const a = opts.config.auth;
    this.log = opts.log;
    this.transport = opts.transport;
    const users = new Map(opts.config.users.map((u) => [u.username, u.password]));
    this.digest = a.required ? new DigestServer({
      realm: a.realm,
      algorithms: a.algorithms,
      nonceTtlSec: a.nonceTtl,
      ...(a.nonceSecret !== undefined ? { secret: Buffer.from(a.nonceSecret, 'utf8') } : {}),
      nonceUses: opts.nonceUses ?? new MemoryNonceUseStore(a.nonceTableSize),
      wrongPasswordStatus: 401,
      lookup: (username) => {
        const password = users.get(username);
        return password === undefined ? undefined : { password };
      },
    }) : undefined;
    this.bans = new BanTable({
      maxFailures: a.ban.failures, windowMs: a.ban.window * 1000, banMs: a.ban.duration * 1000, maxKeys: a.ban.tableSize,
    });
  }

  /**
   * Authenticates an out-of-dialog request. Returns who sent it, or undefined after
   * having answered it (a challenge, or 400 for credentials that do not parse).
   */
  async authenticate(req: IncomingRequest): Promise<ConnectionIdentity | undefined> {
    const digest = this.digest;
    if (digest === undefined) return { user: 'anonymous', method: 'digest' };
    const msg = req.message;
    const register = msg.method === 'REGISTER';
    const authorization = msg.headers.get(register ? 'authorization' : 'proxy-authorization');
    const where = { method: msg.method, callId: msg.callId, ...sourceOf(msg.transport) };
    if (authorization === undefined) {
      this.challenge(req, false);
      return undefined;
    }
    let claimed: string | undefined;
    try {
      claimed = parseCredentials(authorization).username;
    } catch {
      claimed = undefined;
    }
    const key = banKey(msg.transport, claimed);
    const until = this.bans.bannedUntil(key);
    if (until !== undefined) {
      // Same answer as any failure, and no password check: a banned guesser learns nothing.
      this.log.debug('authentication refused: banned', { event: 'auth-banned-refused', ...where, user: claimed, until: new Date(until).toISOString() });
      this.challenge(req, false);
      return undefined;
    }
    const result = await digest.verify({ method: msg.method, uri: msg.uri, authorization });
    if (result.ok) {
      this.bans.success(key);
      const flowId = msg.transport?.flowId;
      if (flowId !== undefined) this.transport.markAuthenticated(flowId);
      return { user: result.username, method: 'digest' };
    }
    if (result.stale) {
      // The password was right; the nonce expired or was used: retry with a fresh one.
      this.log.info('authentication stale', { event: 'auth-stale', ...where, user: claimed, reason: result.reason });
      this.challenge(req, true);
      return undefined;
    }
    const verdict = this.bans.failure(key);
    this.log.warn('authentication failed', {
      event: 'auth-failed', ...where, user: claimed ?? null, reason: result.reason, failures: verdict.failures,
    });
    if (verdict.banStarted) {
      this.log.warn('authentication banned', {
        event: 'auth-banned', ...where, user: claimed ?? null, failures: verdict.failures,
        until: new Date(verdict.bannedUntil!).toISOString(),
      });
    }
    if (result.status === 400) req.reply(400, result.reason);
    else this.challenge(req, false);
    return undefined;
  }

  /** 401 + WWW-Authenticate for REGISTER, 407 + Proxy-Authenticate otherwise (RFC 3261 §22.1, §22.3). */
  private challenge(req: IncomingRequest, stale: boolean): void {
    const values = this.digest!.challenge(stale);
    if (req.message.method === 'REGISTER') req.reply(401, { headers: { 'WWW-Authenticate': values } });
    else req.reply(407, { headers: { 'Proxy-Authenticate': values } });
  }
}

/** Bans are per (source address, claimed user): neighbours behind one NAT address are not locked out. */
function banKey(t: TransportInfo | undefined, user: string | undefined): string {
  return (t?.remoteAddress ?? '') + '|' + (user ?? '');
}
