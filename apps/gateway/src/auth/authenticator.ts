// Authentication of the requests clients send the gateway (REGISTER, and INVITE
// outside a dialog), over every transport: digest (RFC 3261 §22) with replay-proof
// nonces, static users or ephemeral ones (password derived from the user name),
// failures banned per (source address, user), every failure logged with where it came
// from. A WebSocket that proved its identity at the upgrade (ephemeral credentials or a
// JWT, upgradeCredentials()) is not challenged: its requests are held to that identity.
//
// One rule for every authentication failure, whatever its cause (unknown user, wrong
// password, forged or foreign nonce, a banned client): a fresh challenge, 401 for
// REGISTER and 407 otherwise, with the status's standard reason phrase (RFC 3261
// §22.2/§22.3 say the server SHOULD challenge again). The answer, its phrase and the
// hashing work are the same, so an outsider cannot tell a user that exists from one
// that does not; only the log says which. 403 is kept for authorization, after the
// client proved who it is: an identity asking for what it may not have (another
// user's AOR or From, an expired credential).

import { readFileSync } from 'node:fs';
import {
  DigestServer, MemoryNonceUseStore, parseCredentials, type IncomingRequest, type NonceUseStore, type TransportInfo, type TransportLayer,
} from '@trapezoid/sip';
import {
  BanTable, EphemeralCredentials, JwtVerifier, jwksKeys, type ConnectionIdentity, type JwtKey, type UpgradeCredentials, type UpgradeRequest,
} from '@trapezoid/auth';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import { ConnectionIdentities } from './identities.js';
import { sourceOf } from './source.js';

export interface AuthenticatorOptions {
  config: GatewayConfig;
  log: Logger;
  /** Told which WebSocket flows authenticated (their admission deadline is lifted). */
  transport: TransportLayer;
  /** Where accepted nonce-counts are kept; a cluster shares one (issue 10). Default: in memory. */
  nonceUses?: NonceUseStore;
}

export class RequestAuthenticator {
  /** Undefined when auth.required is false: every request passes as "anonymous". */
  readonly digest: DigestServer | undefined;
  /** Authentication failures per (source address, user). */
  readonly bans: BanTable;
  /** Who each WebSocket connection speaks for; its screen() checks every request on it. */
  readonly identities: ConnectionIdentities;
  /** Ephemeral credentials (auth.ephemeral), when configured. */
  readonly ephemeral: EphemeralCredentials | undefined;
  /** JSON Web Tokens at the upgrade (auth.jwt), when configured. */
  readonly jwt: JwtVerifier | undefined;
  private readonly log: Logger;
  private readonly transport: TransportLayer;

