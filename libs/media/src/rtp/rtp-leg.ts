// A plain RTP/AVP leg: one UDP socket (rtcp-mux, RFC 5761) or an RTP/RTCP pair on an
// even port and port + 1 (RFC 3550 §11), with symmetric RTP latching (RFC 4961 style,
// as rtpengine/Kamailio "learn" the peer): until latched, media goes to the address the
// peer's SDP gave; the first valid packet's source becomes the peer. Once latched the
// socket is connect()ed (a connected send skips the per-packet address lookup and the
// kernel filters other sources). After `relatchAfterMs` of silence the socket is
// disconnected so a new source (e.g. the peer moved behind NAT) can be learned.
// Only a plausible source is ever learned ("RTP bleed": anyone who guesses a media port
// would otherwise take over the call's audio): one at the IP address the peer's SDP gave
// (any port: NAT), or inside the trunk's configured media networks. An SDES leg learns
// any source whose SRTP authenticates instead: the key is the proof.
import { CidrSet } from '@trapezoid/auth';
import { emptyLegStats, type LegState, type FastPathIn, type FastPathLink, type FastPathOut, type LegStats, type MediaLeg, type PacketSink } from '../leg.js';
import { bindMediaSocket, type MediaSocket } from '../net/media-socket.js';
import type { PortAllocator } from '../ports/allocator.js';
import type { SrtpContext } from '../srtp/context.js';
import { isRtcpPacket, rtpHeaderLength } from './header.js';
import { RtpReceiveStats } from './stats.js';

export interface TransportAddress {
  address: string;
  port: number;
}

export interface RtpLegOptions {
  allocator: PortAllocator;
  /** Address to bind (default 0.0.0.0). */
  address?: string;
  /** Address the SDP advertises, if not the bound one (e.g. 0.0.0.0 bound, public IP advertised). */
  advertisedAddress?: string;
  /** Bind exactly this even port (restore after takeover); else the allocator picks one. */
  port?: number;
  /** One socket for RTP and RTCP (RFC 5761). Default false. */
  rtcpMux?: boolean;
  /** Where the peer's SDP says to send RTP (and RTCP, default port + 1 or the same port with rtcp-mux). */
  remote?: TransportAddress & { rtcpPort?: number };
  /** Learn the peer from received packets (default true); false = send to `remote` only. */
  latch?: boolean;
  /** Silence after which another source may be latched (default 3000 ms). */
  relatchAfterMs?: number;
  /**
   * Networks (CIDR, e.g. "203.0.113.0/24") a new source may be learned from besides the
   * address in the peer's SDP: a carrier whose media comes from other hosts than its SDP
   * names. Default none.
   */
  mediaNetworks?: string[];
  /** connect() the socket once latched (default true; dgram sockets only). */
  connect?: boolean;
  /** RTP clock rate for jitter (default 8000, G.711). */
  clockRate?: number;
  /** Native socket (and fast path) when the addon is loaded (default true). */
  native?: boolean;
  /**
   * Sockets already bound at `port` (and port + 1 without rtcp-mux), the port taken from
   * `allocator` by the caller (a worker's pre-bound legs, engine/prebound.ts).
   */
  prebound?: { rtp: MediaSocket; rtcp: MediaSocket | null };
}

export interface RtpLegState {
  kind: 'rtp' | 'sdes';
  address: string;
  advertisedAddress: string;
  port: number;
  rtcpMux: boolean;
  remote: (TransportAddress & { rtcpPort?: number }) | null;
  rtcpRemote: TransportAddress | null;
  latched: boolean;
  latch: boolean;
  relatchAfterMs: number;
  /** Absent in states written before source checks: no networks. */
  mediaNetworks?: string[];
  connect: boolean;
  clockRate: number;
}

/** The state of a plain RTP leg (an SDES leg's adds its SRTP contexts). */
export interface PlainRtpLegState extends RtpLegState {
  kind: 'rtp';
}

interface Bound {
  port: number;
  rtp: MediaSocket;
  rtcp: MediaSocket | null;
}

async function bindPair(address: string, port: number, mux: boolean, native: boolean): Promise<Bound> {
  const rtp = await bindMediaSocket(address, port, { native });
  if (mux) return { port, rtp, rtcp: null };
  try {
    return { port, rtp, rtcp: await bindMediaSocket(address, port + 1, { native }) };
  } catch (err) {
    await rtp.close();
    throw err;
  }
}

