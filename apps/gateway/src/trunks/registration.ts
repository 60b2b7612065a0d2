// Outbound registration to a trunk (RFC 3261 §10.2), as carriers ask of a PBX: one
// REGISTER binding per trunk, digest-authenticated through libs/sip's client, the
// same Call-ID and From tag with a CSeq counted up on every refresh (§10.2.4),
// refreshed well before the granted expiry, and retried with exponential back-off
// after a failure. A trunk given by name is tried target by target in RFC 3263 order
// (§4.3: a timeout, a transport error or a 503 moves on to the next); at shutdown the
// binding is removed (§10.2.2, Expires: 0), so the carrier stops sending calls to an
// address nobody answers. Its state is plain data (RegistrationStatus) for the admin API.

import { DigestClient, parseCSeq, parseNameAddr, type ClientRequest, type Destination, type SipResponse, type UserAgent } from '@trapezoid/sip';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logging.js';

export type RegistrationState = 'registering' | 'registered' | 'failed' | 'retrying' | 'stopped';

export interface RegistrationStatus {
  state: RegistrationState;
  /** Status of the last final response (a local 408/503 included). */
  lastStatus?: number;
  lastReason?: string;
  /** Date.now() when the binding runs out (registered) . */
  expiresAt?: number;
  /** Date.now() of the next REGISTER (refresh or retry). */
  nextAttemptAt?: number;
  /** Failures in a row (reset by a 2xx). */
  failures: number;
}

export interface RegistrationOptions {
  ua: UserAgent;
  log: Logger;
  /** Registrar Request-URI, e.g. sip:carrier.example. */
  registrar: string;
  /** Address of record, e.g. sip:user@carrier.example. */
  aor: string;
  credentials?: { username: string; password: string };
  expires: number;
  retryMin: number;
  retryMax: number;
  /** Where the REGISTER may go, best first (resolved per attempt: DNS answers may change). */
  destinations: () => Promise<Destination[]>;
  onChange: (s: RegistrationStatus) => void;
}

/** Legal moves of the registration state (one guarded transition function). */
const MOVES: Record<RegistrationState, readonly RegistrationState[]> = {
  registering: ['registered', 'failed', 'stopped'],
  registered: ['registering', 'stopped'],
  failed: ['retrying', 'stopped'],
  retrying: ['registering', 'stopped'],
  stopped: [],
};

export class TrunkRegistration {
  private s: RegistrationStatus = { state: 'registering', failures: 0 };
  private readonly callId = randomBytes(12).toString('hex');
  private readonly fromTag = randomBytes(6).toString('hex');
  private cseq = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: ClientRequest | undefined;
  private readonly digest: DigestClient | undefined;
  /** The registrar target holding our binding (the un-REGISTER goes there). */
  private boundTo: Destination | undefined;

  constructor(private readonly o: RegistrationOptions) {
    this.digest = o.credentials ? new DigestClient(o.credentials) : undefined;
  }

  get status(): Readonly<RegistrationStatus> {
    return this.s;
  }

  private get stopped(): boolean {
    return this.s.state === 'stopped';
  }

  start(): void {
    void this.register();
  }

  /**
   * Stops refreshing; a binding still in force is removed (RFC 3261 §10.2.2: Expires 0),
   * waiting at most `waitMs` for the registrar's answer.
   */
  async stop(waitMs = 2_000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    const bound = this.boundTo !== undefined && (this.s.expiresAt ?? 0) > Date.now() ? this.boundTo : undefined;
    this.move('stopped', {});
    this.boundTo = undefined;
    if (!bound) return;
    const out = this.send(bound, 0);
    let timer: NodeJS.Timeout | undefined;
    const status = await Promise.race([
      out.final.then((r) => r.status),
      new Promise<number>((resolve) => { timer = setTimeout(() => resolve(408), waitMs); timer.unref(); }),
    ]);
    clearTimeout(timer);
    const level = status >= 200 && status < 300 ? 'info' : 'warn';
    this.o.log[level]('trunk unregistered', { event: 'trunk-unregistered', aor: this.o.aor, status });
  }

  private send(destination: Destination, expires: number): ClientRequest {
    return this.o.ua.request('REGISTER', this.o.registrar, {
      from: `<${this.o.aor}>;tag=${this.fromTag}`,
      to: `<${this.o.aor}>`,
      callId: this.callId,
      cseq: ++this.cseq,
      destination,
      headers: { Expires: String(expires) },
      ...(this.digest ? { credentials: this.digest } : {}),
    });
  }

