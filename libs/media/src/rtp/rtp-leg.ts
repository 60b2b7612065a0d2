// A plain RTP/AVP leg: one UDP socket (rtcp-mux, RFC 5761) or an RTP/RTCP pair on an
// even port and port + 1 (RFC 3550 §11), with symmetric RTP latching (RFC 4961 style,
// as rtpengine/Kamailio "learn" the peer): until latched, media goes to the address the
// peer's SDP gave; the first valid packet's source becomes the peer. Once latched the
// socket is connect()ed (a connected send skips the per-packet address lookup and the
// kernel filters other sources). After `relatchAfterMs` of silence the socket is
// disconnected so a new source (e.g. the peer moved behind NAT) can be learned.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { emptyLegStats, type LegStats, type MediaLeg, type PacketSink } from '../leg.js';
import type { PortAllocator } from '../ports/allocator.js';
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
  /** connect() the socket once latched (default true). */
  connect?: boolean;
  /** RTP clock rate for jitter (default 8000, G.711). */
  clockRate?: number;
}

export interface RtpLegState extends Record<string, unknown> {
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
  connect: boolean;
  clockRate: number;
}

// The last address checked: an unconnected socket (SDES legs, legs not yet latched)
// looks up its peer on every send, and isIP() is a regular expression per packet.
let lastLiteral = '';
let lastFamily = 0;

/** Resolves IP literals synchronously: dgram's default dns.lookup defers every send to the next tick. */
function literalLookup(address: string, _family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  if (address !== lastLiteral) {
    const family = isIP(address);
    if (family === 0) {
      callback(new Error(`media addresses must be IP literals: ${address}`), address, 4);
      return;
    }
    lastLiteral = address;
    lastFamily = family;
  }
  callback(null, address, lastFamily);
}

