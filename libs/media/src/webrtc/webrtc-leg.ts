// The WebRTC media leg: one UDP socket carrying STUN, DTLS and SRTP/SRTCP with
// rtcp-mux (RFC 8843/5761), told apart by their first byte (RFC 7983 §7). ICE-lite
// answers the browser's checks, DTLS-SRTP keys the SRTP contexts, and from then on the
// packet path is ours: unprotect in place into onRtp, protect in place out of sendRtp.
import { EventEmitter } from 'node:events';
import { emptyLegStats, type FastPathIn, type FastPathLink, type FastPathOut, type LegStats, type MediaLeg, type PacketSink } from '../leg.js';
import { bindMediaSocket, type MediaSocket } from '../net/media-socket.js';
import { SrtpContext } from '../srtp/context.js';
import type { SrtpProfile } from '../srtp/profile.js';
import { answerSetup, type DtlsSetup, type WebRtcLegMarks, type WebRtcLegOptions, type WebRtcLegState, type WebRtcLocalParameters, type WebRtcRemoteParameters } from './parameters.js';
import { getCertificate, type DtlsCertificate } from './certificate.js';
import { createDtlsSession, dtlsImplementation, prepareDtls, warmUpDtls, type DtlsImplementation, type DtlsResult, type DtlsRole, type DtlsSession } from './dtls.js';
import { CheckResult, IceLiteAgent, generateIceCredentials, type IceCredentials, type SelectedPair } from './ice-lite.js';
import type { PortAllocator } from '../ports/allocator.js';
import { RtpReceiveStats } from '../rtp/stats.js';

export type { DtlsSetup, WebRtcLegMarks, WebRtcLegOptions, WebRtcLegState, WebRtcLocalParameters, WebRtcRemoteParameters };

const DEFAULT_PROFILES: SrtpProfile[] = ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'];
/** DTLS handshake state kept this long after connecting when no SRTP has proven the peer keyed. */
const DTLS_RELEASE_MS = 15_000;
/** SRTCP is protected in one buffer per thread, not 1.5 KiB per leg: a socket's send is done with it on return. */
let rtcpOut: Buffer | null = null;

function bind(address: string, port: number, native: boolean | undefined): Promise<MediaSocket> {
  return bindMediaSocket(address, port, { native: native ?? true });
}

/**
 * Events: 'connected' (pair: SelectedPair) when ICE nominates the first pair,
 * 'pairChanged' (pair) on a later nomination, 'dtlsConnected' (profile), 'dtlsClosed'
 * (the browser sent a DTLS alert), 'consentLost', 'error' (Error), 'closed'.
 */
export class WebRtcLeg extends EventEmitter implements MediaLeg {
  readonly kind = 'webrtc' as const;
  readonly localAddress: string;
  readonly localPort: number;
  /** The leg's counters; read through `stats`, which first pulls what a native route counted. */
  private readonly counters: LegStats = emptyLegStats();
  readonly marks: WebRtcLegMarks = { createdAt: performance.now(), iceCheckedAt: 0, iceNominatedAt: 0, dtlsConnectedAt: 0, firstRtpInAt: 0, firstRtpOutAt: 0 };
  onRtp: PacketSink | null = null;
  onRtcp: PacketSink | null = null;
  fastPath: FastPathLink | null = null;
  silenced = false;