  private move(state: RegistrationState, patch: Partial<RegistrationStatus>): void {
    if (this.stopped) return;
    if (state !== this.s.state && !MOVES[this.s.state].includes(state)) {
      throw new Error(`registration: ${this.s.state} -> ${state} is not a legal move`);
    }
    this.s = { ...this.s, ...patch, state };
    this.o.onChange(this.s);
  }

  private schedule(ms: number, fn: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
    this.timer.unref();
  }

  private async register(): Promise<void> {
    if (this.stopped) return;
    if (this.s.state !== 'registering') this.move('registering', {});
    let targets: Destination[];
    try {
      targets = await this.o.destinations();
      if (targets.length === 0) throw new Error('no target');
    } catch (err) {
      this.failed(503, `no address for the registrar: ${String((err as Error).message ?? err)}`);
      return;
    }
    let res: SipResponse | undefined;
    let out: ClientRequest | undefined;
    for (let i = 0; i < targets.length; i++) {
      if (this.stopped) return;
      const dest = targets[i]!;
      const sent = this.send(dest, this.o.expires);
      this.pending = sent;
      res = await sent.final;
      if (this.pending !== sent || this.stopped) return;
      out = sent;
      // A digest retry sent the REGISTER again with the next CSeq (§10.2.4 counts on).
      this.cseq = parseCSeq(sent.message.headers.get('cseq') ?? '').seq;
      if (res.status >= 200 && res.status < 300) this.boundTo = dest;
      // RFC 3263 §4.3: no answer, a transport error or 503: the next target, if any.
      if ((res.status !== 408 && res.status !== 503) || i === targets.length - 1) break;
      this.o.log.info('registrar target failed, trying the next', {
        event: 'trunk-registrar-next', aor: this.o.aor, status: res.status, destination: `${dest.protocol}:${dest.address}:${dest.port}`,
      });
    }
    this.pending = undefined;
    if (!res || !out) return;
    if (res.status >= 200 && res.status < 300) this.registered(res, out);
    else if (res.status === 423) this.tooBrief(res);
    else this.failed(res.status, res.reason);
  }

  private registered(res: SipResponse, out: ClientRequest): void {
    const granted = grantedExpires(res, out.message.headers.get('contact') ?? '') ?? this.o.expires;
    // Refresh at 80% of the granted time, and at least a second before it runs out.
    const refreshIn = Math.max(500, Math.min(granted * 800, granted * 1000 - 1000));
    const now = Date.now();
    this.move('registered', { lastStatus: res.status, lastReason: res.reason, expiresAt: now + granted * 1000, nextAttemptAt: now + refreshIn, failures: 0 });
    this.o.log.info('trunk registered', { event: 'trunk-registered', aor: this.o.aor, expires: granted });
    this.schedule(refreshIn, () => void this.register());
  }

  /** §10.3 step 7: 423 names the shortest interval the registrar accepts. */
  private tooBrief(res: SipResponse): void {
    const min = Number(res.headers.get('min-expires'));
    if (Number.isFinite(min) && min > this.o.expires && this.s.failures === 0) {
      this.o.expires = min;
      this.move('failed', { lastStatus: 423, lastReason: res.reason, failures: 1 });
      this.move('retrying', { nextAttemptAt: Date.now() });
      this.schedule(0, () => void this.register());
      return;
    }
    this.failed(423, res.reason);
  }

  private failed(status: number, reason: string): void {
    const failures = this.s.failures + 1;
    const delay = Math.min(this.o.retryMax, this.o.retryMin * 2 ** (failures - 1)) * 1000;
    this.move('failed', { lastStatus: status, lastReason: reason, failures });
    this.o.log.warn('trunk registration failed', { event: 'trunk-registration-failed', aor: this.o.aor, status, reason, retryInMs: delay });
    this.move('retrying', { nextAttemptAt: Date.now() + delay });
    this.schedule(delay, () => void this.register());
  }
}

/** The expiry the registrar granted our binding: its Contact's expires, else Expires. */
function grantedExpires(res: SipResponse, ourContact: string): number | undefined {
  let ours: string | undefined;
  try {
    ours = parseNameAddr(ourContact).uri;
  } catch {
    ours = undefined;
  }
  for (const c of res.headers.getAll('contact')) {
    try {
      const na = parseNameAddr(c);
      const e = na.params.get('expires');
      if (na.uri === ours && typeof e === 'string' && /^\d+$/.test(e)) return Number(e);
    } catch {
      // another binding's odd Contact says nothing about ours
    }
  }
  const h = res.headers.get('expires');
  return h !== undefined && /^\d+$/.test(h.trim()) ? Number(h.trim()) : undefined;
}
