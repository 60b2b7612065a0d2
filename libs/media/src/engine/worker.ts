// A media worker thread: owns the sockets of its slice of the port range and the
// bridges on them. It receives only control messages from the main thread; packets
// never cross the thread boundary, so the forwarding path here runs undisturbed by
// signalling work on the main thread.
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { MediaLeg } from '../leg.js';
import type {
  BridgeCounters, BridgeDescription, BridgeState, BridgeStats, BridgeUpdate, WorkerInit, WorkerLoad,
  WorkerReply, WorkerRequest, BridgeSpec, WorkerEvent, WorkerResults, WorkerUsage, LegSignalEvent,
} from './protocol.js';
import { BRIDGE_COUNTERS_WIDTH, BRIDGE_STATE_VERSION } from './protocol.js';
import { writeLegCounters } from './counters.js';
import { FORWARDED_LEG_EVENTS, LegFactory, WorkerError, type BridgeHandle } from './factory.js';
import { PreboundPool, type Prebound } from './prebound.js';
import { WebRtcLeg } from '../webrtc/webrtc-leg.js';
import { getCertificate, useCertificate } from '../webrtc/certificate.js';
import { MediaWatchdog } from './watchdog.js';

interface Entry {
  id: string;
  legs: MediaLeg[];
  /** Legs bound to take a side over later (LegPreparation), by side. */
  pending: Array<MediaLeg | null>;
  /** null while the legs are bound but not forwarding (created with `bridge: null`). */
  bridge: BridgeHandle | null;
  silenced: boolean;
}

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('worker.js must run as a worker thread');

const factory = new LegFactory(init.portMin, init.portMax, init.address, init.native, init.nativeDtls ?? true);
const bridges = new Map<string, Entry>();
const prebound = new PreboundPool((address) => factory.allocatorFor(address), init.native,
  (reservations) => port?.postMessage({ event: 'reserved', reservations, load: load() } satisfies WorkerEvent));

const watchdog = new MediaWatchdog();
let watchTimer: NodeJS.Timeout | null = null;
let watchPeriod = 0;

/** One coarse timer for every watched bridge of this worker, at the pace the shortest limit needs. */
function rearmWatch(): void {
  const period = watchdog.periodMs;
  if (period === watchPeriod) return;
  if (watchTimer) clearInterval(watchTimer);
  watchTimer = null;
  watchPeriod = period;
  if (period === 0) return;
  watchTimer = setInterval(() => {
    for (const r of watchdog.tick()) port?.postMessage({ event: 'leg', ...r } satisfies WorkerEvent);
    rearmWatch();
  }, period);
  watchTimer.unref();
}

// GC counts let the benchmark prove the steady state allocates (next to) nothing.
const gcCounts = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = ((e as unknown as { detail?: { kind?: number } }).detail)?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) gcCounts.minor++;
    else gcCounts.major++;
  }
}).observe({ entryTypes: ['gc'] });

function load(): WorkerLoad {
  const held = prebound.ports;
  return { bridges: bridges.size, portsInUse: factory.portsInUse - held, portsPrebound: held };
}

function describe(e: Entry): BridgeDescription {
  const d: BridgeDescription = { id: e.id, worker: init.index, legs: e.legs.map((l) => factory.describe(l)) };
  if (e.pending.some((l) => l !== null)) d.pending = e.pending.map((l) => (l ? factory.describe(l) : null));
  return d;
}

function get(id: string): Entry {
  const e = bridges.get(id);
  if (!e) throw new WorkerError(`no bridge ${id}`, 481);
  return e;
}

async function closeLegs(legs: MediaLeg[]): Promise<void> {
  await Promise.all(legs.map((l) => factory.closeLeg(l)));
}

/** The bridge and side each leg's events are forwarded for (legs are never reused). */
const legTags = new WeakMap<object, { id: string; index: number }>();

/**
 * One listener per forwarded event, shared by every leg (an EventEmitter calls it with
 * the leg as `this`), instead of six closures and contexts per WebRTC leg.
 */
const forwarders = new Map(FORWARDED_LEG_EVENTS.map((name) => [name, function (this: object, detail?: unknown): void {
  const tag = legTags.get(this);
  if (tag === undefined || bridges.get(tag.id)?.legs[tag.index] !== this) return;
  const plain = (detail instanceof Error ? { message: detail.message } : detail) as LegSignalEvent['detail'];
  port?.postMessage({ event: 'leg', id: tag.id, leg: tag.index, name, ...(plain !== undefined ? { detail: plain } : {}) } satisfies WorkerEvent);
}]));