  constructor(opts: AuthenticatorOptions) {
    const a = opts.config.auth;
    this.log = opts.log;
    this.transport = opts.transport;
    this.identities = new ConnectionIdentities(opts.transport, opts.log);
    this.ephemeral = a.ephemeral ? new EphemeralCredentials(a.ephemeral) : undefined;
    this.jwt = a.jwt ? jwtVerifier(a.jwt) : undefined;
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
        if (password !== undefined) return { password };
        // An ephemeral user name has its password derived, one per secret being rotated.
        if (this.ephemeral?.parse(username) !== undefined) return { passwords: this.ephemeral.passwords(username) };
        return undefined;
      },
    }) : undefined;
    this.bans = new BanTable({
      maxFailures: a.ban.failures, windowMs: a.ban.window * 1000, banMs: a.ban.duration * 1000, maxKeys: a.ban.tableSize,
    });
  }

  /**
   * Credentials carried by a WebSocket upgrade, for the admission policy: a JWT
   * (`?token=`, `?access_token=` or `Authorization: Bearer`) or ephemeral credentials
   * (auth_ephemeral's `?username=&password=`). Expired ones are refused 403
   * `Credentials expired`, any other bad one 403 `Forbidden`.
   */
  upgradeCredentials(url: URL, req: UpgradeRequest): UpgradeCredentials {
    const bearer = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    const token = url.searchParams.get('token') ?? url.searchParams.get('access_token') ?? bearer;
    if (token != null && this.jwt !== undefined) {
      const v = this.jwt.verify(token);
      if (v.ok) return { kind: 'valid', identity: v.identity };
      if (v.why === 'expired') return { kind: 'invalid', status: 403, reason: 'Credentials expired', why: 'JWT expired' };
      return { kind: 'invalid', status: 403, reason: 'Forbidden', why: `JWT: ${v.why}` };
    }
    const username = url.searchParams.get('username');
    const password = url.searchParams.get('password');
    if (this.ephemeral === undefined || username === null || password === null) return { kind: 'none' };
    const v = this.ephemeral.verify(username, password);
    if (v.ok) return { kind: 'valid', identity: v.identity };
    if (v.why === 'expired') return { kind: 'invalid', status: 403, reason: 'Credentials expired', why: `ephemeral credentials of ${username} expired` };
    return { kind: 'invalid', status: 403, reason: 'Forbidden', why: `ephemeral credentials: ${v.why}` };
  }

  /**
   * Authenticates an out-of-dialog request. Returns who sent it, or undefined after
   * having answered it (a challenge, 403, or 400 for credentials that do not parse).
   * A connection that proved its identity at the upgrade is not challenged: the
   * identity screen (identities.ts) has checked the request against it already.
   */
  async authenticate(req: IncomingRequest): Promise<ConnectionIdentity | undefined> {
    const msg = req.message;
    const flowId = msg.transport?.flowId;
    const atUpgrade = flowId === undefined ? undefined : this.transport.flowContext(flowId) as ConnectionIdentity | undefined;
    if (atUpgrade !== undefined) return atUpgrade;
    const digest = this.digest;
    if (digest === undefined) return { user: 'anonymous', method: 'digest' };
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
      return this.authenticated(req, result.username);
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

  close(): void {
    this.identities.close();
  }

  /**
   * Digest passed for `username`: its identity (an ephemeral name's user, refused
   * 403 once expired), bound to the WebSocket it came on; another user's credentials
   * on a connection bound to someone else close it (1008).
   */
  private authenticated(req: IncomingRequest, username: string): ConnectionIdentity | undefined {
    const msg = req.message;
    const where = { method: msg.method, callId: msg.callId, ...sourceOf(msg.transport) };
    const name = this.ephemeral?.parse(username);
    const identity: ConnectionIdentity = name !== undefined ? this.ephemeral!.identity(name) : { user: username, method: 'digest' };
    if (name !== undefined && this.ephemeral!.expired(name)) {
      this.log.warn('request refused: credentials expired', {
        event: 'credentials-expired', ...where, user: identity.user, expiredAt: new Date(name.expiresAt).toISOString(),
      });
      req.reply(403, 'Credentials expired');
      return undefined;
    }
    const t = msg.transport;
    if (t?.flowId !== undefined && (t.protocol === 'ws' || t.protocol === 'wss')) {
      const bound = this.identities.get(t.flowId);
      if (bound !== undefined && bound.user !== identity.user) {
        const reason = 'Credentials of another user on this connection';
        this.log.warn('request refused: not the connection\'s user', { event: 'identity-mismatch', ...where, user: bound.user, claimed: identity.user, reason });
        req.reply(403, reason);
        this.transport.closeFlow(t.flowId, 1008, reason);
        return undefined;
      }
      this.identities.bind(t.flowId, identity);
      this.transport.markAuthenticated(t.flowId);
    }
    return identity;
  }

  /** 401 + WWW-Authenticate for REGISTER, 407 + Proxy-Authenticate otherwise (RFC 3261 §22.1, §22.3). */
  private challenge(req: IncomingRequest, stale: boolean): void {
    const c = this.challengeFor(req.message.method, stale);
    // Over UDP the challenge goes out once, statelessly (RFC 3261 §8.2.7): a spoofed
    // request with made-up credentials must not get a retransmitted 407 (issue 8).
    if (req.message.transport?.protocol === 'udp') req.replyOnce(c.status, undefined, { headers: c.headers });
    else req.reply(c.status, { headers: c.headers });
  }

  /**
   * The challenge for a request of `method` (also sent statelessly by the edge screen,
   * security/edge-screen.ts): 401 with WWW-Authenticate for REGISTER, else 407 with
   * Proxy-Authenticate. Only when digest is on.
   */
  challengeFor(method: string, stale = false): { status: 401 | 407; headers: Record<string, string[]> } {
    const values = this.digest!.challenge(stale);
    return method === 'REGISTER' ? { status: 401, headers: { 'WWW-Authenticate': values } } : { status: 407, headers: { 'Proxy-Authenticate': values } };
  }
}

/** The JWT verifier of auth.jwt: its secrets and JWK Set (checked by the schema already). */
function jwtVerifier(j: NonNullable<GatewayConfig['auth']['jwt']>): JwtVerifier {
  const keys: JwtKey[] = j.secrets.map((secret) => ({ alg: 'HS256', secret: Buffer.from(secret, 'utf8') }));
  if (j.jwks !== undefined) keys.push(...jwksKeys(JSON.parse(readFileSync(j.jwks, 'utf8'))));
  return new JwtVerifier({
    keys, leewaySec: j.leeway, userClaim: j.userClaim, dialClaim: j.dialClaim,
    ...(j.algorithms ? { algorithms: j.algorithms } : {}), ...(j.issuer ? { issuer: j.issuer } : {}), ...(j.audience ? { audience: j.audience } : {}),
  });
}

/** Bans are per (source address, claimed user): neighbours behind one NAT address are not locked out. */
function banKey(t: TransportInfo | undefined, user: string | undefined): string {
  return (t?.remoteAddress ?? '') + '|' + (user ?? '');
}
