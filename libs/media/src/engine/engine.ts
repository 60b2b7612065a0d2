// MediaEngine: the main thread's handle on the media workers. Signalling stays on
// the main thread; media runs on worker threads, one per core, each owning the
// sockets of its own slice of the port range (docs/architecture.md, "Where the time goes").
// The main thread only sends "create / update / destroy bridge" messages.
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { LegStats } from '../leg.js';
import type {
  BridgeCounters, BridgeDescription, BridgeSpec, BridgeState, BridgeStats, BridgeUpdate, CertificatePem, CountersTable, LegEvent, LegShape, WorkerEvent, WorkerInit,
  WorkerReply, WorkerRequest, WorkerResults, WorkerUsage,
} from './protocol.js';
import { sliceRange } from './slices.js';
import { legStatsAt, mergeTables, unreadTable } from './counters.js';
import { shapeKey } from './prebound.js';
import { reservedDescription, shapeOf } from './reservations.js';
import type { BridgesLost, MediaEngineOptions } from './options.js';
import { EngineError, WorkerSlot, type Pending, type Request } from './worker-slot.js';

export type { BridgesLost, MediaEngineOptions } from './options.js';
export { EngineError } from './worker-slot.js';

export class MediaEngine extends EventEmitter {
  private readonly slots: WorkerSlot[] = [];
  private readonly owner = new Map<string, WorkerSlot>();
  private seq = 0;
  private closing = false;
  private readonly address: string;
  private readonly native: boolean;
  private readonly nativeDtls: boolean;
  private readonly respawn: boolean;
  private readonly timeoutMs: number;
  private readonly certificate: CertificatePem | undefined;
  private readonly prebound: number;
  /** Leg shapes calls asked for: every worker keeps some of each pre-bound. */
  private readonly shapes = new Map<string, LegShape>();

  private constructor(opts: MediaEngineOptions) {
    super();
    this.prebound = opts.prebound ?? 4;
    this.certificate = opts.certificate;
    this.address = opts.address ?? '127.0.0.1';
    this.native = opts.native ?? true;
    this.nativeDtls = opts.nativeDtls ?? true;
    this.respawn = opts.respawn ?? true;
    this.timeoutMs = opts.requestTimeoutMs ?? 5000;
    const n = opts.workers ?? availableParallelism();
    const slices = sliceRange(opts.portMin ?? 20000, opts.portMax ?? 29999, n);
    for (let i = 0; i < n; i++) this.slots.push(new WorkerSlot(i, slices[i]));
    // A browser call's two legs on the default address, ready before the first call.
    for (const s of [shapeOf({ kind: 'webrtc' }, this.address), shapeOf({ kind: 'rtp' }, this.address)]) {
      if (s) this.shapes.set(shapeKey(s), s);
    }
  }

