// Media port allocation over a configured range. Ports are handed out as even/odd pairs
// (RTP on the even port, RTCP on port + 1 when rtcp-mux is not used, RFC 3550 §11), in
// round-robin order so a port just released is not reused at once (late packets of the
// old call would land in the new one). A port is never handed out twice while in use.

export interface PortRange {
  /** Lowest port of the range (rounded up to even). */
  min: number;
  /** Highest port of the range (the last pair ends at or below it). */
  max: number;
}

export class PortAllocator {
  readonly min: number;
  readonly max: number;
  private readonly used: Uint8Array;
  private cursor = 0;
  private count = 0;

  constructor(range: PortRange) {
    const min = range.min + (range.min & 1);
    if (!Number.isInteger(range.min) || !Number.isInteger(range.max) || min < 1024 || range.max > 65535 || range.max < min + 1) {
      throw new Error(`media port range ${range.min}-${range.max} must hold at least one even/odd pair within 1024-65535`);
    }
    this.min = min;
    this.max = range.max;
    this.used = new Uint8Array((range.max - min + 1) >> 1);
  }

  /** Pairs currently allocated. */
  get inUse(): number {
    return this.count;
  }

  /** Pairs the range holds. */
  get capacity(): number {
    return this.used.length;
  }

  /** Next free even port, or -1 if the range is exhausted. */
  allocate(): number {
    const n = this.used.length;
    for (let i = 0; i < n; i++) {
      const slot = (this.cursor + i) % n;
      if (this.used[slot] === 0) {
        this.used[slot] = 1;
        this.count++;
        this.cursor = (slot + 1) % n;
        return this.min + slot * 2;
      }
    }
    return -1;
  }

  /** Takes a specific even port (restoring a call after takeover); false if taken or outside the range. */
  claim(port: number): boolean {
    const slot = this.slotOf(port);
    if (slot < 0 || this.used[slot] === 1) return false;
    this.used[slot] = 1;
    this.count++;
    return true;
  }

  /** Returns a port; releasing a port not in use is a no-op (close paths may race). */
  release(port: number): void {
    const slot = this.slotOf(port);
    if (slot < 0 || this.used[slot] === 0) return;
    this.used[slot] = 0;
    this.count--;
  }

  isInUse(port: number): boolean {
    const slot = this.slotOf(port);
    return slot >= 0 && this.used[slot] === 1;
  }

  /**
   * Allocates a port and runs `bind(port)`; if binding fails because another process holds
   * the port (EADDRINUSE/EACCES), that port is skipped and the next one tried. The port of
   * a failed attempt is released. Throws when the range is exhausted.
   */
  async bindNext<T>(bind: (port: number) => Promise<T>): Promise<{ port: number; value: T }> {
    const busy: number[] = [];
    try {
      for (;;) {
        const port = this.allocate();
        if (port < 0) throw Object.assign(new Error('no free media port in range'), { code: 'EMEDIAPORTS' });
        try {
          return { port, value: await bind(port) };
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EADDRINUSE' && code !== 'EACCES') {
            this.release(port);
            throw err;
          }
          // Keep it marked until we are done so allocate() moves past it.
          busy.push(port);
        }
      }
    } finally {
      for (const p of busy) this.release(p);
    }
  }

  private slotOf(port: number): number {
    if (!Number.isInteger(port) || port < this.min || port > this.max || (port - this.min) & 1) return -1;
    const slot = (port - this.min) >> 1;
    return slot < this.used.length ? slot : -1;
  }
}