  get stats(): LegStats {
    const link = this.fastPath;
    if (link !== null) link.pull();
    return this.counters;
  }
  /** The last error (also emitted as 'error' when someone listens). */
  lastError: Error | null = null;
  readonly ice: IceLiteAgent;
  readonly profiles: SrtpProfile[];
  /** Who runs the DTLS handshake: OpenSSL in the native addon, or werift. */
  readonly dtlsImplementation: DtlsImplementation;
  /** Our a=setup. */
  setup: DtlsSetup;
  dtlsRole: DtlsRole | null = null;
  srtpProfile: SrtpProfile | null = null;
  consentLost = false;
  private remote: WebRtcRemoteParameters | null = null;
  private dtls: DtlsSession | null = null;
  private srtpIn: SrtpContext | null = null;
  private srtpOut: SrtpContext | null = null;
  // Where media goes and may come from, in plain fields for the per-packet check: the
  // nominated pair, or before nomination the source of the last valid check. Chrome
  // runs DTLS and starts media on its selected pair before it sends USE-CANDIDATE
  // (RFC 8445 §12.1 lets it use any valid pair), so waiting for nomination would drop
  // the first packets.
  private peerAddress = '';
  private peerPort = 0;
  private sending = false;
  private closed = false;
  /** RFC 3550 reception state of the browser's stream (loss, jitter). */
  readonly reception: RtpReceiveStats;
  private readonly consentTimer: NodeJS.Timeout;
  private readonly allocator: PortAllocator | null;

  private readonly socket: MediaSocket;

  private constructor(
    socket: MediaSocket,
    private readonly certificate: DtlsCertificate,
    opts: WebRtcLegOptions,
    port: number,
  ) {
    super();
    this.socket = socket;
    this.allocator = opts.allocator ?? null;
    this.reception = new RtpReceiveStats(opts.clockRate ?? 48000);
    this.localAddress = opts.address;
    this.localPort = port;
    this.profiles = opts.profiles ?? DEFAULT_PROFILES;
    this.dtlsImplementation = dtlsImplementation(opts);
    this.ice = new IceLiteAgent(opts.ice ?? generateIceCredentials(), { consentTimeoutMs: opts.consentTimeoutMs });
    this.setup = 'actpass';
    if (opts.remote) this.applyRemote(opts.remote, opts.answerSetup ?? 'passive', true);
    socket.onMessage = (msg, address, port) => this.receivePacket(msg, address, port);
    this.consentTimer = setInterval(this.checkConsent, Math.min(1000, Math.max(50, this.ice.consentTimeoutMs / 4)));
  }

  /**
   * Makes the process certificate and runs one in-memory DTLS handshake (with the
   * implementation legs of these options get) so the first call's handshake is not slowed
   * by cold code. Call once per process/worker at start. Returns that implementation.
   */
  static async prepare(opts: { native?: boolean; nativeDtls?: boolean } = {}): Promise<DtlsImplementation> {
    const implementation = dtlsImplementation(opts);
    await warmUpDtls(await getCertificate(), implementation);
    return implementation;
  }

  /** Binds the socket (and makes the process certificate on first use). */
  static async create(opts: WebRtcLegOptions): Promise<WebRtcLeg> {
    const certificate = await getCertificate();
    await prepareDtls(dtlsImplementation(opts));
    if (opts.prebound) return new WebRtcLeg(opts.prebound, certificate, opts, opts.prebound.localPort);
    const allocator = opts.allocator;
    if (!allocator) {
      const bound = await bind(opts.address, opts.port ?? 0, opts.native);
      return new WebRtcLeg(bound, certificate, opts, bound.localPort);
    }
    if (opts.port === undefined) {
      const { port, value } = await allocator.bindNext((p) => bind(opts.address, p, opts.native));
      return new WebRtcLeg(value, certificate, opts, port);
    }
    if (!allocator.claim(opts.port)) throw new Error(`media port ${opts.port} is not free in the allocator`);
    try {
      return new WebRtcLeg(await bind(opts.address, opts.port, opts.native), certificate, opts, opts.port);
    } catch (err) {
      allocator.release(opts.port);
      throw err;
    }
  }

