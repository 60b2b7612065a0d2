// SDES-SRTP leg (RFC 4568 keys, RFC 3711 transforms) for TLS trunks: an RTP leg whose
// packets pass through an SrtpContext pair. A packet from a new source that authenticates
// is proof enough to re-latch to it at once, so this leg never connect()s its socket:
// a connected UDP socket only receives from its peer, so the new source could not arrive
// until silence unlatched it (RtpLeg's rule, a multi-second gap after a NAT rebinding).
// The price is the unconnected send (address per send): measured on loopback at ~0.7-1.7
// µs more per send than a connected one, mostly won back by caching the lookup of the
// address (bench/results/media.md, section of 2026-11-24 19:30).
import type { PortAllocator } from '../ports/allocator.js';
import { SrtpContext, type SrtpContextState } from '../srtp/context.js';
import { SRTP_MAX_OVERHEAD, type SrtpKeys, type SrtpProfile } from '../srtp/profile.js';
import { RtpLeg, optionsFromState, type RtpLegOptions, type RtpLegState } from './rtp-leg.js';

export interface SdesLegOptions extends RtpLegOptions {
  profile: SrtpProfile;
  /** Our a=crypto key: protects what we send. */
  localKeys: SrtpKeys;
  /** The peer's a=crypto key: unprotects what we receive. */
  remoteKeys: SrtpKeys;
}

export interface SdesLegState extends RtpLegState {
  kind: 'sdes';
  srtpLocal: SrtpContextState;
  srtpRemote: SrtpContextState;
}

export class SdesLeg extends RtpLeg {
  override readonly kind = 'sdes' as const;
  private local!: SrtpContext;
  private remoteCtx!: SrtpContext;
  /** Packets handed over without spare room for the tag are protected here. */
  private readonly scratch = Buffer.alloc(1500 + SRTP_MAX_OVERHEAD);

  static override async create(opts: SdesLegOptions): Promise<SdesLeg> {
    const local = new SrtpContext(opts.profile, opts.localKeys);
    const remote = new SrtpContext(opts.profile, opts.remoteKeys);
    const leg = new SdesLeg({ ...opts, connect: false }, await RtpLeg.bind(opts));
    leg.local = local;
    leg.remoteCtx = remote;
    return leg;
  }

  static override async restore(st: SdesLegState, allocator: PortAllocator, native = true): Promise<SdesLeg> {
    const state = st;
    const local = SrtpContext.fromState(st.srtpLocal);
    const remote = SrtpContext.fromState(st.srtpRemote);
    const opts = { ...optionsFromState(state, allocator), native };
    const leg = new SdesLeg({ ...opts, connect: false }, await RtpLeg.bind(opts));
    leg.local = local;
    leg.remoteCtx = remote;
    return leg;
  }

  override sendRtp(buf: Buffer, len: number): void {
    if (this.remote === null || this.isClosed) return;
    const out = this.withRoom(buf, len, this.local.rtpOverhead);
    if (out === null) return;
    const n = this.local.protectRtp(out, len);
    if (n > 0) this.transmitRtp(out, n);
  }

  override sendRtcp(buf: Buffer, len: number): void {
    if (this.rtcpRemote === null || this.isClosed) return;
    const out = this.withRoom(buf, len, this.local.rtcpOverhead);
    if (out === null) return;
    const n = this.local.protectRtcp(out, len);
    if (n > 0) this.transmitRtcp(out, n);
  }

  /** `buf` if it has `overhead` spare bytes after `len` for the SRTP trailer, else a copy in the scratch buffer. */
  private withRoom(buf: Buffer, len: number, overhead: number): Buffer | null {
    if (buf.length - len >= overhead) return buf;
    if (len > 1500) return null;
    buf.copy(this.scratch, 0, 0, len);
    return this.scratch;
  }

  override exportState(): SdesLegState {
    // baseState() pulls the fast path's state first (SRTP streams included).
    return { ...this.baseState(), kind: 'sdes', srtpLocal: this.local.exportState(), srtpRemote: this.remoteCtx.exportState() };
  }

  protected override unprotectRtp(buf: Buffer, len: number): number {
    return this.remoteCtx.unprotectRtp(buf, len);
  }

  protected override unprotectRtcp(buf: Buffer, len: number): number {
    return this.remoteCtx.unprotectRtcp(buf, len);
  }

  protected override get authenticatesSource(): boolean {
    return true;
  }

  protected override get srtpIn(): SrtpContext {
    return this.remoteCtx;
  }

  protected override get srtpOut(): SrtpContext {
    return this.local;
  }
}
