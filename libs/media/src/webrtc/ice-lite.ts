// ICE-lite agent (RFC 8445 §2.5, §8.2.2): the gateway has one public host candidate
// per leg, so it never gathers, never sends checks, and is always the controlled
// agent. It answers the browser's Binding requests, takes the pair the browser
// nominates (USE-CANDIDATE) as the one media goes to, and tracks consent (RFC 7675)
// from the browser's periodic checks.
import { randomBytes } from 'node:crypto';
import { type BindingRequest, StunWriter, checkIntegrity, parseBindingRequest } from './stun.js';

// One response buffer per thread (548 bytes and two objects per WebRTC leg otherwise):
// every user sends the response before it hands the agent the next datagram.
const writer = new StunWriter();

export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function iceString(n: number): string {
  const raw = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ICE_CHARS[raw[i]! & 63];
  return s;
}

/** Fresh credentials: RFC 8839 §5.4 asks for ≥24 bits of ufrag and ≥128 bits of pwd randomness. */
export function generateIceCredentials(): IceCredentials {
  return { ufrag: iceString(8), pwd: iceString(24) };
}

export interface IceLiteOptions {
  /** The peer's a=ice-ufrag when the SDP is known: checks must carry "ours:theirs". */
  remoteUfrag?: string;
  /** RFC 7675 §5.1: consent expires 30 s after the last valid check. */
  consentTimeoutMs?: number;
}

export interface SelectedPair {
  address: string;
  port: number;
}

/** What one incoming STUN datagram did. */
export const CheckResult = {
  /** Not a Binding request or bad FINGERPRINT: dropped silently (RFC 5389 §7.3). */
  Ignored: 0,
  /** Answered with an error (400/401/420/487). */
  Rejected: 1,
  /** Valid check answered with success; the selected pair did not change. */
  Answered: 2,
  /** Valid check with USE-CANDIDATE that nominated a new pair. */
  Nominated: 3,
} as const;
export type CheckResult = (typeof CheckResult)[keyof typeof CheckResult];

export class IceLiteAgent {
  local: IceCredentials;
  remoteUfrag: string | null;
  readonly consentTimeoutMs: number;
  /** The pair the browser nominated: where media goes. Null until USE-CANDIDATE. */
  selected: SelectedPair | null = null;
  /** performance.now() of the first nomination, 0 before. */
  nominatedAt = 0;
  /**
   * performance.now() of the last valid check on the pair media uses (consent, RFC 7675
   * §5.1): the selected pair, or before any nomination the pair of any valid check
   * (the leg sends to the last one; Chrome sends media on a valid pair it never
   * nominates, RFC 8445 §12.1). 0: no valid check yet.
   */
  consentAt = 0;
  /**
   * The response to send for the last handled datagram: valid until the next handle() of
   * any agent on this thread (all of them build into one buffer, sent before the next).
   */
  response: Buffer | null = null;
  private prefix: string;

  constructor(local: IceCredentials, opts: IceLiteOptions = {}) {
    this.local = local;
    this.remoteUfrag = opts.remoteUfrag ?? null;
    this.consentTimeoutMs = opts.consentTimeoutMs ?? 30_000;
    this.prefix = local.ufrag + ':';
  }

  /**
   * ICE restart (RFC 8445 §9, RFC 8839 §4.4.1.1.1): new local credentials after the
   * peer's re-offer with new ones. The selected pair and its consent stay until the peer
   * nominates again, so media keeps flowing meanwhile.
   */
  restart(local: IceCredentials, remoteUfrag: string | null): void {
    this.local = { ...local };
    this.prefix = local.ufrag + ':';
    this.remoteUfrag = remoteUfrag;
  }

  /**
   * Handles one STUN datagram from `address:port`; afterwards `response` holds the
   * bytes to send back to that address (or null).
   */
  handle(buf: Buffer, len: number, address: string, port: number): CheckResult {
    this.response = null;
    const req = parseBindingRequest(buf, len);
    if (req === null) return CheckResult.Ignored;
    const fault = this.authenticate(buf, req);
    if (fault !== 0) {
      const authenticated = fault === 420 || fault === 487;
      this.response = writer.error(req.transactionId, fault, REASONS[fault]!, authenticated ? this.local.pwd : null,
        fault === 420 ? req.unknown : undefined);
      return CheckResult.Rejected;
    }
    this.response = writer.success(req.transactionId, address, port, this.local.pwd);
    const now = performance.now();
    const sel = this.selected;
    const onSelected = sel !== null && sel.port === port && sel.address === address;
    if (onSelected || sel === null) this.consentAt = now;
    // §8.2.2 / §7.3.1.5: a lite agent takes what the controlling agent nominates. The
    // latest nomination wins, so a browser that renominates after a network change
    // moves the media with it.
    if (req.useCandidate && !onSelected) {
      this.selected = { address, port };
      this.consentAt = now;
      if (this.nominatedAt === 0) this.nominatedAt = now;
      return CheckResult.Nominated;
    }
    return CheckResult.Answered;
  }

  /** 0 when the request is acceptable, else the STUN error code to answer with. */
  private authenticate(buf: Buffer, req: BindingRequest): number {
    // RFC 5389 §10.1.2: missing credentials -> 400; wrong ones -> 401.
    if (req.username === null || req.integrityAt < 0) return 400;
    if (!req.username.startsWith(this.prefix)) return 401;
    if (this.remoteUfrag !== null && req.username.length !== this.prefix.length + this.remoteUfrag.length) return 401;
    if (this.remoteUfrag !== null && !req.username.endsWith(this.remoteUfrag)) return 401;
    if (!checkIntegrity(buf, req, this.local.pwd)) return 401;
    if (req.unknown.length > 0) return 420;
    // §7.3.1.1: we are always controlled; a peer that also thinks it is controlled
    // must switch, which 487 tells it to do.
    if (req.iceControlled && !req.iceControlling) return 487;
    return 0;
  }

  /**
   * RFC 7675 §5.1: true once no valid check arrived for the timeout on the pair media
   * uses, nominated or not. A peer that never sent a valid check has given no consent to
   * lose: that is the call's ICE timeout (engine watch), not this.
   */
  consentExpired(now: number): boolean {
    return this.consentAt !== 0 && now - this.consentAt > this.consentTimeoutMs;
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  420: 'Unknown Attribute',
  487: 'Role Conflict',
};