/** Relays a leg's signalling-relevant events (ICE connected, DTLS done, ...) to the main thread. */
function forwardEvents(id: string, index: number, leg: MediaLeg): void {
  const emitter = leg as unknown as { on?: (name: string, fn: (detail?: unknown) => void) => void };
  if (typeof emitter.on !== 'function') return;
  const known = legTags.has(leg);
  legTags.set(leg, { id, index });
  if (known) return;
  for (const [name, fn] of forwarders) emitter.on(name, fn);
}

async function create(spec: BridgeSpec & { id: string; reserved?: [number | null, number | null] }): Promise<BridgeDescription> {
  const taken: (Prebound | undefined)[] = [];
  for (const id of spec.reserved ?? []) {
    const p = id === null ? undefined : prebound.take(id) ?? undefined;
    taken.push(p);
    // The main thread already wrote this leg's port into SDP: another port would be wrong.
    if (id !== null && p === undefined) {
      await Promise.all(taken.map((t) => (t ? prebound.discard(t) : undefined)));
      throw new WorkerError(`pre-bound leg ${id} is gone`, 500);
    }
  }
  let next = 0;
  try {
    return await build(spec.id, spec.legs, (ls) => factory.createLeg(ls, taken[next++]),
      (legs) => (spec.bridge === null ? null : factory.createBridge(legs[0], legs[1], spec.bridge ?? {})));
  } catch (err) {
    // Legs never attempted still hold their sockets (an attempted one's were closed by it).
    await Promise.all(taken.slice(next).map((t) => (t ? prebound.discard(t) : undefined)));
    throw err;
  }
}

async function restore(state: BridgeState): Promise<BridgeDescription> {
  if (state.v !== BRIDGE_STATE_VERSION) throw new WorkerError(`bridge state version ${String(state.v)} is not supported`, 500);
  // The call's old ports must be bound exactly: a pre-bound leg holding one gives it up.
  const withdrawn = (await Promise.all(state.legs.map((l) => prebound.withdraw(l.address, l.port)))).flat();
  if (withdrawn.length > 0) port?.postMessage({ event: 'unreserved', ids: withdrawn } satisfies WorkerEvent);
  return build(state.id, state.legs, (ls) => factory.restoreLeg(ls),
    (legs) => (state.bridge === null ? null : factory.restoreBridge(legs[0], legs[1], state.bridge)));
}

/** Binds the legs one by one, then the bridge; anything bound is closed again if a step fails. */
async function build<S>(id: string, specs: S[], makeLeg: (spec: S) => Promise<MediaLeg>, makeBridge: (legs: MediaLeg[]) => BridgeHandle | null): Promise<BridgeDescription> {
  if (bridges.has(id)) throw new WorkerError(`bridge ${id} exists`, 500);
  const legs: MediaLeg[] = [];
  try {
    for (const spec of specs) {
      const leg = await makeLeg(spec);
      forwardEvents(id, legs.length, leg);
      legs.push(leg);
    }
    const e: Entry = { id, legs, pending: [null, null], bridge: makeBridge(legs), silenced: false };
    bridges.set(id, e);
    return describe(e);
  } catch (err) {
    await closeLegs(legs);
    throw err;
  }
}

async function update(id: string, u: BridgeUpdate): Promise<BridgeDescription> {
  const e = get(id);
  if (u.bridge && e.bridge) throw new WorkerError('bridge options cannot change on a live bridge', 488);
  for (let i = 0; i < 2; i++) {
    const change = u.legs?.[i];
    if (!change) continue;
    if ('replace' in change || 'swap' in change) {
      // A new transport or new keys (re-INVITE), or a transfer's prepared leg: it takes this side over.
      const leg = 'swap' in change ? e.pending[i] : await factory.createLeg(change.replace);
      if (!leg) throw new WorkerError(`no leg prepared for side ${i}`, 500);
      e.pending[i] = null;
      const old = e.legs[i]!;
      e.legs[i] = leg;
      forwardEvents(id, i, leg);
      leg.silenced = e.silenced;
      e.bridge?.replaceLeg(i === 0 ? 'a' : 'b', leg);
      watchdog.legsChanged(id, e.legs);
      await factory.closeLeg(old);
    } else if ('prepare' in change) {
      const stale = e.pending[i];
      e.pending[i] = null;
      if (stale) await factory.closeLeg(stale);
      e.pending[i] = await factory.createLeg(change.prepare);
    } else if ('discard' in change) {
      const stale = e.pending[i];
      e.pending[i] = null;
      if (stale) await factory.closeLeg(stale);
    } else {
      factory.updateLeg(e.legs[i], change);
    }
  }
  // Legs first: forwarding starts toward the remotes this same update gave them.
  if (u.bridge) e.bridge = factory.createBridge(e.legs[0], e.legs[1], u.bridge);
  if (u.silenced !== undefined) e.silenced = u.silenced;
  if (e.bridge) e.bridge.silence(e.silenced);
  else for (const l of e.legs) l.silenced = e.silenced;
  if (u.mapping) {
    if (!e.bridge) throw Object.assign(new Error('no live bridge to re-map'), { status: 500 });
    e.bridge.setMapping(u.mapping.payloadTypes, u.mapping.clockRate);
  }
  if (u.watch) {
    watchdog.set(id, e.legs, u.watch);
    rearmWatch();
  }
  if (u.flow && e.bridge) e.bridge.setFlow(u.flow.toA, u.flow.toB);
  if (u.event) {
    if (!e.bridge) throw Object.assign(new Error('no live bridge to play an event on'), { status: 500 });
    const { toward, pt, ...ev } = u.event;
    e.bridge.sendEvent(toward, ev, pt);
  }
  return describe(e);
}

