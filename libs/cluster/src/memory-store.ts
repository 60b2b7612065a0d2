// The embedded default store: one process, no Redis. Same contract as the Redis store
// (the shared suite runs against both); several MemoryStore handles may share one
// MemoryBackend, which is how the suite plays several nodes in one process. Records
// are kept encoded, as Redis keeps them, so a record that does not round-trip fails
// here too.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { decodeCallRecord, encodeCallRecord, type CallRecord } from './record.js';
import type { CallStore, Lease, ListedNode, NodeInfo, PutResult, RenewResult, StoredBinding } from './store.js';

interface StoredCall {
  owner: string;
  version: number;
  ended: boolean;
  data: string;
  /** Epoch ms after which an ended record is gone. */
  expiresAt: number;
}

/** The data of one memory "server": share it between handles to play several nodes. */
export class MemoryBackend {
  readonly calls = new Map<string, StoredCall>();
  readonly ownedBy = new Map<string, Set<string>>();
  readonly leases = new Map<string, { token: string; expiresAt: number }>();
  readonly nodes = new Map<string, NodeInfo>();
  readonly fenced = new Set<string>();
  readonly takeovers = new Map<string, { claimer: string; expiresAt: number }>();
  readonly bindings = new Map<string, Map<string, string>>();
  readonly shared = new Map<string, string>();

  constructor(readonly now: () => number = Date.now) {}

  leaseAlive(owner: string): boolean {
    const l = this.leases.get(owner);
    if (l && l.expiresAt > this.now()) return true;
    this.leases.delete(owner);
    return false;
  }

  call(id: string): StoredCall | undefined {
    const c = this.calls.get(id);
    if (c && c.ended && c.expiresAt <= this.now()) {
      this.calls.delete(id);
      return undefined;
    }
    return c;
  }

  own(owner: string, id: string, on: boolean): void {
    let set = this.ownedBy.get(owner);
    if (on) {
      if (!set) this.ownedBy.set(owner, (set = new Set()));
      set.add(id);
    } else if (set) {
      set.delete(id);
      if (set.size === 0) this.ownedBy.delete(owner);
    }
  }
}

export class MemoryStore extends EventEmitter implements CallStore {
  readonly kind = 'memory' as const;

  /** Memory is always there. */
  get connected(): boolean {
    return true;
  }

  get refused(): boolean {
    return false;
  }

  constructor(private readonly b: MemoryBackend = new MemoryBackend()) {
    super();
  }

  put(record: CallRecord, lease: Lease, endedTtlMs: number): Promise<PutResult> {
    const b = this.b;
    const l = b.leases.get(record.owner);
    if (record.owner !== lease.owner || !b.leaseAlive(record.owner) || l?.token !== lease.token) {
      return Promise.resolve({ ok: false, reason: 'lease' });
    }
    const cur = b.call(record.id);
    if (cur) {
      if (cur.owner !== record.owner) return Promise.resolve({ ok: false, reason: 'owner', owner: cur.owner, version: cur.version });
      if (cur.ended) return Promise.resolve({ ok: false, reason: 'ended', owner: cur.owner, version: cur.version });
      if (cur.version >= record.version) return Promise.resolve({ ok: false, reason: 'version', owner: cur.owner, version: cur.version });
    }
    const ended = record.state === 'ended';
    b.calls.set(record.id, { owner: record.owner, version: record.version, ended, data: encodeCallRecord(record), expiresAt: ended ? b.now() + endedTtlMs : Infinity });
    b.own(record.owner, record.id, !ended);
    return Promise.resolve({ ok: true });
  }

  get(id: string): Promise<CallRecord | undefined> {
    const c = this.b.call(id);
    return Promise.resolve(c ? decodeCallRecord(c.data) : undefined);
  }

  owned(owner: string): Promise<string[]> {
    return Promise.resolve([...(this.b.ownedBy.get(owner) ?? [])]);
  }

  claim(id: string, from: string, lease: Lease): Promise<CallRecord | undefined> {
    const b = this.b;
    const c = b.call(id);
    if (!c || c.ended || c.owner !== from || !b.fenced.has(from) || b.leases.get(lease.owner)?.token !== lease.token || !b.leaseAlive(lease.owner)) {
      return Promise.resolve(undefined);
    }
    const record = decodeCallRecord(c.data);
    record.owner = lease.owner;
    record.version = c.version + 1;
    c.owner = lease.owner;
    c.version = record.version;
    c.data = encodeCallRecord(record);
    b.own(from, id, false);
    b.own(lease.owner, id, true);
    return Promise.resolve(record);
  }

