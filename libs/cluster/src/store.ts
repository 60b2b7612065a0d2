// The one interface every cluster store implements (the in-memory embedded default
// and Redis): fenced call records, node leases, the takeover claim, registrar
// bindings and shared values. Both implementations pass the same suite
// (store-suite.ts), so the gateway runs one code path with or without Redis.
//
// Fencing: a record names its owner and a version. A write succeeds only while the
// writer still owns the call, holds a live lease under the same token, and writes a
// higher version than the store has. A node declared dead is fenced first (its lease
// can never be renewed again), then its calls are claimed one by one, atomically.

import type { EventEmitter } from 'node:events';
import type { CallRecord } from './record.js';

export type ListenerProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** What a survivor needs to know of a node to take its calls over. */
export interface NodeInfo {
  /** Configured node name (logs, metrics). */
  node: string;
  /**
   * Owner id of this process: the node name and a per-start incarnation, so a node that
   * restarts never mistakes its previous life's calls for its own.
   */
  owner: string;
  /** The address this node's calls live on (SIP listeners and media). */
  serviceAddress: string;
  /** SIP listening points a survivor binds to carry the calls on. */
  listeners: Array<{ protocol: ListenerProtocol; address: string; port: number }>;
  startedAt: number;
}

/** A registered node as nodes() lists it. */
export interface ListedNode extends NodeInfo {
  /** True while its lease is live (set and not yet lapsed). */
  alive: boolean;
  /**
   * Milliseconds its lease has left, 0 when not alive. It jumps back to the TTL at each
   * renewal, so a node that renews every R ms shows more than TTL − R; one that crashed
   * shows it shrinking while it still counts as alive.
   */
  leaseMs: number;
}

export interface Lease {
  owner: string;
  /** Random per acquisition: a lease re-acquired after a loss is a different lease. */
  token: string;
  ttlMs: number;
}

export type PutRefusal = 'owner' | 'version' | 'lease' | 'ended';

export type PutResult = { ok: true } | { ok: false; reason: PutRefusal; owner?: string; version?: number };

/** A registrar binding as the cluster keeps it (plain data, keyed by AOR and contact). */
export interface StoredBinding {
  aor: string;
  contact: string;
  instanceId?: string;
  regId?: number;
  /** Owner id of the node whose connection the REGISTER arrived on. */
  owner: string;
  flowId?: string;
  source: { protocol: string; address: string; port: number };
  callId: string;
  cseq: number;
  expiresAt: number;
}

/** Why a lease could not be renewed. */
export type RenewResult = 'renewed' | 'lost' | 'fenced' | 'unreachable';

/** Events: 'up' and 'down' when the store's backend connection changes. */
export interface CallStore extends EventEmitter {
  readonly kind: 'memory' | 'redis';
  /** False while the backend cannot be reached (Redis down); memory is always up. */
  readonly connected: boolean;
  /** True when the backend refuses connections (its process is down), not merely silent. */
  readonly refused: boolean;

  /** Fenced write (see the top of this file); an ended record expires after `endedTtlMs`. */
  put(record: CallRecord, lease: Lease, endedTtlMs: number): Promise<PutResult>;
  get(id: string): Promise<CallRecord | undefined>;
  /** Ids of the live (not ended) calls an owner holds. */
  owned(owner: string): Promise<string[]>;
  /**
   * Moves one call of a fenced owner to `lease.owner` (version + 1). Exactly one claimer
   * wins; the others get undefined, as does a call that ended or moved meanwhile.
   */
  claim(id: string, from: string, lease: Lease): Promise<CallRecord | undefined>;

  /** Registers the node and takes a fresh lease on its owner id. */
  acquireLease(info: NodeInfo, ttlMs: number): Promise<Lease>;
  /** Extends the lease if it is still this token's; tells why not otherwise. */
  renewLease(lease: Lease): Promise<RenewResult>;
  /** Takes the lease again after it lapsed unclaimed (Redis restarted): false if fenced meanwhile. */
  reacquireLease(lease: Lease): Promise<boolean>;
  /**
   * Drops the lease and the node (clean shutdown). With `keepNode` only the lease goes:
   * the node then looks dead at once and a survivor takes its calls over (a drain that
   * leaves its calls to a peer) without waiting out the TTL.
   */
  releaseLease(lease: Lease, keepNode?: boolean): Promise<void>;
  /** Every registered node, with whether its lease is live and how long it has left. */
  nodes(): Promise<ListedNode[]>;
  /**
   * Declares a node dead: succeeds only if its lease has lapsed; after that the node can
   * never renew or re-take that lease. Idempotent.
   */
  fence(owner: string): Promise<boolean>;
  isFenced(owner: string): Promise<boolean>;
  /** One claimer at a time per dead node (the one that can bind its address). */
  lockTakeover(deadOwner: string, claimer: string, ttlMs: number): Promise<boolean>;
  unlockTakeover(deadOwner: string, claimer: string): Promise<void>;
  /** Forgets a dead node once its calls are claimed. */
  forgetNode(owner: string): Promise<void>;

  putBinding(binding: StoredBinding): Promise<void>;
  removeBinding(aor: string, contact: string): Promise<void>;
  bindings(aor: string): Promise<StoredBinding[]>;

  /** The value under `name`, set to `value` first if there is none (first writer wins). */
  shared(name: string, value: string): Promise<string>;

  close(): Promise<void>;
}

/** A store operation that failed because its backend cannot be reached. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
