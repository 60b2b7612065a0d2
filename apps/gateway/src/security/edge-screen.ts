// The gateway's request screen (libs/sip RequestScreen, RFC 3261 §8.2.7): what is
// decided about a request before any transaction exists, in this order:
// 1. the per-address rate limit (flood-guard.ts): a banned address's request is dropped;
// 2. a scanner's User-Agent (scanners.ts): dropped, its address banned;
// 3. over UDP, an INVITE or REGISTER outside a dialog without credentials, from anyone
//    but a trunk: answered statelessly with the challenge (407, or 401 for REGISTER),
//    once, with no transaction and no retransmission. Today's alternative, a transaction
//    per spoofable datagram, kept ~8 KB for 32 s and sent 11 copies of the 407 (16x byte
//    reflection). The challenge is the authenticator's own (same nonce mint, same rule).
// Everything else goes on to a transaction and the handlers.

import { tagOf, type ScreenVerdict, type SipRequest } from '@trapezoid/sip';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import type { RequestAuthenticator } from '../auth/authenticator.js';
import { sourceOf } from '../auth/source.js';
import { FloodGuard } from './flood-guard.js';
import { ScannerDetector } from './scanners.js';
import type { TrunkAcl } from './trunk-acl.js';

const DROP: ScreenVerdict = { action: 'drop' };

export interface EdgeScreenOptions {
  config: GatewayConfig;
  log: Logger;
  trunkAcl: TrunkAcl;
  auth: RequestAuthenticator;
  now?: () => number;
}

export class EdgeScreen {
  readonly flood: FloodGuard;
  private readonly scanners: ScannerDetector;
  private readonly opts: EdgeScreenOptions;
  /** Scanner requests dropped. */
  scannerDrops = 0;

  constructor(opts: EdgeScreenOptions) {
    this.opts = opts;
    const s = opts.config.security;
    this.flood = new FloodGuard({
      requests: s.rateLimit.requests, windowSeconds: s.rateLimit.window, banSeconds: s.rateLimit.ban,
      tableSize: s.rateLimit.tableSize, exempt: s.rateLimit.exempt, log: opts.log,
      isTrunkAddress: (a) => opts.trunkAcl.isTrunkAddress(a),
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.scanners = new ScannerDetector(s.scanners.userAgents);
  }

  readonly screen = (req: SipRequest): ScreenVerdict => {
    const t = req.transport;
    if (t === undefined) return undefined;
    const facts = { method: req.method, callId: req.callId, ...sourceOf(t) };
    if (!this.flood.admit(t.remoteAddress, facts)) return DROP;
    const scanner = this.scanners.match(req.headers.get('user-agent'));
    if (scanner !== undefined && this.opts.trunkAcl.identify(t) === undefined) {
      this.scannerDrops++;
      const ban = this.flood.ban(t.remoteAddress);
      // Once per ban; an exempt address (a trunk's host, a listed NAT) is not banned, so each is logged.
      if (ban !== 'banned') {
        this.opts.log.warn(ban === 'started' ? 'SIP scanner refused: address banned' : 'SIP scanner refused (exempt address: not banned)', {
          event: 'scanner-refused', scanner, userAgent: req.headers.get('user-agent'), address: t.remoteAddress, banned: ban === 'started', ...facts,
        });
      }
      return DROP;
    }
    return this.statelessChallenge(req);
  };

  private statelessChallenge(req: SipRequest): ScreenVerdict {
    const digest = this.opts.auth.digest;
    const t = req.transport!;
    if (!this.opts.config.security.statelessChallenge || digest === undefined || t.protocol !== 'udp') return undefined;
    const register = req.method === 'REGISTER';
    if (!register && req.method !== 'INVITE') return undefined;
    if (req.headers.has(register ? 'authorization' : 'proxy-authorization')) return undefined;
    if (tagOf(req.headers.get('to') ?? '') !== undefined) return undefined;
    if (this.opts.trunkAcl.identify(t) !== undefined) return undefined;
    this.opts.log.debug('challenged statelessly', { event: 'challenge-stateless', method: req.method, callId: req.callId, ...sourceOf(t) });
    return { action: 'reply', ...this.opts.auth.challengeFor(req.method) };
  }
}