function bindSocket(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4', lookup: literalLookup as never });
    const onError = (err: Error): void => {
      s.close();
      reject(err);
    };
    s.once('error', onError);
    s.bind({ address, port, exclusive: true }, () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

async function bindPair(address: string, port: number, mux: boolean): Promise<[Socket, Socket | null]> {
  const rtp = await bindSocket(address, port);
  if (mux) return [rtp, null];
  try {
    return [rtp, await bindSocket(address, port + 1)];
  } catch (err) {
    rtp.close();
    throw err;
  }
}

export class RtpLeg implements MediaLeg {
  readonly kind: 'rtp' | 'sdes' = 'rtp';
  readonly localAddress: string;
  readonly localPort: number;
  readonly stats: LegStats = emptyLegStats();
  /** RFC 3550 reception state of the source on this leg (loss, jitter, last SR). */
  readonly reception: RtpReceiveStats;
  onRtp: PacketSink | null = null;
  onRtcp: PacketSink | null = null;

  protected readonly rtpSocket: Socket;
  protected readonly rtcpSocket: Socket | null;
  protected readonly bindAddress: string;
  protected readonly rtcpMux: boolean;
  protected remote: (TransportAddress & { rtcpPort?: number }) | null;
  protected rtcpRemote: TransportAddress | null;
  protected latched = false;
  private connected = false;
  private closed = false;
  private readonly latch: boolean;
  private readonly relatchAfterMs: number;
  private readonly useConnect: boolean;
  private readonly allocator: PortAllocator;
  private readonly timer: NodeJS.Timeout;

  /** Binds the leg's socket(s) from the allocator (or the given port) and starts receiving. */
  static async create(opts: RtpLegOptions): Promise<RtpLeg> {
    const [port, sockets] = await RtpLeg.bind(opts);
    return new RtpLeg(opts, port, sockets[0], sockets[1]);
  }

  /** Rebinds a leg from exportState() output (after the original was closed or its node died). */
  static async restore(state: RtpLegState, allocator: PortAllocator): Promise<RtpLeg> {
    return RtpLeg.create(optionsFromState(state, allocator));
  }

  protected static async bind(opts: RtpLegOptions): Promise<[number, [Socket, Socket | null]]> {
    const address = opts.address ?? '0.0.0.0';
    const mux = opts.rtcpMux ?? false;
    if (opts.port !== undefined) {
      if (!opts.allocator.claim(opts.port)) throw new Error(`media port ${opts.port} is not free in the allocator`);
      try {
        return [opts.port, await bindPair(address, opts.port, mux)];
      } catch (err) {
        opts.allocator.release(opts.port);
        throw err;
      }
    }
    const { port, value } = await opts.allocator.bindNext((p) => bindPair(address, p, mux));
    return [port, value];
  }

  protected constructor(opts: RtpLegOptions, port: number, rtpSocket: Socket, rtcpSocket: Socket | null) {
    this.allocator = opts.allocator;
    this.bindAddress = opts.address ?? '0.0.0.0';
    this.localAddress = opts.advertisedAddress ?? this.bindAddress;
    this.localPort = port;
    this.rtcpMux = opts.rtcpMux ?? false;
    this.remote = opts.remote ? { ...opts.remote } : null;
    this.rtcpRemote = opts.remote ? { address: opts.remote.address, port: opts.remote.rtcpPort ?? (this.rtcpMux ? opts.remote.port : opts.remote.port + 1) } : null;
    this.latch = opts.latch ?? true;
    this.relatchAfterMs = opts.relatchAfterMs ?? 3000;
    this.useConnect = opts.connect ?? true;
    this.reception = new RtpReceiveStats(opts.clockRate ?? 8000);
    this.rtpSocket = rtpSocket;
    this.rtcpSocket = rtcpSocket;
    rtpSocket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.receive(msg, rinfo, false));
    rtpSocket.on('error', () => { /* ICMP errors on a UDP socket: the peer is gone or not yet there; keep going */ });
    if (rtcpSocket) {
      rtcpSocket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.receive(msg, rinfo, true));
      rtcpSocket.on('error', () => { /* as above */ });
    }
    this.timer = setInterval(() => this.checkSilence(), Math.max(250, Math.min(1000, this.relatchAfterMs / 2)));
    this.timer.unref();
  }

  /** Peer RTP address currently sent to (latched or from SDP), or null. */
  get remoteAddress(): TransportAddress | null {
    return this.remote ? { address: this.remote.address, port: this.remote.port } : null;
  }

  /** Sets where to send (a re-INVITE changed the peer's SDP); latching starts over. */
  setRemote(remote: TransportAddress & { rtcpPort?: number }): void {
    this.unlatch();
    this.remote = { ...remote };
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
    if (this.connected) this.rtpSocket.send(buf, 0, n);
    else this.rtpSocket.send(buf, 0, n, remote.port, remote.address);
    this.stats.packetsOut++;
    this.stats.bytesOut += n;
  }

  protected transmitRtcp(buf: Buffer, n: number): void {
    const remote = this.rtcpRemote as TransportAddress;
    if (this.rtcpSocket !== null) this.rtcpSocket.send(buf, 0, n, remote.port, remote.address);
    else if (this.connected) this.rtpSocket.send(buf, 0, n);
    else this.rtpSocket.send(buf, 0, n, remote.port, remote.address);
  }

  protected get isClosed(): boolean {
    return this.closed;
  }

  exportState(): RtpLegState {
    return {
      kind: this.kind,
      address: this.bindAddress,
      advertisedAddress: this.localAddress,
      port: this.localPort,
      rtcpMux: this.rtcpMux,
      remote: this.remote ? { ...this.remote } : null,
      rtcpRemote: this.rtcpRemote ? { ...this.rtcpRemote } : null,
      latched: this.latched,
      latch: this.latch,
      relatchAfterMs: this.relatchAfterMs,
      connect: this.useConnect,
      clockRate: this.reception.clockRate,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.onRtp = null;
    this.onRtcp = null;
    try {
      await Promise.all([closeSocket(this.rtpSocket), this.rtcpSocket ? closeSocket(this.rtcpSocket) : Promise.resolve()]);
    } finally {
      this.allocator.release(this.localPort);
    }
  }

  // Hooks for the SDES-SRTP leg: the plain leg passes packets through.
  protected unprotectRtp(_buf: Buffer, len: number): number { return len; }
  protected unprotectRtcp(_buf: Buffer, len: number): number { return len; }
  /** True if a packet from an unexpected source can prove it belongs to the call (SRTP auth). */
  protected get authenticatesSource(): boolean { return false; }

  private receive(msg: Buffer, rinfo: RemoteInfo, onRtcpSocket: boolean): void {
    // RTCP on the RTP port is handled as RTCP even without rtcp-mux (a peer muxing
    // unasked, or another leg's RTCP aimed at port + 1 of a neighbour): taken as RTP it
    // would latch an idle leg onto the wrong source and starve the real peer.
    if (onRtcpSocket || isRtcpPacket(msg, msg.length)) {
      this.receiveRtcp(msg, rinfo, onRtcpSocket);
      return;
    }
    const stats = this.stats;
    const fromPeer = this.remote !== null && this.latched && rinfo.port === this.remote.port && rinfo.address === this.remote.address;
    if (this.latch && this.latched && !fromPeer) {
      // Another source while latched: only after silence, or if it authenticates (SRTP).
      if (!this.authenticatesSource && Date.now() - stats.lastPacketAt < this.relatchAfterMs) {
        stats.packetsDropped++;
        return;
      }
    }
    const len = this.unprotectRtp(msg, msg.length);
    if (len < 0 || rtpHeaderLength(msg, len) < 0) {
      stats.packetsDropped++;
      return;
    }
    if (this.latch && !fromPeer) this.latchTo(rinfo);
    stats.packetsIn++;
    stats.bytesIn += msg.length;
    stats.lastPacketAt = Date.now();
    this.reception.update(msg, performance.now());
    this.reception.writeTo(stats);
    const sink = this.onRtp;
    if (sink !== null) sink(msg, len);
  }

  private receiveRtcp(msg: Buffer, rinfo: RemoteInfo, onRtcpSocket: boolean): void {
    const len = this.unprotectRtcp(msg, msg.length);
    if (len < 8) return;
    if (onRtcpSocket && this.latch && (this.rtcpRemote === null || rinfo.port !== this.rtcpRemote.port || rinfo.address !== this.rtcpRemote.address)) {
      this.rtcpRemote = { address: rinfo.address, port: rinfo.port };
    }
    const sink = this.onRtcp;
    if (sink !== null) sink(msg, len);
  }

  private latchTo(rinfo: RemoteInfo): void {
    if (this.connected) {
      this.rtpSocket.disconnect();
      this.connected = false;
    }
    this.remote = { address: rinfo.address, port: rinfo.port, ...(this.remote?.rtcpPort !== undefined ? { rtcpPort: this.remote.rtcpPort } : {}) };
    if (this.rtcpMux) this.rtcpRemote = { address: rinfo.address, port: rinfo.port };
    this.latched = true;
    if (this.useConnect && !this.authenticatesSource) {
      // literalLookup is synchronous, so the connect completes inside this call.
      try {
        this.rtpSocket.connect(rinfo.port, rinfo.address);
        this.connected = true;
      } catch {
        this.connected = false;
      }
    }
  }

  private unlatch(): void {
    if (this.connected) {
      try { this.rtpSocket.disconnect(); } catch { /* already disconnected */ }
      this.connected = false;
    }
    this.latched = false;
  }

  private checkSilence(): void {
    if (this.latched && Date.now() - this.stats.lastPacketAt > this.relatchAfterMs) this.unlatch();
  }
}

function closeSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  });
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
    connect: state.connect,
    clockRate: state.clockRate,
  };
}
