// Call-store latency for trapezoid_cluster_store_seconds: the store the cluster node
// uses, with each operation timed on its way through. Store operations happen at call
// state changes, lease renewals and takeovers, never per packet, so one clock read at
// each end costs nothing that matters. The operation names are the CallStore methods:
// a fixed, small set (bounded label cardinality).

import { performance } from 'node:perf_hooks';
import type { CallStore } from '@trapezoid/cluster';

/** One store operation: its method, how long it took, and whether it threw. */
export type StoreTiming = (op: string, seconds: number, ok: boolean) => void;

/** The methods that reach the backend (Redis round trips); close() and events are not timed. */
const TIMED = new Set<string>([
  'put', 'get', 'owned', 'claim', 'acquireLease', 'renewLease', 'reacquireLease', 'releaseLease', 'nodes',
  'fence', 'isFenced', 'lockTakeover', 'unlockTakeover', 'forgetNode', 'putBinding', 'removeBinding', 'bindings', 'shared',
] satisfies Array<keyof CallStore>);

/** `store` with every backend operation reported to `timing`; everything else passes through. */
export function timedStore(store: CallStore, timing: StoreTiming): CallStore {
  const wrapped = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(store, {
    get(target, prop) {
      // Getters run on the store itself too (a class's private fields are not on the proxy).
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof prop !== 'string' || !TIMED.has(prop) || typeof value !== 'function') {
        // EventEmitter methods and getters (connected, refused) act on the store itself.
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      let fn = wrapped.get(prop);
      if (!fn) {
        const method = value as (...a: unknown[]) => Promise<unknown>;
        fn = async (...args: unknown[]): Promise<unknown> => {
          const started = performance.now();
          try {
            const result = await method.apply(target, args);
            timing(prop, (performance.now() - started) / 1000, true);
            return result;
          } catch (err) {
            timing(prop, (performance.now() - started) / 1000, false);
            throw err;
          }
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
