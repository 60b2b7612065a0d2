// The Redis store (node-redis): the same contract as the memory store, with every
// fenced operation one Lua script (redis-scripts.ts). The client reconnects on its own;
// while it is down every operation fails at once with StoreUnavailableError (no
// offline queue: callers keep their own queue and catch up, see writer.ts), and the
// store tells a refused connection (the server process is gone, nobody can claim
// anything) from a silent one. Records hold SRTP keys: password and TLS are options.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { decodeCallRecord, encodeCallRecord, type CallRecord } from './record.js';
import { CLAIM, DELETE_IF, FENCE, LOCK, PUT, REACQUIRE, RENEW } from './redis-scripts.js';
import { StoreUnavailableError, type CallStore, type Lease, type ListedNode, type NodeInfo, type PutRefusal, type PutResult, type RenewResult, type StoredBinding } from './store.js';

export interface RedisStoreOptions {
  /** redis://host:port/db or rediss:// for TLS. */
  url: string;
  username?: string;
  password?: string;
  /** TLS to Redis: trust anchors and client identity (PEM); `rediss://` alone uses Node's CAs. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; servername?: string };
  /** Key prefix, so several clusters can share one Redis (default "trapezoid:"). */
  prefix?: string;
  /** Milliseconds one command may take before it counts as failed (default 1000). */
  commandTimeoutMs?: number;
  /** Milliseconds between reconnect attempts (default 200). */
  reconnectMs?: number;
}

/** How long a fenced node stays fenced: far longer than any call record lives. */
const FENCE_MARKER_MS = 24 * 3600_000;

function newClient(opts: RedisStoreOptions, onFailure: (cause: Error) => void) {
  const tls = opts.tls !== undefined || opts.url.startsWith('rediss:');
  return createClient({
    url: opts.url,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    disableOfflineQueue: true,
    commandOptions: { timeout: opts.commandTimeoutMs ?? 1000 },
    socket: {
      connectTimeout: opts.commandTimeoutMs ?? 1000,
      reconnectStrategy: (_retries: number, cause: Error) => {
        onFailure(cause);
        return opts.reconnectMs ?? 200;
      },
      ...(tls ? { tls: true as const, ...(opts.tls ?? {}) } : {}),
    },
  });
}