  /**
   * Resumes a leg from exportState() on the same address and port, skipping ICE and
   * DTLS: the browser's consent checks keep being answered with the same credentials
   * and media flows with the same SRTP contexts (rollover counters included).
   */
  static async restore(state: WebRtcLegState, allocator?: PortAllocator, native = true, nativeDtls = true): Promise<WebRtcLeg> {
    const leg = await WebRtcLeg.create({
      native, nativeDtls,
      address: state.address, port: state.port, allocator, profiles: state.profiles, ice: state.ice, clockRate: state.clockRate,
      consentTimeoutMs: state.consentTimeoutMs, remote: state.remote ?? undefined,
      answerSetup: state.setup === 'active' ? 'active' : 'passive',
    });
    leg.setup = state.setup;
    if (state.srtp) {
      // Keys exist: the browser will not handshake again, so no DTLS endpoint is needed.
      leg.dtls?.close();
      leg.dtls = null;
    }
    if (state.selected) {
      leg.ice.selected = { ...state.selected };
      leg.ice.consentAt = performance.now();
      leg.setPeer(state.selected);
    }
    if (state.srtp) {
      leg.srtpProfile = state.srtp.profile;
      leg.srtpOut = SrtpContext.fromState(state.srtp.local);
      leg.srtpIn = SrtpContext.fromState(state.srtp.remote);
    }
    leg.updateSending();
    return leg;
  }

  get localParameters(): WebRtcLocalParameters {
    return {
      ufrag: this.ice.local.ufrag, pwd: this.ice.local.pwd,
      fingerprint: { algorithm: 'sha-256', value: this.certificate.fingerprint },
      setup: this.setup, address: this.localAddress, port: this.localPort,
    };
  }

  /** True once close() ran (also after a DTLS failure closed the leg). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The nominated pair, or null. */
  get remoteAddress(): SelectedPair | null {
    return this.ice.selected;
  }

  /**
   * ICE restart: our new credentials for the peer's re-offer with new ones (its
   * parameters follow through setRemoteParameters). DTLS and SRTP are untouched.
   */
  restartIce(local: IceCredentials): void {
    this.ice.restart(local, this.ice.remoteUfrag);
  }

  /** The peer's answer to our offer (or a re-offer's new fingerprints). */
  setRemoteParameters(remote: WebRtcRemoteParameters): void {
    this.applyRemote(remote, 'passive', false);
  }

  private applyRemote(remote: WebRtcRemoteParameters, preferred: 'active' | 'passive', answering: boolean): void {
    this.remote = remote;
    this.ice.remoteUfrag = remote.ufrag;
    if (this.dtlsRole === null) {
      // RFC 5763 §5: 'active' connects, 'passive' accepts. Answering an offer, our a=setup
      // says which we took (engine/reservations.ts predicts it the same way); an offer we
      // made said actpass and keeps saying it.
      const ours = answerSetup(remote.setup, preferred);
      if (answering) this.setup = ours;
      this.dtlsRole = ours === 'active' ? 'client' : 'server';
      this.startDtls(this.dtlsRole);
    }
    if (this.dtls) {
      this.dtls.remoteFingerprints = remote.fingerprints;
      this.dtls.verify();
    }
  }

  private startDtls(role: DtlsRole): void {
    if (this.dtls !== null || this.closed) return;
    const dtls = createDtlsSession({
      role, certificate: this.certificate, profiles: this.profiles, send: this.sendDtls, socketId: this.socket.nativeId,
    }, this.dtlsImplementation);
    if (this.peerPort !== 0) dtls.setPeer(this.peerAddress, this.peerPort);
    dtls.remoteFingerprints = this.remote?.fingerprints ?? [];
    dtls.onConnected = this.dtlsConnected;
    dtls.onError = (e) => { this.fail(e); void this.close(); };
    dtls.onClose = () => this.emit('dtlsClosed');
    this.dtls = dtls;
    // The client starts once a check has shown where the peer is.
    if (role === 'server' || this.peerPort !== 0) dtls.start();
  }

  private readonly sendDtls = (datagram: Buffer): void => {
    if (this.peerPort === 0 || this.closed) return;
    this.socket.send(datagram, 0, datagram.length, this.peerPort, this.peerAddress);
  };