  /** Starts the workers and resolves once every one is ready to take bridges. */
  static async start(opts: MediaEngineOptions = {}): Promise<MediaEngine> {
    const engine = new MediaEngine(opts);
    try {
      await Promise.all(engine.slots.map((s) => engine.spawn(s)));
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  get workerCount(): number {
    return this.slots.length;
  }
  /** Bridges alive on all workers, as of their last replies. */
  get liveBridges(): number {
    let n = 0;
    for (const s of this.slots) n += s.load.bridges;
    return n;
  }
  /** Media ports bound by bridges on all workers, as of their last replies (pre-bound legs not counted). */
  get portsInUse(): number {
    let n = 0;
    for (const s of this.slots) n += s.load.portsInUse;
    return n;
  }
  /** Port pairs held by pre-bound legs waiting for calls (MediaEngineOptions.prebound). */
  get portsPrebound(): number {
    let n = 0;
    for (const s of this.slots) n += s.load.portsPrebound ?? 0;
    return n;
  }
  /**
   * Port slice, bridge count and load of each worker. `utilization` is the fraction of
   * the time since the previous call that the worker's event loop was busy (its packet
   * loop, JS or native), read from outside the thread: it costs the worker nothing.
   */
  workers(): { index: number; portMin: number; portMax: number; bridges: number; portsInUse: number; threadId: number; up: boolean; utilization: number }[] {
    return this.slots.map((s) => {
      let utilization = 0;
      const w = s.worker;
      if (w) {
        const now = w.performance.eventLoopUtilization();
        utilization = s.lastElu ? w.performance.eventLoopUtilization(now, s.lastElu).utilization : now.utilization;
        s.lastElu = now;
      }
      return {
        index: s.index, portMin: s.slice.min, portMax: s.slice.max, bridges: s.load.bridges, portsInUse: s.load.portsInUse,
        threadId: w?.threadId ?? -1, up: w !== null, utilization,
      };
    });
  }

  async createBridge(spec: BridgeSpec): Promise<BridgeDescription> {
    const id = spec.id ?? randomUUID();
    if (this.owner.has(id)) throw new EngineError(`bridge ${id} exists`, 500);
    const reserved = this.createReserved(id, spec);
    if (reserved !== null) return reserved;
    const slot = this.leastLoaded();
    this.owner.set(id, slot);
    slot.bridges.add(id);
    slot.inFlight++;
    try {
      return await this.request(slot, { op: 'create', spec: { ...spec, id } });
    } catch (err) {
      this.forget(id);
      throw err;
    } finally {
      slot.inFlight--;
    }
  }

  /**
   * Both legs on reservations of one worker: the description is known now and the worker
   * builds the legs after (requests to a worker run in order, so later updates find
   * them). A failure there can only be a withdrawn reservation or a dead worker: the
   * bridge is reported lost like a crashed worker's. Null when no worker has both.
   */
  private createReserved(id: string, spec: BridgeSpec): BridgeDescription | null {
    if (this.prebound === 0) return null;
    const shapes: LegShape[] = [];
    for (const leg of spec.legs) {
      const shape = shapeOf(leg, this.address);
      if (shape === null) return null;
      shapes.push(shape);
      const key = shapeKey(shape);
      if (!this.shapes.has(key)) {
        // A new kind of leg: every worker keeps some from now on; this call binds as usual.
        this.shapes.set(key, shape);
        for (const s of this.slots) if (s.worker && s.fingerprint) this.sendPrebind(s);
        return null;
      }
    }
    let slot: WorkerSlot | null = null;
    for (const s of this.slots) {
      if (!s.worker || !s.fingerprint || !s.reservations.has(shapes)) continue;
      if (!slot || s.bridges.size + s.inFlight < slot.bridges.size + slot.inFlight) slot = s;
    }
    if (slot === null) return null;
    const taken = slot.reservations.take(shapes);
    const legs = spec.legs.map((leg, i) => reservedDescription(leg, taken[i]!, slot.fingerprint));
    this.owner.set(id, slot);
    slot.bridges.add(id);
    // Counted now; the worker's reply to the create brings the exact figures.
    const pairs = taken.length;
    slot.load = { ...slot.load, bridges: slot.load.bridges + 1, portsInUse: slot.load.portsInUse + pairs,
      portsPrebound: Math.max(0, (slot.load.portsPrebound ?? 0) - pairs) };
    const reservedIds: [number, number] = [taken[0]!.id, taken[1]!.id];
    this.request(slot, { op: 'create', spec: { ...spec, id, reserved: reservedIds } }).catch((err: unknown) => {
      if (!this.owner.has(id)) return; // destroyed meanwhile, or its worker's loss already reported
      this.forget(id);
      this.emit('bridgesLost', { worker: slot.index, ids: [id], reason: `pre-bound legs not built: ${(err as Error).message}` } satisfies BridgesLost);
    });
    return { id, worker: slot.index, legs };
  }

  private sendPrebind(slot: WorkerSlot): void {
    this.request(slot, { op: 'prebind', shapes: [...this.shapes.values()], count: this.prebound }).catch(() => undefined);
  }

  async updateBridge(id: string, update: BridgeUpdate): Promise<BridgeDescription> {
    return this.request(this.slotOf(id), { op: 'update', id, update });
  }

  /** Closes both legs and frees their ports. Unknown ids are ignored (idempotent). */
  async destroyBridge(id: string): Promise<void> {
    const slot = this.owner.get(id);
    if (!slot) return;
    try {
      // The last counters go to whoever keeps call records and metrics ('bridgeDestroyed').
      const last = await this.request(slot, { op: 'destroy', id });
      if (last.legs.length > 0) this.emit('bridgeDestroyed', last);
    } finally {
      this.forget(id);
    }
  }

  /**
   * Counters of many bridges as one table (one request per worker): what the monitor
   * samples every second for every call, without an object per call on either side.
   */
  async countersMany(ids: string[]): Promise<CountersTable> {
    const bySlot = new Map<WorkerSlot, string[]>();
    const unknown: string[] = [];
    for (const id of ids) {
      const slot = this.owner.get(id);
      if (!slot || !slot.worker) {
        unknown.push(id);
        continue;
      }
      let list = bySlot.get(slot);
      if (!list) bySlot.set(slot, (list = []));
      list.push(id);
    }
    const tables = await Promise.all([...bySlot].map(([slot, list]) =>
      this.request(slot, { op: 'statsMany', ids: list }).then((values) => ({ ids: list, values }), () => unreadTable(list))));
    if (unknown.length > 0) tables.push(unreadTable(unknown));
    return tables.length === 0 ? unreadTable([]) : mergeTables(tables);
  }

  /** Counters of many bridges, decoded (countersMany() is the cheap form); ids no worker knows are left out. */
  async statsMany(ids: string[]): Promise<BridgeCounters[]> {
    const t = await this.countersMany(ids);
    const out: BridgeCounters[] = [];
    for (let i = 0; i < t.ids.length; i++) {
      const legs = [0, 1].map((leg) => legStatsAt(t.values, i, leg)).filter((l): l is LegStats => l !== null);
      if (legs.length > 0) out.push({ id: t.ids[i]!, legs });
    }
    return out;
  }

  /** Per-leg counters (LegStats) and the bridge's own, read from the owning worker. */
  async stats(id: string): Promise<BridgeStats> {
    return this.request(this.slotOf(id), { op: 'stats', id });
  }

  async exportState(id: string): Promise<BridgeState> {
    return this.request(this.slotOf(id), { op: 'export', id });
  }

  /**
   * Recreates a bridge from exportState() output on the worker whose slice holds its
   * ports (takeover: same ports, same keys, same rewrite offsets).
   */
  async restoreBridge(state: BridgeState): Promise<BridgeDescription> {
    if (this.owner.has(state.id)) throw new EngineError(`bridge ${state.id} exists`, 500);
    const port = state.legs[0]?.port;
    const slot = port === undefined ? this.leastLoaded()
      : this.slots.find((s) => port >= s.slice.min && port <= s.slice.max);
    if (!slot) throw new EngineError(`port ${port} of bridge ${state.id} is outside the media port range`, 500);
    this.owner.set(state.id, slot);
    slot.bridges.add(state.id);
    try {
      return await this.request(slot, { op: 'restore', state });
    } catch (err) {
      this.forget(state.id);
      throw err;
    }
  }

  /**
   * Memory, GC counts and packet totals of every live worker (for the benchmark and
   * metrics); `gc` forces a full collection first when node runs with --expose-gc.
   */
  async usage(gc = false): Promise<WorkerUsage[]> {
    const live = this.slots.filter((s) => s.worker);
    return Promise.all(live.map((s) => this.request(s, { op: 'usage', gc })));
  }

  /** Terminates a worker as a crash would: its bridges are reported lost, its slice freed. */
  async killWorker(index: number): Promise<void> {
    const w = this.slots[index]?.worker;
    if (w) await w.terminate();
  }

  /** Terminates every worker; the OS releases their sockets with them. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map(async (s) => {
      const w = s.worker;
      s.worker = null;
      if (w) await w.terminate();
      this.failPending(s, 'media engine closed');
      s.load = { bridges: 0, portsInUse: 0 };
      s.reservations.clear();
      for (const id of s.bridges) this.owner.delete(id);
      s.bridges.clear();
    }));
  }

  private leastLoaded(): WorkerSlot {
    let best: WorkerSlot | null = null;
    for (const s of this.slots) {
      if (!s.worker) continue;
      if (!best || s.bridges.size + s.inFlight < best.bridges.size + best.inFlight) best = s;
    }
    if (!best) throw new EngineError('no media worker available', 503);
    return best;
  }

  private slotOf(id: string): WorkerSlot {
    const slot = this.owner.get(id);
    if (!slot) throw new EngineError(`no bridge ${id}`, 481);
    return slot;
  }

  private forget(id: string): void {
    this.owner.get(id)?.bridges.delete(id);
    this.owner.delete(id);
  }

  private request<R extends Request>(slot: WorkerSlot, req: R): Promise<WorkerResults[R['op']]> {
    const w = slot.worker;
    if (!w) return Promise.reject(new EngineError(`media worker ${slot.index} is down`, 503));
    const seq = ++this.seq;
    const msg = { ...req, seq } as WorkerRequest;
    return new Promise<WorkerResults[R['op']]>((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.pending.delete(seq);
        reject(new EngineError(`media worker ${slot.index} did not answer ${msg.op} in ${this.timeoutMs} ms`, 500));
      }, this.timeoutMs);
      // The worker answers each op with its WorkerResults entry (worker.ts handle()).
      slot.pending.set(seq, { resolve: resolve as Pending['resolve'], reject, timer });
      w.postMessage(msg);
    });
  }

  private spawn(slot: WorkerSlot): Promise<void> {
    const init: WorkerInit = {
      index: slot.index, portMin: slot.slice.min, portMax: slot.slice.max, address: this.address, native: this.native, nativeDtls: this.nativeDtls,
      ...(this.certificate ? { certificate: this.certificate } : {}),
    };
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    slot.worker = w;
    return new Promise((resolve, reject) => {
      let ready = false;
      w.on('message', (m: WorkerReply | WorkerEvent) => {
        if ('event' in m) {
          if (m.event === 'ready') {
            ready = true;
            slot.fingerprint = m.fingerprint ?? '';
            if (this.prebound > 0) this.sendPrebind(slot);
            resolve();
          } else if (m.event === 'reserved') {
            if (slot.worker !== w) return;
            slot.reservations.add(m.reservations);
            slot.load = m.load;
          } else if (m.event === 'unreserved') {
            slot.reservations.remove(m.ids);
          } else if (m.event === 'leg') {
            const { event: _e, ...ev } = m;
            this.emit('legEvent', ev satisfies LegEvent);
          }
          return;
        }
        slot.load = m.load;
        const p = slot.pending.get(m.seq);
        if (!p) return;
        slot.pending.delete(m.seq);
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.result);
        else p.reject(new EngineError(m.error.message, m.error.status, m.error.code));
      });
      w.on('error', (err) => {
        if (!ready) reject(err);
        this.emit('workerError', { worker: slot.index, error: err });
      });
      w.on('exit', (code) => {
        if (slot.worker !== w) return;
        slot.worker = null;
        if (!ready) reject(new EngineError(`media worker ${slot.index} exited at start (${code})`, 500));
        this.lost(slot, `media worker ${slot.index} exited with code ${code}`);
      });
    });
  }

  /** A worker died: its bridges are gone and its sockets closed with its thread. */
  private lost(slot: WorkerSlot, reason: string): void {
    this.failPending(slot, reason);
    const ids = [...slot.bridges];
    for (const id of ids) this.owner.delete(id);
    slot.bridges.clear();
    slot.reservations.clear();
    slot.fingerprint = '';
    slot.load = { bridges: 0, portsInUse: 0 };
    if (this.closing) return;
    if (ids.length > 0) this.emit('bridgesLost', { worker: slot.index, ids, reason } satisfies BridgesLost);
    if (this.respawn) {
      this.spawn(slot).then(
        () => this.emit('workerRestarted', { worker: slot.index }),
        (err: unknown) => this.emit('workerError', { worker: slot.index, error: err }),
      );
    }
  }

  private failPending(slot: WorkerSlot, reason: string): void {
    for (const p of slot.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new EngineError(reason, 503));
    }
    slot.pending.clear();
  }
}
