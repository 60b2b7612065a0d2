// REGISTER handling (RFC 3261 §10.3) for browser agents over WebSocket, with
// RFC 5626 instance-id/reg-id and flow-bound bindings: a binding made over a
// WebSocket disappears when that WebSocket closes.

import {
  parseNameAddr, parseUri, parseCSeq, formatUri, isSipUri, unquote, SipError,
  type IncomingRequest, type UserAgent, type TransportLayer,
} from '@trapezoid/sip';
import { EventEmitter } from 'node:events';
import type { Logger } from '../logging.js';
import type { RequestAuthenticator } from '../auth/authenticator.js';
import { sourceOf } from '../auth/source.js';
import { BindingStore, RegistrationError, type Binding, type ContactUpdate } from './bindings.js';

export interface RegistrarOptions {
  ua: UserAgent;
  transport: TransportLayer;
  /** Checks credentials (digest, bans); with auth.required false every REGISTER passes. */
  auth: RequestAuthenticator;
  log: Logger;
  /** Longest registration we grant, and the default (RFC 3261 §10.2.1.1). */
  maxExpires?: number;
  minExpires?: number;
  /** Contacts one AOR may have registered (security.maxContactsPerAor); default unbounded. */
  maxContacts?: number;
}

/** What the registrar tells the rest of the gateway (the call lifetime watchdog). */
export interface RegistrarEvents {
  /** A binding was made or refreshed (after the 200 went out); its flow may be a new one. */
  registered: [binding: Binding];
}

export class Registrar extends EventEmitter<RegistrarEvents> {
  readonly bindings = new BindingStore();
  private readonly maxExpires: number;
  private readonly minExpires: number;
  private readonly sweeper: NodeJS.Timeout;
  private readonly onFlowClosed = (flowId: string): void => {
    for (const b of this.bindings.removeFlow(flowId)) {
      this.opts.log.info('binding removed: flow closed', { event: 'unregistered', aor: b.aor, contact: b.contact, flowId });
    }
  };

  constructor(private readonly opts: RegistrarOptions) {
    super();
    this.maxExpires = opts.maxExpires ?? 3600;
    this.minExpires = opts.minExpires ?? 60;
    opts.ua.onRequest('REGISTER', (req) => this.handle(req));
    opts.transport.on('flowClosed', this.onFlowClosed);
    this.sweeper = setInterval(() => this.bindings.sweep(), 30_000);
    this.sweeper.unref();
  }

  /** Live contacts of an agent AOR. */
  lookup(aor: string): Binding[] {
    return this.bindings.lookup(normalizeAor(aor));
  }

  close(): void {
    clearInterval(this.sweeper);
    this.opts.transport.off('flowClosed', this.onFlowClosed);
  }

  private async handle(req: IncomingRequest): Promise<void> {
    const msg = req.message;
    const to = parseNameAddr(msg.headers.get('to') ?? '');
    const aor = normalizeAor(to.uri);
    if (this.opts.auth.digest) {
      const identity = await this.opts.auth.authenticate(req);
      if (identity === undefined) return;
      const toUri = parseUri(to.uri);
      const user = isSipUri(toUri) ? toUri.user : undefined;
      if (user !== identity.user) {
        this.opts.log.warn('registration refused', { event: 'register-refused', aor, user: identity.user, reason: 'AOR of another user', ...sourceOf(msg.transport) });
        req.reply(403, 'Authenticated user does not own this AOR');
        return;
      }
    }
    const transport = msg.transport;
    const callId = msg.callId;
    const cseq = parseCSeq(msg.headers.get('cseq') ?? '').seq;
    const contacts = msg.headers.getAll('contact');
    const headerExpires = msg.headers.get('expires');
    try {
      if (contacts.length === 1 && contacts[0] === '*') {
        // RFC 3261 §10.3 step 6: "*" only with Expires: 0.
        if (headerExpires?.trim() !== '0') throw new SipError(400, 'Contact * requires Expires: 0');
        this.bindings.removeAll(aor, callId, cseq);
        req.reply(200);
        return;
      }
      const updates = contacts.map((c) => this.contactUpdate(c, headerExpires));
      const tooBrief = updates.find((u) => u.expires > 0 && u.expires < this.minExpires);
      if (tooBrief) {
        req.reply(423, { headers: { 'Min-Expires': String(this.minExpires) } });
        return;
      }
      const list = updates.length === 0 ? this.bindings.lookup(aor) : this.bindings.apply({
        aor, callId, cseq,
        source: { protocol: transport?.protocol ?? 'udp', address: transport?.remoteAddress ?? '', port: transport?.remotePort ?? 0 },
        ...(transport?.flowId !== undefined ? { flowId: transport.flowId } : {}),
      }, updates, this.opts.maxContacts);
      const now = Date.now();
      const header = list.map((b) => `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`);
      for (const u of updates) {
        this.opts.log.info(u.expires > 0 ? 'registered' : 'unregistered', {
          event: u.expires > 0 ? 'registered' : 'unregistered', aor, contact: u.contact, expires: u.expires, flowId: transport?.flowId,
        });
      }
      req.reply(200, { headers: header.length > 0 ? { Contact: header } : {} });
      for (const u of updates) {
        if (u.expires <= 0) continue;
        const made = list.find((x) => x.contact === u.contact);
        if (made) this.emit('registered', made);
      }
    } catch (err) {
      if (!(err instanceof RegistrationError || err instanceof SipError)) throw err;
      this.opts.log.warn('registration refused', {
        event: 'register-refused', aor, status: err.status, reason: err.reason, callId, ...sourceOf(transport),
        ...(err.status === 403 && this.opts.maxContacts !== undefined ? { limit: this.opts.maxContacts } : {}),
      });
      req.reply(err.status, err.reason);
    }
  }

  private contactUpdate(value: string, headerExpires: string | undefined): ContactUpdate {
    const na = parseNameAddr(value);
    const uri = parseUri(na.uri);
    if (!isSipUri(uri)) throw new SipError(400, 'Contact must be a sip or sips URI');
    const exp = na.params.get('expires') ?? headerExpires ?? String(this.maxExpires);
    const n = Number.parseInt(exp, 10);
    if (!Number.isFinite(n) || n < 0) throw new SipError(400, 'Bad expires value');
    const update: ContactUpdate = { contact: formatUri(uri), expires: Math.min(n, this.maxExpires) };
    const instance = na.params.get('+sip.instance');
    if (instance) update.instanceId = unquote(instance).replace(/^<|>$/g, '');
    const regId = na.params.get('reg-id');
    if (regId) update.regId = Number.parseInt(regId, 10);
    return update;
  }
}

/** AORs compare as sip:user@host, ignoring display name, params and case of host. */
export function normalizeAor(uriText: string): string {
  const u = parseUri(uriText);
  if (!isSipUri(u)) return uriText;
  return `${u.scheme}:${u.user ? `${u.user}@` : ''}${u.host.toLowerCase()}`;
}