export class RtpLeg implements MediaLeg {
  readonly kind: 'rtp' | 'sdes' = 'rtp';
  readonly localAddress: string;
  readonly localPort: number;
  /** The leg's counters; read through `stats`, which first pulls what a native route counted. */
  private readonly counters: LegStats = emptyLegStats();
  /** RFC 3550 reception state of the source on this leg (loss, jitter, last SR). */
  readonly reception: RtpReceiveStats;
  onRtp: PacketSink | null = null;
  onRtcp: PacketSink | null = null;
  fastPath: FastPathLink | null = null;
  silenced = false;

  get stats(): LegStats {
    const link = this.fastPath;
    if (link !== null) link.pull();
    return this.counters;
  }

  protected readonly rtpSocket: MediaSocket;
  protected readonly rtcpSocket: MediaSocket | null;
  protected readonly bindAddress: string;
  protected readonly rtcpMux: boolean;
  protected remote: (TransportAddress & { rtcpPort?: number }) | null;
  protected rtcpRemote: TransportAddress | null;
  protected latched = false;
  private connected = false;
  private closed = false;
  private readonly latch: boolean;
  private readonly relatchAfterMs: number;
  /** The address the peer's SDP gave (latching moves `remote`, never this). */
  private sdpAddress: string | null;
  private readonly mediaNetworks: string[];
  private readonly networks: CidrSet | null;
  private readonly useConnect: boolean;
  private readonly allocator: PortAllocator;
  private readonly timer: NodeJS.Timeout;

  /** Binds the leg's socket(s) from the allocator (or the given port) and starts receiving. */
  static async create(opts: RtpLegOptions): Promise<RtpLeg> {
    return new RtpLeg(opts, await RtpLeg.bind(opts));
  }

  /** Rebinds a leg from exportState() output (after the original was closed or its node died). */
  static async restore(state: RtpLegState, allocator: PortAllocator, native = true): Promise<RtpLeg> {
    return RtpLeg.create({ ...optionsFromState(state, allocator), native });
  }

  protected static async bind(opts: RtpLegOptions): Promise<Bound> {
    if (opts.prebound) return { port: opts.prebound.rtp.localPort, rtp: opts.prebound.rtp, rtcp: opts.prebound.rtcp };
    const address = opts.address ?? '0.0.0.0';
    const mux = opts.rtcpMux ?? false;
    const native = opts.native ?? true;
    if (opts.port !== undefined) {
      if (!opts.allocator.claim(opts.port)) throw new Error(`media port ${opts.port} is not free in the allocator`);
      try {
        return await bindPair(address, opts.port, mux, native);
      } catch (err) {
        opts.allocator.release(opts.port);
        throw err;
      }
    }
    return (await opts.allocator.bindNext((p) => bindPair(address, p, mux, native))).value;
  }

  protected constructor(opts: RtpLegOptions, bound: Bound) {
    const port = bound.port;
    this.allocator = opts.allocator;
    this.bindAddress = opts.address ?? '0.0.0.0';
    this.localAddress = opts.advertisedAddress ?? this.bindAddress;
    this.localPort = port;
    this.rtcpMux = opts.rtcpMux ?? false;
    this.remote = opts.remote ? { ...opts.remote } : null;
    this.rtcpRemote = opts.remote ? { address: opts.remote.address, port: opts.remote.rtcpPort ?? (this.rtcpMux ? opts.remote.port : opts.remote.port + 1) } : null;
    this.latch = opts.latch ?? true;
    this.relatchAfterMs = opts.relatchAfterMs ?? 3000;
    this.sdpAddress = opts.remote?.address ?? null;
    this.mediaNetworks = [...(opts.mediaNetworks ?? [])];
    // Throws CidrError naming a malformed entry (the gateway checked its config with the same parser).
    this.networks = this.mediaNetworks.length > 0 ? new CidrSet(this.mediaNetworks) : null;
    this.useConnect = opts.connect ?? true;
    this.reception = new RtpReceiveStats(opts.clockRate ?? 8000);
    this.rtpSocket = bound.rtp;
    this.rtcpSocket = bound.rtcp;
    bound.rtp.onMessage = (msg, address, port) => this.receivePacket(msg, address, port, false);
    if (bound.rtcp) bound.rtcp.onMessage = (msg, address, port) => this.receivePacket(msg, address, port, true);
    this.timer = setInterval(() => this.checkSilence(), Math.max(250, Math.min(1000, this.relatchAfterMs / 2)));
    this.timer.unref();
  }