  private readonly dtlsConnected = (result: DtlsResult): void => {
    if (this.srtpIn !== null) return;
    this.marks.dtlsConnectedAt = performance.now();
    this.srtpProfile = result.profile;
    this.srtpOut = new SrtpContext(result.profile, result.local);
    this.srtpIn = new SrtpContext(result.profile, result.remote);
    this.updateSending();
    this.emit('dtlsConnected', result.profile);
  };

  fastIn(): FastPathIn | null {
    if (this.closed || this.socket.nativeId === 0 || this.srtpIn === null || this.peerPort === 0) return null;
    return { socketId: this.socket.nativeId, srcAddress: this.peerAddress, srcPort: this.peerPort, srtp: this.srtpIn, reception: this.reception, stats: this.counters };
  }

  fastOut(): FastPathOut | null {
    if (!this.sending || this.socket.nativeId === 0) return null;
    return { socketId: this.socket.nativeId, destAddress: this.peerAddress, destPort: this.peerPort, srtp: this.srtpOut, stats: this.counters };
  }

  /**
   * Datagrams from the leg's socket (the native fast path hands over what it does not
   * forward). Demultiplexing per RFC 7983 §7: [0..3] STUN, [20..63] DTLS, [128..191] RTP/RTCP.
   */
  private receivePacket(msg: Buffer, address: string, port: number): void {
    const len = msg.length;
    if (len === 0 || this.silenced) return;
    const b = msg[0]!;
    if (b >= 128 && b <= 191) {
      if (this.srtpIn === null || port !== this.peerPort || address !== this.peerAddress) {
        this.counters.packetsDropped++;
        return;
      }
      if (len >= 8 && msg[1]! >= 192 && msg[1]! <= 223) {
        this.receiveRtcp(msg, len);
      } else {
        // The native route (if any) hands its SRTP and reception state back first.
        if (this.fastPath !== null) this.fastPath.suspendIn();
        this.receiveRtp(msg, len);
      }
    } else if (b < 4) {
      this.receiveStun(msg, len, address, port);
    } else if (b >= 20 && b <= 63) {
      // Only from the address that passed a check (RFC 8445 §12.1: data flows on valid pairs).
      if (port !== this.peerPort || address !== this.peerAddress) return;
      // Offerer whose answer has not arrived yet: a ClientHello means the peer chose 'active'.
      if (this.dtls === null && this.dtlsRole === null && b === 22) {
        this.dtlsRole = 'server';
        this.startDtls('server');
      }
      this.dtls?.receive(msg);
    }
  }

  private receiveRtp(msg: Buffer, len: number): void {
    const n = (this.srtpIn as SrtpContext).unprotectRtp(msg, len);
    if (n < 0) {
      this.counters.packetsDropped++;
      return;
    }
    const st = this.counters;
    st.packetsIn++;
    st.bytesIn += n;
    st.lastPacketAt = Date.now();
    if (this.marks.firstRtpInAt === 0) {
      this.marks.firstRtpInAt = performance.now();
      // The browser has its keys, so it has our last DTLS flight: the handshake state can go.
      this.dtls?.release();
    }
    this.reception.update(msg, performance.now());
    this.reception.writeTo(st);
    if (this.onRtp !== null) this.onRtp(msg, n);
  }

  private receiveRtcp(msg: Buffer, len: number): void {
    const n = (this.srtpIn as SrtpContext).unprotectRtcp(msg, len);
    if (n < 0) {
      this.counters.packetsDropped++;
      return;
    }
    this.counters.rtcpIn++;
    if (this.onRtcp !== null) this.onRtcp(msg, n);
  }

  private receiveStun(msg: Buffer, len: number, address: string, port: number): void {
    const result = this.ice.handle(msg, len, address, port);
    const response = this.ice.response;
    if (response !== null) this.socket.send(response, 0, response.length, port, address);
    if (result === CheckResult.Answered && this.ice.selected === null && !this.consentLost) {
      if (this.marks.iceCheckedAt === 0) this.marks.iceCheckedAt = performance.now();
      this.setPeer({ address, port });
      this.updateSending();
    }
    if (result !== CheckResult.Nominated || this.consentLost) return;
    if (this.marks.iceCheckedAt === 0) this.marks.iceCheckedAt = this.ice.nominatedAt;
    const pair = this.ice.selected as SelectedPair;
    this.setPeer(pair);
    if (this.marks.iceNominatedAt === 0) {
      this.marks.iceNominatedAt = this.ice.nominatedAt;
      this.updateSending();
      this.emit('connected', pair);
    } else {
      this.emit('pairChanged', pair);
    }
  }

