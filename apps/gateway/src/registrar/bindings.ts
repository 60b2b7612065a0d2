// Registrar bindings (RFC 3261 §10.3) with RFC 5626 flows: the location service
// that inbound calls consult to find an agent's browsers. Plain data keyed by AOR;
// no SIP parsing here (the registrar hands in parsed contacts) and no timers (the
// owner sweeps), so the state can move to the cluster store unchanged.

export interface Binding {
  aor: string;
  /** Contact URI as registered (often sip:xyz@abc.invalid;transport=ws for browsers). */
  contact: string;
  /** RFC 5626 +sip.instance (without angle brackets/quotes), if given. */
  instanceId?: string;
  /** RFC 5626 reg-id, if given. */
  regId?: number;
  /** The connection the REGISTER arrived on: requests to `.invalid` contacts go there. */
  flowId?: string;
  /** Where the REGISTER came from (for contacts reachable without a flow). */
  source: { protocol: string; address: string; port: number };
  callId: string;
  cseq: number;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface ContactUpdate {
  contact: string;
  expires: number;
  instanceId?: string;
  regId?: number;
}

export interface RegisterRequestFacts {
  aor: string;
  callId: string;
  cseq: number;
  flowId?: string;
  source: Binding['source'];
}

export class RegistrationError extends Error {
  constructor(readonly status: number, readonly reason: string) {
    super(`${status} ${reason}`);
  }
}

export class BindingStore {
  private readonly byAor = new Map<string, Binding[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Applies one REGISTER's contacts (RFC 3261 §10.3 steps 6-7). A binding with the
   * same Call-ID and a CSeq not higher is a stale or reordered request: 500 per
   * §10.3 step 7. RFC 5626 §6: a contact with the same instance-id and reg-id
   * replaces the old binding even with a different contact URI (the flow changed).
   * More than `maxContacts` bindings for the AOR: 403, nothing applied.
   */
  apply(req: RegisterRequestFacts, updates: ContactUpdate[], maxContacts = Infinity): Binding[] {
    const now = this.now();
    const list = this.liveList(req.aor, now);
    const before = list.length;
    for (const u of updates) {
      const idx = list.findIndex((b) => sameBinding(b, u));
      const existing = idx === -1 ? undefined : list[idx]!;
      if (existing && existing.callId === req.callId && existing.cseq >= req.cseq) {
        throw new RegistrationError(500, 'CSeq out of order for this Call-ID');
      }
      if (u.expires <= 0) {
        if (idx !== -1) list.splice(idx, 1);
        continue;
      }
      const binding: Binding = {
        aor: req.aor,
        contact: u.contact,
        source: req.source,
        callId: req.callId,
        cseq: req.cseq,
        expiresAt: now + u.expires * 1000,
        ...(u.instanceId !== undefined ? { instanceId: u.instanceId } : {}),
        ...(u.regId !== undefined ? { regId: u.regId } : {}),
        ...(req.flowId !== undefined ? { flowId: req.flowId } : {}),
      };
      if (idx === -1) list.push(binding);
      else list[idx] = binding;
    }
    // One AOR holding hundreds of contacts turns each INVITE into a fork bomb (issue 8):
    // a REGISTER that would add bindings past the cap changes nothing; refreshes and
    // removals always pass (the list does not grow).
    if (list.length > maxContacts && list.length > before) {
      throw new RegistrationError(403, 'Too many registered contacts');
    }
    this.store(req.aor, list);
    return list.slice();
  }

  /** `Contact: *` with Expires: 0 (RFC 3261 §10.3 step 6). */
  removeAll(aor: string, callId: string, cseq: number): void {
    const list = this.byAor.get(aor) ?? [];
    if (list.some((b) => b.callId === callId && b.cseq >= cseq)) {
      throw new RegistrationError(500, 'CSeq out of order for this Call-ID');
    }
    this.byAor.delete(aor);
  }

  /** Live bindings of an AOR, most recently registered last. */
  lookup(aor: string): Binding[] {
    return this.liveList(aor, this.now()).slice();
  }

  /** Every live binding (the admin API's registrations). */
  all(): Binding[] {
    const now = this.now();
    const out: Binding[] = [];
    for (const aor of this.byAor.keys()) out.push(...this.liveList(aor, now));
    return out;
  }

  /** The live binding registered over a flow (the browser behind a dialog's WebSocket). */
  findByFlow(flowId: string): Binding | undefined {
    const now = this.now();
    for (const list of this.byAor.values()) {
      const b = list.find((x) => x.flowId === flowId && x.expiresAt > now);
      if (b) return b;
    }
    return undefined;
  }

  /**
   * The live binding of one browser instance (RFC 5626 +sip.instance and reg-id), or
   * without an instance-id the newest of the AOR's: where a browser that reconnected is now.
   */
  findInstance(aor: string, instanceId: string | undefined, regId?: number): Binding | undefined {
    const list = this.liveList(aor, this.now());
    if (instanceId === undefined) return list.filter((b) => b.flowId !== undefined).at(-1);
    return list.find((b) => b.instanceId === instanceId && (regId === undefined || b.regId === regId) && b.flowId !== undefined);
  }

  /** Removes the bindings that were registered over a connection that closed (RFC 5626 §5.3). */
  removeFlow(flowId: string): Binding[] {
    const removed: Binding[] = [];
    for (const [aor, list] of this.byAor) {
      const kept = list.filter((b) => {
        if (b.flowId !== flowId) return true;
        removed.push(b);
        return false;
      });
      this.store(aor, kept);
    }
    return removed;
  }

  /** Drops expired bindings; returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [aor, list] of this.byAor) {
      const live = list.filter((b) => b.expiresAt > now);
      n += list.length - live.length;
      this.store(aor, live);
    }
    return n;
  }

  get size(): number {
    let n = 0;
    for (const list of this.byAor.values()) n += list.length;
    return n;
  }

  private liveList(aor: string, now: number): Binding[] {
    return (this.byAor.get(aor) ?? []).filter((b) => b.expiresAt > now);
  }

  private store(aor: string, list: Binding[]): void {
    if (list.length === 0) this.byAor.delete(aor);
    else this.byAor.set(aor, list);
  }
}

function sameBinding(b: Binding, u: ContactUpdate): boolean {
  if (u.instanceId !== undefined && b.instanceId !== undefined) {
    return b.instanceId === u.instanceId && b.regId === u.regId;
  }
  return b.contact === u.contact;
}