  /** Peer RTP address currently sent to (latched or from SDP), or null. */
  get remoteAddress(): TransportAddress | null {
    return this.remote ? { address: this.remote.address, port: this.remote.port } : null;
  }

  /** Sets where to send (a re-INVITE changed the peer's SDP); latching starts over. */
  setRemote(remote: TransportAddress & { rtcpPort?: number }): void {
    this.fastPath?.suspend();
    this.unlatch();
    this.remote = { ...remote };
    this.sdpAddress = remote.address;
    this.rtcpRemote = { address: remote.address, port: remote.rtcpPort ?? (this.rtcpMux ? remote.port : remote.port + 1) };
  }

  sendRtp(buf: Buffer, len: number): void {
    if (this.remote === null || this.closed) return;
    this.transmitRtp(buf, len);
  }

  sendRtcp(buf: Buffer, len: number): void {
    if (this.rtcpRemote === null || this.closed) return;
    this.transmitRtcp(buf, len);
  }

  /** Puts `buf[0..n)` on the wire to the RTP peer (already protected if SRTP). */
  protected transmitRtp(buf: Buffer, n: number): void {
    const remote = this.remote as TransportAddress;
    if (this.connected) this.rtpSocket.sendConnected(buf, 0, n);
    else this.rtpSocket.send(buf, 0, n, remote.port, remote.address);
    this.counters.packetsOut++;
    this.counters.bytesOut += n;
  }

  protected transmitRtcp(buf: Buffer, n: number): void {
    const remote = this.rtcpRemote as TransportAddress;
    if (this.rtcpSocket !== null) this.rtcpSocket.send(buf, 0, n, remote.port, remote.address);
    else if (this.connected) this.rtpSocket.sendConnected(buf, 0, n);
    else this.rtpSocket.send(buf, 0, n, remote.port, remote.address);
  }

  protected get isClosed(): boolean {
    return this.closed;
  }

  exportState(): LegState {
    return { ...this.baseState(), kind: 'rtp' };
  }

