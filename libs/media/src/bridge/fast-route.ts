// One direction of a bridge handed to the native fast path (libs/media/native): RTP from
// the in-leg's peer is unprotected, counted, rewritten, protected and sent out of the
// out-leg inside the addon, without entering JS. The TypeScript path stays the reference:
// a direction is first forwarded in JS (latching, anchoring, marks, the SRTP streams all
// start there), and only a direction whose legs are settled is installed. While installed
// the route owns the state it touches: the in-leg's SRTP stream for the source's SSRC and
// its RFC 3550 reception state, the rewriter, the out-leg's SRTP stream and the legs'
// packet counters. They live in one shared Float64Array; pull() copies them back into the
// JS objects, suspend() does that and removes the route, and anything the native code
// does not forward (another source or SSRC, RTCP, STUN, DTLS) reaches the leg as before.
import type { FastPathIn, FastPathOut, MediaLeg } from '../leg.js';
import { ROUTE_STATE_SIZE, RS, nativeClockOffsetMs, type NativeBinding, type SrtpSessionKeys } from '../native/binding.js';
import type { SrtpContext } from '../srtp/context.js';
import type { SrtpStream } from '../srtp/replay.js';
import type { HeaderRewriter } from './rewrite.js';

function profileId(ctx: SrtpContext | null): 0 | 1 | 2 {
  if (ctx === null) return 0;
  return ctx.profile === 'AEAD_AES_128_GCM' ? 2 : 1;
}

function sessionKeys(ctx: SrtpContext | null): SrtpSessionKeys | null {
  return ctx === null ? null : ctx.rtpSessionKeys;
}

export class FastRoute {
  /** True while the addon forwards this direction. */
  installed = false;
  /** Shared with the addon: it reads and writes it per packet while installed. Made at the first install (an idle call never has one). */
  private state: Float64Array | null = null;
  private inSide: FastPathIn | null = null;
  private outSide: FastPathOut | null = null;
  private inStream: SrtpStream | null = null;
  private outStream: SrtpStream | null = null;

  /** `towardB`: the direction from the bridge's leg a to its leg b (read anew each time: legs are replaced). */
  constructor(
    private readonly binding: NativeBinding,
    private readonly bridge: { readonly a: MediaLeg; readonly b: MediaLeg },
    private readonly towardB: boolean,
    private readonly rw: HeaderRewriter,
  ) {}

  private from(): MediaLeg {
    return this.towardB ? this.bridge.a : this.bridge.b;
  }

  private to(): MediaLeg {
    return this.towardB ? this.bridge.b : this.bridge.a;
  }

  /** Installs the route if both legs can take it now; false (nothing changed) if not. */
  tryInstall(): boolean {
    if (this.installed) return true;
    const fin = this.from().fastIn?.() ?? null;
    if (fin === null) return false;
    const fout = this.to().fastOut?.() ?? null;
    if (fout === null) return false;
    const rx = fin.reception;
    const rw = this.rw;
    // The source must be the one JS has anchored the rewriter on and counted: the route
    // continues an established stream, it never starts one.
    if (rx.ssrc < 0 || rw.inSsrc !== rx.ssrc || rw.resync) return false;
    const inStream = fin.srtp === null ? null : fin.srtp.streamState(rx.ssrc, false);
    if (fin.srtp !== null && (inStream === null || !inStream.started)) return false;
    const outStream = fout.srtp === null ? null : fout.srtp.streamState(rw.ssrc, true);
    const st = (this.state ??= new Float64Array(ROUTE_STATE_SIZE));
    st.fill(0);
    st[RS.EXPECT_SSRC] = rx.ssrc;
    st[RS.CLOCK_OFFSET_MS] = nativeClockOffsetMs();
    inStream?.exportFields(st, RS.IN_ROC);
    rx.exportFields(st, RS.RX_SSRC);
    rw.exportFields(st, RS.RW_SSRC, RS.RW_IN_SEQ);
    outStream?.exportFields(st, RS.OUT_ROC);
    this.binding.setRoute(fin.socketId, {
      outId: fout.socketId,
      destAddress: fout.destAddress, destPort: fout.destPort,
      srcAddress: fin.srcAddress, srcPort: fin.srcPort,
      inProfile: profileId(fin.srtp), inKeys: sessionKeys(fin.srtp),
      outProfile: profileId(fout.srtp), outKeys: sessionKeys(fout.srtp),
      state: st,
      ptMap: rw.ptMap,
    });
    this.inSide = fin;
    this.outSide = fout;
    this.inStream = inStream;
    this.outStream = outStream;
    this.installed = true;
    return true;
  }

  /** Copies what the addon changed back into the JS objects; the route keeps running. */
  pull(): void {
    if (!this.installed) return;
    const st = this.state as Float64Array;
    const fin = this.inSide as FastPathIn;
    const fout = this.outSide as FastPathOut;
    this.inStream?.importFields(st, RS.IN_ROC);
    fin.reception.importFields(st, RS.RX_SSRC);
    this.rw.importFields(st, RS.RW_SSRC, RS.RW_IN_SEQ);
    this.outStream?.importFields(st, RS.OUT_ROC);
    const inStats = fin.stats;
    inStats.packetsIn += st[RS.IN_PACKETS];
    inStats.bytesIn += st[RS.IN_BYTES];
    inStats.packetsDropped += st[RS.IN_DROPPED];
    if (st[RS.IN_LAST_AT] > inStats.lastPacketAt) inStats.lastPacketAt = st[RS.IN_LAST_AT];
    fin.reception.writeTo(inStats);
    fout.stats.packetsOut += st[RS.OUT_PACKETS];
    fout.stats.bytesOut += st[RS.OUT_BYTES];
    st[RS.IN_PACKETS] = 0;
    st[RS.IN_BYTES] = 0;
    st[RS.IN_DROPPED] = 0;
    st[RS.OUT_PACKETS] = 0;
    st[RS.OUT_BYTES] = 0;
  }

  /** Writes JS-side changes to the reception state back (the RTCP report's fraction-lost bookkeeping). */
  pushReception(): void {
    if (this.installed) (this.inSide as FastPathIn).reception.exportFields(this.state as Float64Array, RS.RX_SSRC);
  }

  /** Hands everything back to JS and stops native forwarding of this direction. */
  suspend(): void {
    if (!this.installed) return;
    this.pull();
    this.binding.clearRoute((this.inSide as FastPathIn).socketId);
    this.installed = false;
    this.inSide = null;
    this.outSide = null;
    this.inStream = null;
    this.outStream = null;
  }
}
