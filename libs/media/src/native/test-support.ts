// Shared by the native fast path tests: the JS reference path (SrtpContext +
// RtpReceiveStats + HeaderRewriter, as Bridge.forward() and the legs use them) written
// into the route state layout, so a test compares the addon's state block word by word.
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import type { SrtpProfile } from '../srtp/profile.js';
import type { SrtpContext } from '../srtp/context.js';
import { RtpReceiveStats } from '../rtp/stats.js';
import { HeaderRewriter } from '../bridge/rewrite.js';
import { loadNativeBinding, nativeClockOffsetMs, nativeUnavailableReason, ROUTE_STATE_SIZE, RS, type NativeBinding } from './binding.js';

/**
 * The addon for its own tests, even when the suite runs with TRAPEZOID_MEDIA__NATIVE=false to
 * exercise the TypeScript path elsewhere; fails (not skips) when it is not built.
 */
export function nativeForTest(): NativeBinding {
  const saved = process.env.TRAPEZOID_MEDIA__NATIVE;
  delete process.env.TRAPEZOID_MEDIA__NATIVE;
  try {
    const b = loadNativeBinding();
    if (b === null) throw new Error(`native addon not loaded: ${nativeUnavailableReason()} (run node scripts/build-native.mjs)`);
    return b;
  } finally {
    if (saved !== undefined) process.env.TRAPEZOID_MEDIA__NATIVE = saved;
  }
}

export const PROFILE_NAMES: Record<1 | 2, SrtpProfile> = { 1: 'AES_CM_128_HMAC_SHA1_80', 2: 'AEAD_AES_128_GCM' };

export interface RouteCounters {
  inPackets: number;
  inBytes: number;
  inLastAt: number;
  inDropped: number;
  outPackets: number;
  outBytes: number;
  punted: number;
  sendErrors: number;
}

export function zeroCounters(): RouteCounters {
  return { inPackets: 0, inBytes: 0, inLastAt: 0, inDropped: 0, outPackets: 0, outBytes: 0, punted: 0, sendErrors: 0 };
}

export interface ReferencePath {
  expectSsrc: number;
  clockOffsetMs: number;
  srtpIn: SrtpContext | null;
  reception: RtpReceiveStats;
  rewriter: HeaderRewriter;
  srtpOut: SrtpContext | null;
  counters: RouteCounters;
}

/** The state block the addon should hold after the same packets. */
export function referenceState(ref: ReferencePath): Float64Array {
  const st = new Float64Array(ROUTE_STATE_SIZE);
  st[RS.EXPECT_SSRC] = ref.expectSsrc;
  st[RS.CLOCK_OFFSET_MS] = ref.clockOffsetMs;
  // The same exports FastRoute installs a route with; a stream not yet made stays zero.
  ref.srtpIn?.streamState(ref.expectSsrc, false)?.exportFields(st, RS.IN_ROC);
  ref.reception.exportFields(st, RS.RX_SSRC);
  ref.rewriter.exportFields(st, RS.RW_SSRC, RS.RW_IN_SEQ);
  ref.srtpOut?.streamState(ref.rewriter.ssrc, false)?.exportFields(st, RS.OUT_ROC);
  const c = ref.counters;
  st[RS.IN_PACKETS] = c.inPackets;
  st[RS.IN_BYTES] = c.inBytes;
  st[RS.IN_LAST_AT] = c.inLastAt;
  st[RS.IN_DROPPED] = c.inDropped;
  st[RS.OUT_PACKETS] = c.outPackets;
  st[RS.OUT_BYTES] = c.outBytes;
  st[RS.PUNTED] = c.punted;
  st[RS.SEND_ERRORS] = c.sendErrors;
  return st;
}

/** A plain route's block before its first packet: fresh 8 kHz reception stats and rewriter. */
export function freshRouteState(expectSsrc: number, outSsrc: number): Float64Array {
  return referenceState({
    expectSsrc, clockOffsetMs: nativeClockOffsetMs(), srtpIn: null, reception: new RtpReceiveStats(8000),
    rewriter: new HeaderRewriter(outSsrc, 8000), srtpOut: null, counters: zeroCounters(),
  });
}

export const RS_NAMES: string[] = (() => {
  const names: string[] = new Array<string>(ROUTE_STATE_SIZE).fill('reserved');
  for (const [k, v] of Object.entries(RS)) names[v] = k;
  return names;
})();

/** A dgram socket bound on loopback; `onMessage` takes Inbox.push. */
export function bindDgram(type: SocketType, address: string, port: number,
  onMessage?: (msg: Buffer, address: string, port: number) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket(type);
    s.once('error', reject);
    if (onMessage) s.on('message', (m, r) => onMessage(m, r.address, r.port));
    s.bind(port, address, () => resolve(s));
  });
}

export const closeDgram = (s: Socket): Promise<void> => new Promise((r) => s.close(() => r()));

/** Datagrams as they arrive, awaited one at a time. */
export class Inbox {
  private readonly items: Array<{ msg: Buffer; address: string; port: number }> = [];
  private waiter: (() => void) | null = null;

  readonly push = (msg: Buffer, address: string, port: number): void => {
    this.items.push({ msg, address, port });
    const w = this.waiter;
    this.waiter = null;
    w?.();
  };

  get size(): number {
    return this.items.length;
  }

  async next(timeoutMs = 2000): Promise<{ msg: Buffer; address: string; port: number }> {
    if (this.items.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          this.waiter = null;
          reject(new Error(`no datagram within ${timeoutMs} ms`));
        }, timeoutMs);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.items.shift() as { msg: Buffer; address: string; port: number };
  }
}

/** Resolves once `cond()` holds, checking every loop turn; rejects after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
