// Pre-bound legs of one media worker: sockets already bound (and, for WebRTC, ICE
// credentials already made) for the leg shapes calls keep asking for. Each one is
// announced to the main thread as a Reservation, so MediaEngine.createBridge can write a
// call's SDP without waiting for this worker (binding was the one awaited worker round
// trip on a call's setup path); the 'create' that follows takes the sockets over. The
// pool refills after each take, in the worker's own time. Its ports are counted apart
// from the ports bridges hold (WorkerLoad.portsPrebound), and it never holds more than
// a sixteenth of a slice, so a small port range stays usable by calls.
import { bindMediaSocket, type MediaSocket } from '../net/media-socket.js';
import type { PortAllocator } from '../ports/allocator.js';
import { generateIceCredentials } from '../webrtc/ice-lite.js';
import type { LegShape, Reservation } from './protocol.js';

/** A reservation with what the leg will take over. */
export interface Prebound extends Reservation {
  allocator: PortAllocator;
  rtp: MediaSocket;
  /** Port + 1 for RTP without rtcp-mux. */
  rtcp: MediaSocket | null;
}

export function shapeKey(shape: LegShape): string {
  return `${shape.kind}|${shape.address}|${shape.rtcpMux ? 'mux' : 'pair'}`;
}

async function bindShape(shape: LegShape, port: number, native: boolean): Promise<{ rtp: MediaSocket; rtcp: MediaSocket | null }> {
  const rtp = await bindMediaSocket(shape.address, port, { native });
  if (shape.kind === 'webrtc' || shape.rtcpMux) return { rtp, rtcp: null };
  try {
    return { rtp, rtcp: await bindMediaSocket(shape.address, port + 1, { native }) };
  } catch (err) {
    await rtp.close();
    throw err;
  }
}

export class PreboundPool {
  private readonly ready = new Map<string, Prebound[]>();
  private readonly shapes = new Map<string, LegShape>();
  private readonly byId = new Map<number, Prebound>();
  private count = 0;
  private nextId = 1;
  private filling = false;
  private closed = false;

  constructor(
    private readonly allocatorFor: (address: string) => PortAllocator,
    private readonly native: boolean,
    /** Tells the main thread about new reservations (also none: a refill ended). */
    private readonly announce: (reservations: Reservation[]) => void,
  ) {}

  /** Port pairs the pool holds. */
  get ports(): number {
    return this.byId.size;
  }

  /** Legs of each shape to keep ready (0 stops pre-binding; held legs stay until taken). */
  configure(shapes: LegShape[], count: number): void {
    this.count = count;
    for (const s of shapes) this.shapes.set(shapeKey(s), s);
    this.fill();
  }

  /** The pre-bound leg of reservation `id`, now the caller's; null if it was withdrawn. */
  take(id: number): Prebound | null {
    const p = this.byId.get(id);
    if (!p) return null;
    this.byId.delete(id);
    const list = this.ready.get(shapeKey(p.shape));
    if (list) list.splice(list.indexOf(p), 1);
    // After the reply to the create that took it: the refill is not on that call's path.
    setImmediate(() => this.fill());
    return p;
  }

  /**
   * Gives back a port the pool holds so someone can bind it exactly (a takeover restoring
   * a call on its old port); returns the withdrawn reservation ids.
   */
  async withdraw(address: string, port: number): Promise<number[]> {
    const gone = [...this.byId.values()].filter((p) => p.shape.address === address && (p.port === port || p.port + 1 === port));
    await Promise.all(gone.map((p) => this.release(p)));
    return gone.map((p) => p.id);
  }

  /** Closes a taken leg's sockets and frees its port (its bridge was never built). */
  discard(p: Prebound): Promise<void> {
    return this.release(p);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.byId.values()].map((p) => this.release(p)));
  }

  private async release(p: Prebound): Promise<void> {
    this.byId.delete(p.id);
    const list = this.ready.get(shapeKey(p.shape));
    if (list && list.includes(p)) list.splice(list.indexOf(p), 1);
    await Promise.all([p.rtp.close(), p.rtcp?.close()]);
    p.allocator.release(p.port);
  }

  /** Binds until every shape has `count` legs ready; stops at the first failure (range full). */
  private fill(): void {
    if (this.filling || this.closed) return;
    this.filling = true;
    void this.fillAll().finally(() => { this.filling = false; });
  }

  private async fillAll(): Promise<void> {
    const made: Reservation[] = [];
    try {
      for (const [key, shape] of this.shapes) {
        const allocator = this.allocatorFor(shape.address);
        const target = Math.min(this.count, Math.floor(allocator.capacity / 16));
        let list = this.ready.get(key);
        if (!list) this.ready.set(key, (list = []));
        while (list.length < target && !this.closed) {
          const { port, value } = await allocator.bindNext((p) => bindShape(shape, p, this.native));
          const p: Prebound = {
            id: this.nextId++, shape, port, allocator, rtp: value.rtp, rtcp: value.rtcp,
            ...(shape.kind === 'webrtc' ? { ice: generateIceCredentials() } : {}),
          };
          list.push(p);
          this.byId.set(p.id, p);
          made.push({ id: p.id, shape, port, ...(p.ice ? { ice: p.ice } : {}) });
        }
      }
    } catch {
      // The range is full (or an address is not ours): calls bind the usual way meanwhile.
    } finally {
      // Withdrawn meanwhile (a takeover wanted the port) is not announced.
      if (!this.closed) this.announce(made.filter((r) => this.byId.has(r.id)));
    }
  }
}