type Client = ReturnType<typeof newClient>;

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export class RedisStore extends EventEmitter implements CallStore {
  readonly kind = 'redis' as const;
  private up = false;
  private refusedNow = false;
  private closing = false;
  private readonly p: string;
  private readonly nodeInfo = new Map<string, NodeInfo>();

  private constructor(private readonly client: Client, prefix: string) {
    super();
    this.p = prefix;
  }

  /** Connects (waiting at most `connectTimeoutMs` for the first connection) and returns the store. */
  static async connect(opts: RedisStoreOptions, connectTimeoutMs = 5000): Promise<RedisStore> {
    let store: RedisStore | null = null;
    const client = newClient(opts, (cause) => store?.noteFailure(cause));
    store = new RedisStore(client, opts.prefix ?? 'trapezoid:');
    const s = store;
    client.on('ready', () => {
      s.refusedNow = false;
      if (s.up) return;
      s.up = true;
      s.emit('up');
    });
    client.on('error', (err: Error) => s.noteFailure(err));
    client.on('reconnecting', () => s.setDown());
    client.on('end', () => s.setDown());
    let timer: NodeJS.Timeout | undefined;
    let refusedAuth: (err: Error) => void = () => undefined;
    const onAuthError = (err: Error): void => {
      // A wrong password never gets better by retrying: say so now.
      if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(err.message)) refusedAuth(err);
    };
    client.on('error', onAuthError);
    try {
      await Promise.race([
        client.connect(),
        new Promise((_resolve, reject) => {
          refusedAuth = (err) => reject(new StoreUnavailableError(`Redis at ${redactUrl(opts.url)} refused the credentials: ${err.message}`));
        }),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new StoreUnavailableError(`no connection to Redis at ${redactUrl(opts.url)} within ${connectTimeoutMs} ms`)), connectTimeoutMs);
        }),
      ]);
    } catch (err) {
      s.closing = true;
      client.destroy();
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`cannot connect to Redis at ${redactUrl(opts.url)}: ${String(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      client.off('error', onAuthError);
    }
    s.up = true;
    return s;
  }

  get connected(): boolean {
    return this.up;
  }

  get refused(): boolean {
    return !this.up && this.refusedNow;
  }

  private noteFailure(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') this.refusedNow = true;
    else if (code !== undefined) this.refusedNow = false;
    this.setDown();
  }

  private setDown(): void {
    if (!this.up || this.closing) return;
    this.up = false;
    this.emit('down');
  }

  private k(...parts: string[]): string {
    return this.p + parts.join(':');
  }

  /** Runs a command; any failure of the connection becomes StoreUnavailableError. */
  private async run<T>(what: string, fn: (c: Client) => Promise<T>): Promise<T> {
    if (!this.up) throw new StoreUnavailableError(`Redis unreachable (${what})`);
    try {
      return await fn(this.client);
    } catch (err) {
      if (err instanceof Error && /ERR|WRONGTYPE|NOSCRIPT/.test(err.message) && !/timeout|closed|offline/i.test(err.message)) throw err;
      throw new StoreUnavailableError(`Redis ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private evalScript(what: string, script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.run(what, (c) => c.eval(script, { keys, arguments: args.map(String) }));
  }

  async put(record: CallRecord, lease: Lease, endedTtlMs: number): Promise<PutResult> {
    const ended = record.state === 'ended';
    const r = (await this.evalScript('put', PUT, [this.k('call', record.id), this.k('lease', record.owner), this.k('owned', record.owner)], [
      record.owner, record.owner === lease.owner ? lease.token : '', record.version, ended ? '1' : '0', encodeCallRecord(record), Math.max(1, Math.round(endedTtlMs)), record.id,
    ])) as string[];
    if (r[0] === 'ok') return { ok: true };
    return {
      ok: false, reason: r[0] as PutRefusal,
      ...(r[1] !== undefined ? { owner: r[1] } : {}), ...(r[2] !== undefined ? { version: Number(r[2]) } : {}),
    };
  }

  async get(id: string): Promise<CallRecord | undefined> {
    const [owner, version, data] = await this.run('get', (c) => c.hmGet(this.k('call', id), ['owner', 'version', 'data']));
    if (!owner || !data) return undefined;
    const record = decodeCallRecord(String(data));
    record.owner = String(owner);
    record.version = Number(version);
    return record;
  }

  async owned(owner: string): Promise<string[]> {
    return (await this.run('owned', (c) => c.sMembers(this.k('owned', owner)))).map(String);
  }

  async claim(id: string, from: string, lease: Lease): Promise<CallRecord | undefined> {
    const r = (await this.evalScript('claim', CLAIM, [
      this.k('call', id), this.k('fenced', from), this.k('lease', lease.owner), this.k('owned', from), this.k('owned', lease.owner),
    ], [from, lease.owner, lease.token, id])) as [string, string] | null;
    if (!r) return undefined;
    const record = decodeCallRecord(r[1]);
    record.owner = lease.owner;
    record.version = Number(r[0]);
    return record;
  }

  async acquireLease(info: NodeInfo, ttlMs: number): Promise<Lease> {
    const token = randomBytes(12).toString('hex');
    this.nodeInfo.set(info.owner, { ...info });
    await this.run('lease', (c) => c.multi()
      .set(this.k('lease', info.owner), token, { expiration: { type: 'PX', value: ttlMs } })
      .set(this.k('node', info.owner), JSON.stringify(info))
      .sAdd(this.k('nodes'), info.owner)
      .exec());
    return { owner: info.owner, token, ttlMs };
  }

  async renewLease(lease: Lease): Promise<RenewResult> {
    try {
      return (await this.evalScript('renew', RENEW, [this.k('lease', lease.owner), this.k('fenced', lease.owner)], [lease.token, lease.ttlMs])) as RenewResult;
    } catch (err) {
      if (err instanceof StoreUnavailableError) return 'unreachable';
      throw err;
    }
  }

  async reacquireLease(lease: Lease): Promise<boolean> {
    const info = this.nodeInfo.get(lease.owner);
    const r = await this.evalScript('reacquire', REACQUIRE, [this.k('lease', lease.owner), this.k('fenced', lease.owner), this.k('node', lease.owner), this.k('nodes')],
      [lease.token, lease.ttlMs, JSON.stringify(info ?? {}), lease.owner]);
    return r === 1;
  }

  async releaseLease(lease: Lease, keepNode = false): Promise<void> {
    await this.evalScript('release', DELETE_IF, [this.k('lease', lease.owner)], [lease.token]);
    if (keepNode) return;
    await this.forgetNode(lease.owner);
    this.nodeInfo.delete(lease.owner);
  }

  async nodes(): Promise<ListedNode[]> {
    const owners = (await this.run('nodes', (c) => c.sMembers(this.k('nodes')))).map(String);
    if (owners.length === 0) return [];
    const infos = await this.run('nodes', (c) => c.mGet(owners.map((o) => this.k('node', o))));
    // PTTL: the lease's remaining life, -2 once it is gone (-1, no expiry, never happens: every SET has PX).
    const left = await this.run('nodes', (c) => Promise.all(owners.map((o) => c.pTTL(this.k('lease', o)))));
    const out: ListedNode[] = [];
    owners.forEach((o, i) => {
      const text = infos[i];
      if (!text) return;
      const ms = Number(left[i]);
      out.push({ ...(JSON.parse(String(text)) as NodeInfo), alive: ms !== -2, leaseMs: Math.max(0, ms) });
    });
    return out;
  }

  async fence(owner: string): Promise<boolean> {
    return (await this.evalScript('fence', FENCE, [this.k('lease', owner), this.k('fenced', owner)], [FENCE_MARKER_MS])) === 1;
  }

  async isFenced(owner: string): Promise<boolean> {
    return (await this.run('fenced', (c) => c.exists(this.k('fenced', owner)))) === 1;
  }

  async lockTakeover(deadOwner: string, claimer: string, ttlMs: number): Promise<boolean> {
    return (await this.evalScript('lock', LOCK, [this.k('takeover', deadOwner)], [claimer, ttlMs])) === 1;
  }

  async unlockTakeover(deadOwner: string, claimer: string): Promise<void> {
    await this.evalScript('unlock', DELETE_IF, [this.k('takeover', deadOwner)], [claimer]);
  }

  async forgetNode(owner: string): Promise<void> {
    await this.run('forget', (c) => c.multi().sRem(this.k('nodes'), owner).del(this.k('node', owner)).exec());
  }

  async putBinding(binding: StoredBinding): Promise<void> {
    await this.run('binding', (c) => c.hSet(this.k('binding', binding.aor), binding.contact, JSON.stringify(binding)));
  }

  async removeBinding(aor: string, contact: string): Promise<void> {
    await this.run('binding', (c) => c.hDel(this.k('binding', aor), contact));
  }

  async bindings(aor: string): Promise<StoredBinding[]> {
    const all = await this.run('bindings', (c) => c.hGetAll(this.k('binding', aor)));
    const now = Date.now();
    const live: StoredBinding[] = [];
    const expired: string[] = [];
    for (const [contact, text] of Object.entries(all)) {
      const b = JSON.parse(String(text)) as StoredBinding;
      if (b.expiresAt > now) live.push(b);
      else expired.push(contact);
    }
    if (expired.length > 0) await this.run('bindings', (c) => c.hDel(this.k('binding', aor), expired));
    return live;
  }

  async shared(name: string, value: string): Promise<string> {
    const key = this.k('shared', name);
    await this.run('shared', (c) => c.set(key, value, { condition: 'NX' }));
    const cur = await this.run('shared', (c) => c.get(key));
    return cur === null ? value : String(cur);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.up = false;
    try {
      await this.client.close();
    } catch {
      this.client.destroy();
    }
  }
}
