// Shared by the native fast path tests: the JS reference path (SrtpContext +
// RtpReceiveStats + HeaderRewriter, as Bridge.forward() and the legs use them) written
// into the route state layout, so a test compares the addon's state block word by word.
import { deriveSessionKeys } from '../srtp/kdf.js';
import { srtpMasterSaltLength, type SrtpKeys, type SrtpProfile } from '../srtp/profile.js';
import type { SrtpContext } from '../srtp/context.js';
import type { RtpReceiveStats } from '../rtp/stats.js';
import type { HeaderRewriter } from '../bridge/rewrite.js';
import { loadNativeBinding, nativeUnavailableReason, ROUTE_STATE_SIZE, RS, type NativeBinding, type SrtpSessionKeys } from './binding.js';

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

/** The RTP session keys a route takes, derived from master keys as SrtpContext does. */
export function routeKeys(profile: SrtpProfile, master: SrtpKeys): SrtpSessionKeys {
  const k = deriveSessionKeys(master.masterKey, master.masterSalt, srtpMasterSaltLength(profile));
  return { key: k.rtpKey, salt: k.rtpSalt, auth: profile === 'AES_CM_128_HMAC_SHA1_80' ? k.rtpAuth : Buffer.alloc(0) };
}

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

function writeStream(st: Float64Array, at: number, ctx: SrtpContext | null, ssrc: number): void {
  const s = ctx?.exportState().streams.find((x) => x.ssrc === ssrc >>> 0);
  st[at] = s?.roc ?? 0;
  st[at + 1] = s?.seq ?? 0;
  st[at + 2] = s?.started ? 1 : 0;
  st[at + 3] = s?.window[0] ?? 0;
  st[at + 4] = s?.window[1] ?? 0;
}

/** The state block the addon should hold after the same packets. */
export function referenceState(ref: ReferencePath): Float64Array {
  const st = new Float64Array(ROUTE_STATE_SIZE);
  st[RS.EXPECT_SSRC] = ref.expectSsrc;
  st[RS.CLOCK_OFFSET_MS] = ref.clockOffsetMs;
  writeStream(st, RS.IN_ROC, ref.srtpIn, ref.expectSsrc);
  const rx = ref.reception as unknown as Record<string, number | boolean>;
  st[RS.RX_SSRC] = rx.ssrc as number;
  st[RS.RX_BASE_SEQ] = rx.baseSeq as number;
  st[RS.RX_MAX_SEQ] = rx.maxSeq as number;
  st[RS.RX_CYCLES] = rx.cycles as number;
  st[RS.RX_BAD_SEQ] = rx.badSeq as number;
  st[RS.RX_RECEIVED] = rx.received as number;
  st[RS.RX_EXPECTED_PRIOR] = rx.expectedPrior as number;
  st[RS.RX_RECEIVED_PRIOR] = rx.receivedPrior as number;
  st[RS.RX_LOST_BEFORE] = rx.lostBefore as number;
  st[RS.RX_LAST_TRANSIT] = rx.lastTransit as number;
  st[RS.RX_HAVE_TRANSIT] = rx.haveTransit ? 1 : 0;
  st[RS.RX_JITTER] = rx.jitter as number;
  st[RS.RX_CLOCK_RATE] = rx.clockRate as number;
  const rw = ref.rewriter;
  st[RS.RW_SSRC] = rw.ssrc;
  st[RS.RW_SEQ_OFFSET] = rw.seqOffset;
  st[RS.RW_TS_OFFSET] = rw.tsOffset;
  st[RS.RW_IN_SSRC] = rw.inSsrc;
  st[RS.RW_LAST_SEQ] = rw.lastSeq;
  st[RS.RW_LAST_TS] = rw.lastTs;
  st[RS.RW_LAST_AT] = rw.lastAt;
  st[RS.RW_PACKETS] = rw.packets;
  st[RS.RW_OCTETS] = rw.octets;
  st[RS.RW_RESYNC] = rw.resync ? 1 : 0;
  st[RS.RW_CLOCK_RATE] = rw.clockRate;
  writeStream(st, RS.OUT_ROC, ref.srtpOut, rw.ssrc);
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

export const RS_NAMES: string[] = (() => {
  const names: string[] = new Array<string>(ROUTE_STATE_SIZE).fill('reserved');
  for (const [k, v] of Object.entries(RS)) names[v] = k;
  return names;
})();

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
