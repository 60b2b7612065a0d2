// The main thread's side of one media worker: its thread, its port slice, the bridges
// placed on it, its pre-bound legs and the requests waiting for its answer.

import type { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { WorkerLoad, WorkerRequest, WorkerResults } from './protocol.js';
import type { PortSlice } from './slices.js';
import { Reservations } from './reservations.js';

export type Pending = { resolve: (v: WorkerResults[keyof WorkerResults]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/** A request without its sequence number (request() assigns it). */
export type Request = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'seq'> : never) : never;

export class WorkerSlot {
  worker: Worker | null = null;
  load: WorkerLoad = { bridges: 0, portsInUse: 0 };
  /** Pre-bound legs this worker announced and nobody took yet. */
  readonly reservations = new Reservations();
  /** The worker's DTLS certificate fingerprint (its 'ready' event), for reserved WebRTC legs. */
  fingerprint = '';
  /** Creates sent but not answered: counted so least-loaded placement spreads a burst. */
  inFlight = 0;
  readonly pending = new Map<number, Pending>();
  readonly bridges = new Set<string>();
  lastElu: EventLoopUtilization | null = null;
  constructor(readonly index: number, readonly slice: PortSlice) {}
}

export class EngineError extends Error {
  constructor(message: string, readonly status?: number, readonly code?: string) {
    super(message);
    this.name = 'EngineError';
  }
}
