// Finding dead nodes and claiming their calls. A node is dead when its lease lapsed.
// The order of a takeover is what makes it safe:
//   1. lock the dead node (one claimer at a time, so three racing survivors never
//      split one node's calls: its service address can only follow one of them);
//   2. bind its service address (the caller's step): a node that cannot bind it (the
//      address has not moved here, or the "dead" node still holds its sockets) gives
//      up before anything irreversible happened;
//   3. fence it (refused if its lease came back meanwhile): from here on it can never
//      renew its lease or write a record again;
//   4. claim each call (atomic per call: one new owner each), then forget the node.
// A survivor that just (re)connected waits one lease TTL before declaring anyone dead,
// so a store restart that dropped every lease does not make live nodes look dead.

import { EventEmitter } from 'node:events';
import type { CallRecord } from './record.js';
import type { CallStore, Lease, NodeInfo } from './store.js';

export interface DeadNodeWatcherOptions {
  /** Poll interval (ms): how soon a lapsed lease is noticed. */
  intervalMs: number;
  /** Lease TTL (ms): the grace after (re)connecting before anyone is declared dead. */
  graceMs: number;
  now?: () => number;
}

/** Events: 'dead' (NodeInfo) for each node whose lease lapsed, at every poll until handled. */
export class DeadNodeWatcher extends EventEmitter {
  private timer: NodeJS.Timeout | null = null;
  private quietUntil: number;
  private polling = false;
  private readonly now: () => number;

  constructor(private readonly store: CallStore, private readonly self: () => string, private readonly opts: DeadNodeWatcherOptions) {
    super();
    this.now = opts.now ?? (() => performance.now());
    this.quietUntil = this.now() + opts.graceMs;
    store.on('up', this.onUp);
  }

  private readonly onUp = (): void => {
    this.quietUntil = this.now() + this.opts.graceMs;
  };

  /** Also called by the lease keeper when the store turned out to have lost our lease. */
  holdOff(): void {
    this.onUp();
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.store.off('up', this.onUp);
  }

  async poll(): Promise<void> {
    if (this.polling || !this.store.connected || this.now() < this.quietUntil) return;
    this.polling = true;
    try {
      const self = this.self();
      for (const n of await this.store.nodes()) {
        if (!n.alive && n.owner !== self) this.emit('dead', n);
      }
    } catch {
      // The store went away mid-poll: the next poll after its return (and the grace) tries again.
    } finally {
      this.polling = false;
    }
  }
}

export type TakeoverOutcome =
  | { taken: true; calls: CallRecord[] }
  | { taken: false; why: 'locked' | 'cannot-bind' | 'alive' };

/**
 * Steps 1-4 above for one dead node. `bind` binds its service address and returns false
 * if it cannot (step 2); `unbind` undoes it when the node turns out to be alive.
 */
export async function takeOverNode(
  store: CallStore, lease: Lease, dead: NodeInfo, bind: () => Promise<boolean>, unbind: () => Promise<void>, lockMs: number,
): Promise<TakeoverOutcome> {
  if (!(await store.lockTakeover(dead.owner, lease.owner, lockMs))) return { taken: false, why: 'locked' };
  try {
    if (!(await bind())) return { taken: false, why: 'cannot-bind' };
    if (!(await store.fence(dead.owner))) {
      await unbind();
      return { taken: false, why: 'alive' };
    }
    const calls: CallRecord[] = [];
    for (const id of await store.owned(dead.owner)) {
      const record = await store.claim(id, dead.owner, lease);
      if (record) calls.push(record);
    }
    await store.forgetNode(dead.owner);
    return { taken: true, calls };
  } finally {
    await store.unlockTakeover(dead.owner, lease.owner).catch(() => undefined);
  }
}
