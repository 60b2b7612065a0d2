// The main thread's view of the workers' pre-bound legs (engine/prebound.ts): which
// reservations each worker has announced, and the description a leg built on one will
// have. With both legs of a bridge reserved on one worker, MediaEngine.createBridge
// answers at once and the worker builds the legs after; the description written here
// must be exactly what the worker's LegFactory.describe() would say (engine.test checks).
import { answerSetup } from '../webrtc/parameters.js';
import { shapeKey } from './prebound.js';
import type { LegDescription, LegShape, LegSpec, Reservation } from './protocol.js';

/** The shape a leg spec would be built in, or null when it must be bound as asked (a fixed port). */
export function shapeOf(spec: LegSpec, defaultAddress: string): LegShape | null {
  if (spec.port !== undefined) return null;
  const address = spec.address ?? defaultAddress;
  if (spec.kind === 'webrtc') return { kind: 'webrtc', address, rtcpMux: true };
  return { kind: 'rtp', address, rtcpMux: spec.rtcpMux ?? false };
}

/** What the worker will describe for `spec` built on reservation `r` (certificate `fingerprint`). */
export function reservedDescription(spec: LegSpec, r: Reservation, fingerprint: string): LegDescription {
  if (spec.kind === 'webrtc') {
    const ice = r.ice ?? { ufrag: '', pwd: '' };
    return {
      kind: 'webrtc', ufrag: ice.ufrag, pwd: ice.pwd,
      fingerprint: { algorithm: 'sha-256', value: fingerprint },
      setup: spec.remote ? answerSetup(spec.remote.setup, spec.answerSetup ?? 'passive') : 'actpass',
      address: r.shape.address, port: r.port,
    };
  }
  return { kind: spec.kind, address: spec.advertisedAddress ?? r.shape.address, port: r.port };
}

/** One worker's announced, not yet handed out, reservations by shape. */
export class Reservations {
  private readonly byShape = new Map<string, Reservation[]>();

  add(list: Reservation[]): void {
    for (const r of list) {
      const key = shapeKey(r.shape);
      let l = this.byShape.get(key);
      if (!l) this.byShape.set(key, (l = []));
      l.push(r);
    }
  }

  remove(ids: number[]): void {
    const gone = new Set(ids);
    for (const [key, l] of this.byShape) this.byShape.set(key, l.filter((r) => !gone.has(r.id)));
  }

  /** True when every shape has a reservation left (counting repeats). */
  has(shapes: LegShape[]): boolean {
    const need = new Map<string, number>();
    for (const s of shapes) need.set(shapeKey(s), (need.get(shapeKey(s)) ?? 0) + 1);
    for (const [key, n] of need) if ((this.byShape.get(key)?.length ?? 0) < n) return false;
    return true;
  }

  /** Hands out one reservation per shape (call has() first). */
  take(shapes: LegShape[]): Reservation[] {
    return shapes.map((s) => this.byShape.get(shapeKey(s))!.shift()!);
  }

  clear(): void {
    this.byShape.clear();
  }
}
