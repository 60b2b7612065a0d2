// Who may open a SIP WebSocket (RFC 7118) before a single SIP byte is read: the
// decision on the HTTP upgrade request (RFC 6455 §4.2.1) and the connection counts
// that back it. In order: the Host the client asked for (a page on another site that
// resolves its own name to our address, DNS rebinding, names a Host we do not serve),
// the Origin of the page (RFC 6454; browsers always send it, so a foreign page cannot
// borrow a visitor's browser), the connection limits (per address, with CIDR
// exemptions for NATed call centres, and in total), then credentials carried in the
// URL (ephemeral or JWT, verified by the caller's function). A refusal carries the
// HTTP status and a reason phrase naming the rule.

import { CidrSet } from './cidr.js';
import type { ConnectionIdentity } from './identity.js';

/** The parts of an upgrade request the policy reads (node's IncomingMessage has them). */
export interface UpgradeRequest {
  remoteAddress: string;
  /** Request target as received, path and query. */
  url: string;
  /** Lowercase header names, as node gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** What the credential check at the upgrade says. */
export type UpgradeCredentials =
  | { kind: 'none' }
  | { kind: 'valid'; identity: ConnectionIdentity }
  | { kind: 'invalid'; status: number; reason: string; why: string };

export interface WsAdmissionOptions {
  /**
   * Allowed Origin values (scheme://host[:port], compared case-insensitively). Empty:
   * no Origin (a non-browser client) or one whose host is the Host the client asked
   * for (a page served under the same name; loopback names count as one). `*` allows any.
   */
  origins?: readonly string[];
  /**
   * Allowed Host names (without port). Empty: any name, except that a loopback-bound
   * listener (`loopbackOnly`) serves only loopback names, so a page on a rebinding
   * name cannot reach it.
   */
  hosts?: readonly string[];
  /** The listener is bound to a loopback address (see `hosts`). */
  loopbackOnly?: boolean;
  /** The connection counts, shared by every listener of the gateway. */
  limits: ConnectionLimits;
  /** Credentials carried in the upgrade (URL query or headers). Default: none looked for. */
  credentials?: (url: URL, req: UpgradeRequest) => UpgradeCredentials;
}

export type AdmissionVerdict =
  | {
    admit: true;
    /** Proven at the upgrade, when credentials came with it. */
    identity?: ConnectionIdentity;
    /** Gives the connection's place back; call exactly once, when it is gone. */
    release: () => void;
  }
  | {
    admit: false;
    /** HTTP status for the refused upgrade. */
    status: number;
    /** Reason phrase: names the rule, never the credential. */
    reason: string;
    /** More detail for the log (which Origin, which limit). */
    why: string;
  };

export interface ConnectionLimitsOptions {
  /** Open connections allowed from one address (exempt addresses aside). */
  maxPerAddress: number;
  /** Open connections allowed in total. */
  maxTotal: number;
  /** Addresses not held to maxPerAddress (a call centre's NAT address), CIDR blocks. */
  exempt?: readonly string[];
}

/** Open connections per address and in total, against their limits. */
export class ConnectionLimits {
  private readonly perAddress = new Map<string, number>();
  private total = 0;
  private readonly exempt: CidrSet;

  /** Throws CidrError naming a bad `exempt` entry. */
  constructor(private readonly opts: ConnectionLimitsOptions) {
    this.exempt = new CidrSet(opts.exempt ?? []);
  }

  /** Open (taken, not yet released) connections. */
  get open(): number {
    return this.total;
  }

  openFrom(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** The refusal for one more connection from `address`, or undefined when there is room. */
  check(address: string): { status: number; reason: string; why: string } | undefined {
    if (!this.exempt.has(address) && this.openFrom(address) >= this.opts.maxPerAddress) {
      return { status: 429, reason: 'Too many connections from this address', why: `${this.opts.maxPerAddress} open from ${address}` };
    }
    if (this.total >= this.opts.maxTotal) return { status: 503, reason: 'Too many connections', why: `${this.opts.maxTotal} open in total` };
    return undefined;
  }

  /** Counts a connection from `address`; the returned function gives it back (once). */
  take(address: string): () => void {
    this.total++;
    this.perAddress.set(address, this.openFrom(address) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const n = this.openFrom(address) - 1;
      if (n > 0) this.perAddress.set(address, n);
      else this.perAddress.delete(address);
    };
  }
}

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.', 'ip6-localhost']);

function header(req: UpgradeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The host name of a Host header value (RFC 9110 §7.2), lowercased, brackets removed. */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function isLoopbackName(name: string): boolean {
  return LOOPBACK_NAMES.has(name) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name === '::1';
}

export class WsAdmissionPolicy {
  private readonly origins: ReadonlySet<string>;
  private readonly anyOrigin: boolean;
  private readonly hosts: ReadonlySet<string>;
  private readonly loopbackOnly: boolean;
  private readonly limits: ConnectionLimits;
  private readonly credentials: WsAdmissionOptions['credentials'];

  constructor(opts: WsAdmissionOptions) {
    const origins = (opts.origins ?? []).map((o) => o.toLowerCase().replace(/\/+$/, ''));
    this.anyOrigin = origins.includes('*');
    this.origins = new Set(origins);
    this.hosts = new Set((opts.hosts ?? []).map((h) => hostName(h)));
    this.loopbackOnly = opts.loopbackOnly ?? false;
    this.limits = opts.limits;
    this.credentials = opts.credentials;
  }

  admit(req: UpgradeRequest): AdmissionVerdict {
    const hostHeader = header(req, 'host');
    if (hostHeader === undefined || hostHeader.trim() === '') return refuse(400, 'Host header required', 'no Host header');
    const host = hostName(hostHeader);
    if (this.hosts.size > 0 ? !this.hosts.has(host) : this.loopbackOnly && !isLoopbackName(host)) {
      // RFC 9110 §15.5.20: not a name this listener serves.
      return refuse(421, 'Host not served here', `Host ${host}`);
    }
    const origin = header(req, 'origin');
    if (!this.originAllowed(origin, host)) return refuse(403, 'Origin not allowed', `Origin ${origin ?? '(none)'}`);
    const full = this.limits.check(req.remoteAddress);
    if (full !== undefined) return refuse(full.status, full.reason, full.why);
    let identity: ConnectionIdentity | undefined;
    if (this.credentials !== undefined) {
      let url: URL;
      try {
        url = new URL(req.url, 'ws://upgrade.invalid');
      } catch {
        return refuse(400, 'Bad request target', 'unparsable URL');
      }
      const c = this.credentials(url, req);
      if (c.kind === 'invalid') return refuse(c.status, c.reason, c.why);
      if (c.kind === 'valid') identity = c.identity;
    }
    const release = this.limits.take(req.remoteAddress);
    return identity === undefined ? { admit: true, release } : { admit: true, identity, release };
  }

  private originAllowed(origin: string | undefined, host: string): boolean {
    if (this.anyOrigin) return true;
    if (this.origins.size > 0) return origin !== undefined && this.origins.has(origin.toLowerCase().replace(/\/+$/, ''));
    if (origin === undefined) return true;
    try {
      // A page served under the name the client connects to (the demo page, a proxy in
      // front); on loopback any loopback name is the same machine (localhost vs 127.0.0.1).
      const originHost = new URL(origin).hostname.replace(/^\[|\]$/g, '').toLowerCase();
      return originHost === host || (isLoopbackName(originHost) && isLoopbackName(host));
    } catch {
      return false;
    }
  }
}

function refuse(status: number, reason: string, why: string): AdmissionVerdict {
  return { admit: false, status, reason, why };
}