  /** The state every RTP leg has (after pulling what a native route counted). */
  protected baseState(): Omit<RtpLegState, 'kind'> {
    this.fastPath?.pull();
    return {
      address: this.bindAddress,
      advertisedAddress: this.localAddress,
      port: this.localPort,
      rtcpMux: this.rtcpMux,
      remote: this.remote ? { ...this.remote } : null,
      rtcpRemote: this.rtcpRemote ? { ...this.rtcpRemote } : null,
      latched: this.latched,
      latch: this.latch,
      relatchAfterMs: this.relatchAfterMs,
      mediaNetworks: [...this.mediaNetworks],
      connect: this.useConnect,
      clockRate: this.reception.clockRate,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.fastPath?.suspend();
    this.closed = true;
    clearInterval(this.timer);
    this.onRtp = null;
    this.onRtcp = null;
    try {
      await Promise.all([this.rtpSocket.close(), this.rtcpSocket ? this.rtcpSocket.close() : Promise.resolve()]);
    } finally {
      this.allocator.release(this.localPort);
    }
  }

  // Hooks for the SDES-SRTP leg: the plain leg passes packets through.
  protected unprotectRtp(_buf: Buffer, len: number): number { return len; }
  protected unprotectRtcp(_buf: Buffer, len: number): number { return len; }
  /** True if a packet from an unexpected source can prove it belongs to the call (SRTP auth). */
  protected get authenticatesSource(): boolean { return false; }
  /** The SRTP context that unprotects / protects RTP on this leg (SDES legs). */
  protected get srtpIn(): SrtpContext | null { return null; }
  protected get srtpOut(): SrtpContext | null { return null; }

  fastIn(): FastPathIn | null {
    // Only a latched peer is a fixed source; a leg that does not latch takes any source.
    if (this.closed || this.rtpSocket.nativeId === 0 || !this.latch || !this.latched || this.remote === null) return null;
    return { socketId: this.rtpSocket.nativeId, srcAddress: this.remote.address, srcPort: this.remote.port, srtp: this.srtpIn, reception: this.reception, stats: this.counters };
  }

  fastOut(): FastPathOut | null {
    if (this.closed || this.rtpSocket.nativeId === 0 || this.remote === null) return null;
    return { socketId: this.rtpSocket.nativeId, destAddress: this.remote.address, destPort: this.remote.port, srtp: this.srtpOut, stats: this.counters };
  }

  /** Datagrams from the leg's sockets (the native fast path hands over what it does not forward). */
  private receivePacket(msg: Buffer, address: string, port: number, onRtcpSocket: boolean): void {
    if (this.silenced) return;
    // RTCP on the RTP port is handled as RTCP even without rtcp-mux (a peer muxing
    // unasked, or another leg's RTCP aimed at port + 1 of a neighbour): taken as RTP it
    // would latch an idle leg onto the wrong source and starve the real peer.
    if (onRtcpSocket || isRtcpPacket(msg, msg.length)) {
      this.receiveRtcp(msg, address, port, onRtcpSocket);
      return;
    }
    // RTP here while a native route runs (another source or SSRC, or the route is being
    // set up): the route's counters are pulled for the latch check, and its state handed
    // back before JS unprotects or counts anything.
    const stats = this.stats;
    const fromPeer = this.remote !== null && this.latched && port === this.remote.port && address === this.remote.address;
    if (!fromPeer && !this.authenticatesSource) {
      // Another source: only one the SDP or the media networks vouch for, and while
      // latched only after the peer's silence (an SRTP source proves itself instead).
      if ((this.latch && this.latched && Date.now() - stats.lastPacketAt < this.relatchAfterMs) || !this.mayLearn(address)) {
        stats.packetsDropped++;
        return;
      }
    }
    const link = this.fastPath;
    if (link !== null) link.suspendIn();
    const len = this.unprotectRtp(msg, msg.length);
    if (len < 0 || rtpHeaderLength(msg, len) < 0) {
      stats.packetsDropped++;
      return;
    }
    if (this.latch && !fromPeer) this.latchTo(address, port);
    stats.packetsIn++;
    stats.bytesIn += msg.length;
    stats.lastPacketAt = Date.now();
    this.reception.update(msg, performance.now());
    this.reception.writeTo(stats);
    const sink = this.onRtp;
    if (sink !== null) sink(msg, len);
  }

  private receiveRtcp(msg: Buffer, address: string, port: number, onRtcpSocket: boolean): void {
    // Plain RTCP is taken from the peer's host or a source the SDP or media networks
    // vouch for, like RTP; SRTCP authenticates itself.
    if (!this.authenticatesSource && !(this.latched && this.remote !== null && address === this.remote.address) && !this.mayLearn(address)) {
      this.counters.packetsDropped++;
      return;
    }
    const len = this.unprotectRtcp(msg, msg.length);
    if (len < 8) return;
    this.counters.rtcpIn++;
    if (onRtcpSocket && this.latch && (this.rtcpRemote === null || port !== this.rtcpRemote.port || address !== this.rtcpRemote.address)) {
      this.rtcpRemote = { address, port };
    }
    const sink = this.onRtcp;
    if (sink !== null) sink(msg, len);
  }

  /** True if a packet from `address` may make it the peer (never asked for the latched peer's packets). */
  private mayLearn(address: string): boolean {
    if (address === this.sdpAddress) return true;
    const nets = this.networks;
    return nets !== null && nets.has(address);
  }

  private latchTo(address: string, port: number): void {
    if (this.connected) {
      this.rtpSocket.disconnect();
      this.connected = false;
    }
    this.remote = { address, port, ...(this.remote?.rtcpPort !== undefined ? { rtcpPort: this.remote.rtcpPort } : {}) };
    if (this.rtcpMux) this.rtcpRemote = { address, port };
    this.latched = true;
    if (this.useConnect && !this.authenticatesSource) this.connected = this.rtpSocket.connect(port, address);
  }

  private unlatch(): void {
    this.fastPath?.suspend();
    if (this.connected) {
      this.rtpSocket.disconnect();
      this.connected = false;
    }
    this.latched = false;
  }

  private checkSilence(): void {
    if (this.latched && Date.now() - this.stats.lastPacketAt > this.relatchAfterMs) this.unlatch();
  }
}

export function optionsFromState(state: RtpLegState, allocator: PortAllocator): RtpLegOptions {
  return {
    allocator,
    address: state.address,
    advertisedAddress: state.advertisedAddress,
    port: state.port,
    rtcpMux: state.rtcpMux,
    ...(state.remote ? { remote: { ...state.remote } } : {}),
    latch: state.latch,
    relatchAfterMs: state.relatchAfterMs,
    mediaNetworks: state.mediaNetworks ?? [],
    connect: state.connect,
    clockRate: state.clockRate,
  };
}