/** Closes a bridge and answers with its last counters (for call records and metrics). */
async function destroy(id: string): Promise<BridgeCounters> {
  const e = bridges.get(id);
  if (!e) return { id, legs: [] };
  bridges.delete(id);
  watchdog.delete(id);
  rearmWatch();
  try {
    await e.bridge?.close();
  } finally {
    await closeLegs([...e.legs, ...e.pending.filter((l): l is MediaLeg => l !== null)]);
  }
  return counters(e);
}

function counters(e: Entry): BridgeCounters {
  return { id: e.id, legs: e.legs.map((l) => ({ ...l.stats })) };
}

/** This thread's id as the OS knows it (/proc/thread-self -> PID/task/TID), read once. */
const TID = ((): number => {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch {
    return -1;
  }
})();

function usage(): WorkerUsage {
  const m = process.memoryUsage();
  const h = getHeapStatistics();
  let packetsIn = 0;
  let packetsOut = 0;
  for (const e of bridges.values()) {
    for (const l of e.legs) {
      packetsIn += l.stats.packetsIn;
      packetsOut += l.stats.packetsOut;
    }
  }
  return {
    heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers,
    rss: m.rss, usedHeapSize: h.used_heap_size, mallocedMemory: h.malloced_memory,
    gcMinor: gcCounts.minor, gcMajor: gcCounts.major, packetsIn, packetsOut, bridges: bridges.size, tid: TID,
  };
}

async function handle(m: WorkerRequest): Promise<WorkerResults[keyof WorkerResults]> {
  switch (m.op) {
    case 'create': return create(m.spec);
    case 'prebind':
      prebound.configure(m.shapes, m.count);
      return { legs: prebound.ports };
    case 'update': return update(m.id, m.update);
    case 'destroy': return destroy(m.id);
    case 'stats': {
      const e = get(m.id);
      return { id: e.id, legs: e.legs.map((l) => ({ ...l.stats })), bridge: e.bridge?.stats() ?? null } satisfies BridgeStats;
    }
    case 'statsMany': {
      const out = new Float64Array(m.ids.length * BRIDGE_COUNTERS_WIDTH).fill(NaN);
      for (let i = 0; i < m.ids.length; i++) {
        const e = bridges.get(m.ids[i]!);
        if (e) writeLegCounters(e.legs, out, i);
      }
      return out;
    }
    case 'export': {
      const e = get(m.id);
      return { v: BRIDGE_STATE_VERSION, id: e.id, legs: e.legs.map((l) => l.exportState()), bridge: e.bridge?.exportState() ?? null } satisfies BridgeState;
    }
    case 'restore': return restore(m.state);
    case 'usage': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (m.gc && gc) gc();
      return usage();
    }
  }
}

port.on('message', (m: WorkerRequest) => {
  handle(m).then(
    (result) => port.postMessage({ seq: m.seq, ok: true, result, load: load() } satisfies WorkerReply),
    (err: unknown) => {
      const e = err as { message?: string; status?: number; code?: unknown };
      // The code travels too: e.g. EMEDIAPORTS (slice full) is "busy", not "broken".
      const code = typeof e.code === 'string' ? { code: e.code } : {};
      port.postMessage({
        seq: m.seq, ok: false, error: { message: e.message ?? String(err), status: e.status, ...code }, load: load(),
      } satisfies WorkerReply);
    },
  );
});

// This thread's DTLS certificate (the cluster's, when given) and a warm handshake
// before its first call, not during it: ready means a call's setup pays no one-off costs.
if (init.certificate) useCertificate(init.certificate);
await WebRtcLeg.prepare({ native: init.native, nativeDtls: init.nativeDtls ?? true });
port.postMessage({ event: 'ready', fingerprint: (await getCertificate()).fingerprint } satisfies WorkerEvent);