  acquireLease(info: NodeInfo, ttlMs: number): Promise<Lease> {
    const token = randomBytes(12).toString('hex');
    this.b.nodes.set(info.owner, { ...info });
    this.b.leases.set(info.owner, { token, expiresAt: this.b.now() + ttlMs });
    return Promise.resolve({ owner: info.owner, token, ttlMs });
  }

  renewLease(lease: Lease): Promise<RenewResult> {
    const b = this.b;
    if (b.fenced.has(lease.owner)) return Promise.resolve('fenced');
    const l = b.leases.get(lease.owner);
    if (!b.leaseAlive(lease.owner) || l?.token !== lease.token) return Promise.resolve('lost');
    l.expiresAt = b.now() + lease.ttlMs;
    return Promise.resolve('renewed');
  }

  reacquireLease(lease: Lease): Promise<boolean> {
    const b = this.b;
    if (b.fenced.has(lease.owner)) return Promise.resolve(false);
    if (b.leaseAlive(lease.owner) && b.leases.get(lease.owner)?.token !== lease.token) return Promise.resolve(false);
    b.leases.set(lease.owner, { token: lease.token, expiresAt: b.now() + lease.ttlMs });
    return Promise.resolve(true);
  }

  releaseLease(lease: Lease, keepNode = false): Promise<void> {
    if (this.b.leases.get(lease.owner)?.token === lease.token) this.b.leases.delete(lease.owner);
    if (!keepNode) this.b.nodes.delete(lease.owner);
    return Promise.resolve();
  }

  nodes(): Promise<ListedNode[]> {
    const b = this.b;
    return Promise.resolve([...b.nodes.values()].map((n) => {
      const alive = b.leaseAlive(n.owner);
      return { ...n, alive, leaseMs: alive ? b.leases.get(n.owner)!.expiresAt - b.now() : 0 };
    }));
  }

  fence(owner: string): Promise<boolean> {
    if (this.b.fenced.has(owner)) return Promise.resolve(true);
    if (this.b.leaseAlive(owner)) return Promise.resolve(false);
    this.b.fenced.add(owner);
    return Promise.resolve(true);
  }

  isFenced(owner: string): Promise<boolean> {
    return Promise.resolve(this.b.fenced.has(owner));
  }

  lockTakeover(deadOwner: string, claimer: string, ttlMs: number): Promise<boolean> {
    const t = this.b.takeovers.get(deadOwner);
    const now = this.b.now();
    if (t && t.expiresAt > now && t.claimer !== claimer) return Promise.resolve(false);
    this.b.takeovers.set(deadOwner, { claimer, expiresAt: now + ttlMs });
    return Promise.resolve(true);
  }

  unlockTakeover(deadOwner: string, claimer: string): Promise<void> {
    if (this.b.takeovers.get(deadOwner)?.claimer === claimer) this.b.takeovers.delete(deadOwner);
    return Promise.resolve();
  }

  forgetNode(owner: string): Promise<void> {
    this.b.nodes.delete(owner);
    return Promise.resolve();
  }

  putBinding(binding: StoredBinding): Promise<void> {
    let m = this.b.bindings.get(binding.aor);
    if (!m) this.b.bindings.set(binding.aor, (m = new Map()));
    m.set(binding.contact, JSON.stringify(binding));
    return Promise.resolve();
  }

  removeBinding(aor: string, contact: string): Promise<void> {
    const m = this.b.bindings.get(aor);
    m?.delete(contact);
    if (m && m.size === 0) this.b.bindings.delete(aor);
    return Promise.resolve();
  }

  bindings(aor: string): Promise<StoredBinding[]> {
    const now = this.b.now();
    const list = [...(this.b.bindings.get(aor)?.values() ?? [])].map((t) => JSON.parse(t) as StoredBinding);
    return Promise.resolve(list.filter((x) => x.expiresAt > now));
  }

  shared(name: string, value: string): Promise<string> {
    const cur = this.b.shared.get(name);
    if (cur !== undefined) return Promise.resolve(cur);
    this.b.shared.set(name, value);
    return Promise.resolve(value);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