  private setPeer(pair: { address: string; port: number }): void {
    if (pair.port !== this.peerPort || pair.address !== this.peerAddress) {
      this.fastPath?.suspend();
      this.peerAddress = pair.address;
      this.peerPort = pair.port;
      this.dtls?.setPeer(pair.address, pair.port);
    }
    this.dtls?.start();
  }

  private updateSending(): void {
    this.sending = !this.closed && !this.consentLost && this.srtpOut !== null && this.peerPort !== 0;
  }

  private readonly checkConsent = (): void => {
    // A call with no media from the browser yet still lets the handshake state go in time:
    // a lost last flight is resent by the browser within seconds (RFC 6347 §4.2.4).
    const connectedAt = this.marks.dtlsConnectedAt;
    if (connectedAt !== 0 && this.marks.firstRtpInAt === 0 && performance.now() - connectedAt > DTLS_RELEASE_MS) this.dtls?.release();
    if (this.consentLost || !this.ice.consentExpired(performance.now())) return;
    // RFC 7675 §5.1: stop sending on the pair once consent has expired.
    this.consentLost = true;
    this.fastPath?.suspend();
    this.updateSending();
    this.emit('consentLost');
  };

  sendRtp(buf: Buffer, len: number): void {
    if (!this.sending) return;
    const n = (this.srtpOut as SrtpContext).protectRtp(buf, len);
    if (n < 0) return;
    this.socket.send(buf, 0, n, this.peerPort, this.peerAddress);
    this.counters.packetsOut++;
    this.counters.bytesOut += n;
    if (this.marks.firstRtpOutAt === 0) this.marks.firstRtpOutAt = performance.now();
  }

  sendRtcp(buf: Buffer, len: number): void {
    if (!this.sending || len > 1500) return;
    // SRTCP adds an index and a tag (up to 20 bytes with GCM): more than the 16 spare
    // bytes a lender promises, so RTCP (a few packets a second) goes via our own buffer.
    const out = (rtcpOut ??= Buffer.alloc(1500 + 32));
    buf.copy(out, 0, 0, len);
    const n = (this.srtpOut as SrtpContext).protectRtcp(out, len);
    if (n < 0) return;
    this.socket.send(out, 0, n, this.peerPort, this.peerAddress);
  }

  exportState(): WebRtcLegState {
    this.fastPath?.pull();
    return {
      kind: 'webrtc', address: this.localAddress, port: this.localPort,
      ice: { ...this.ice.local }, remote: this.remote, setup: this.setup, dtlsRole: this.dtlsRole,
      fingerprint: this.certificate.fingerprint, profiles: [...this.profiles], consentTimeoutMs: this.ice.consentTimeoutMs,
      clockRate: this.reception.clockRate,
      selected: this.ice.selected ? { ...this.ice.selected } : null,
      srtp: this.srtpIn && this.srtpOut && this.srtpProfile
        ? { profile: this.srtpProfile, local: this.srtpOut.exportState(), remote: this.srtpIn.exportState() }
        : null,
    };
  }

  private fail(e: Error): void {
    this.lastError = e;
    // An unheard 'error' would throw out of the socket's event handler: record it instead.
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.fastPath?.suspend();
    this.closed = true;
    this.sending = false;
    clearInterval(this.consentTimer);
    this.dtls?.close();
    this.onRtp = null;
    this.onRtcp = null;
    return this.socket.close().then(() => {
      this.allocator?.release(this.localPort);
      this.emit('closed');
    });
  }
}
