// DTLS-SRTP (RFC 5764) on werift's DTLS 1.2 state machine: the fallback where the native
// addon is not built (and the reference the OpenSSL path is tested against), driven over
// the leg's own UDP socket, followed by the RFC 5705 key export that keys our SRTP
// contexts. After the handshake werift is out of the packet path.
//
// Why DTLS finished 1.2–2.3 s after ICE with werift's RTCPeerConnection, and what this
// leg does instead. Two things add up (figures measured on this machine, loopback):
//  1. RTCDtlsTransport.start() creates the DtlsServer/DtlsClient only after werift's ICE
//     transport has reported connected, and as the client it then sleeps a fixed 100 ms
//     (`await setTimeout(100)`) before its ClientHello. Against Chromium that alone gives
//     ICE connected -> DTLS connected of 110–170 ms (werift client) and 125–350 ms
//     (werift server). Datagrams that arrive before the DTLS endpoint exists go nowhere.
//  2. A flight lost in that gap is only resent by the timer: werift's Flight.transmit
//     waits 500 ms, then 1 s, then 1.5 s; OpenSSL-based peers (rtpengine) start at 1 s
//     and double. One or two such waits are the 1.2–2.3 s. Measured with the first
//     ClientHello dropped: werift alone 546 ms, this session 68 ms.
// So here the DTLS endpoint exists from the moment the leg has a role (nothing it is
// sent is dropped), the client sends its ClientHello as soon as a check has shown
// where the peer is (no sleep), and an unanswered flight is resent after 50 ms,
// doubling (RFC 6347 §4.2.4.1 makes 1 s a default, not a rule). With Chromium the leg
// measures ICE connected -> DTLS done ~15–80 ms and first SRTP in ~35–90 ms.
import type { DtlsSocket } from 'werift';
import { type RemoteFingerprint, verifyPeer } from './dtls-verify.js';
import { installWeriftX25519 } from './werift-x25519.js';
import type { DtlsResult, DtlsRole, DtlsSession, DtlsSessionOptions } from './dtls.js';
import { DTLS_SRTP_EXPORTER_LABEL, dtlsSrtpKeyingMaterialLength, srtpKeysFromDtls } from '../srtp/dtls-keys.js';
import { SRTP_PROFILE_IDS, srtpProfileFromId } from '../srtp/profile.js';

const FIRST_RETRANSMIT_MS = 50;
const MAX_RETRANSMITS = 6;

/** werift, loaded on first need (its import alone takes about a second per thread). */
let werift: typeof import('werift') | null = null;

/** Loads werift (and puts node:crypto's X25519 under it); sessions need it loaded first. */
export async function loadWerift(): Promise<void> {
  if (werift !== null) return;
  werift = await import('werift');
  installWeriftX25519();
}

export class WeriftDtlsSession implements DtlsSession {
  readonly role: DtlsRole;
  readonly implementation = 'werift' as const;
  /** Fingerprints from the peer's SDP; checked once the handshake completes (may be set late). */
  remoteFingerprints: RemoteFingerprint[] = [];
  result: DtlsResult | null = null;
  onConnected: ((result: DtlsResult) => void) | null = null;
  onError: ((error: Error) => void) | null = null;
  /** The peer sent an alert (close_notify when the browser closes its RTCPeerConnection). */
  onClose: (() => void) | null = null;
  private readonly socket: DtlsSocket;
  private readonly transport: { type: string; address: { address: string; port: number; family: string }; closed: boolean;
    onData: (data: Buffer) => void; send: (data: Buffer) => Promise<void>; close: () => Promise<void> };
  private readonly sendDatagram: (datagram: Buffer) => void;
  private unanswered: Buffer[] = [];
  private timer: NodeJS.Timeout | null = null;
  private retransmits = 0;
  private started = false;
  private handshakeDone = false;
  private sawHelloVerify = false;
  private closed = false;

  constructor(opts: DtlsSessionOptions) {
    this.role = opts.role;
    this.sendDatagram = opts.send;
    // werift's Transport: it assigns onData itself and calls send(); we feed onData from the leg's demux.
    this.transport = {
      type: 'udp', address: { address: '', port: 0, family: 'IPv4' }, closed: false,
      onData: () => undefined,
      send: (data: Buffer) => { this.transmit(data); return Promise.resolve(); },
      close: () => Promise.resolve(),
    };
    const options = {
      transport: this.transport as never,
      cert: opts.certificate.certPem,
      key: opts.certificate.keyPem,
      signatureHash: { hash: 4 as const, signature: 3 as const },
      srtpProfiles: opts.profiles.map((p) => SRTP_PROFILE_IDS[p]) as (1 | 7)[],
      extendedMasterSecret: true,
      // RFC 5763 §5: the client's certificate is what its a=fingerprint names, so ask for it.
      certificateRequest: true,
    };
    if (werift === null) throw new Error('werift DTLS: call loadWerift() first (WebRtcLeg.prepare or create does)');
    this.socket = opts.role === 'server' ? new werift.DtlsServer(options) : new werift.DtlsClient(options);
    this.socket.onConnect.subscribe(() => this.connected());
    this.socket.onError.subscribe((e: Error) => this.fail(e instanceof Error ? e : new Error(String(e))));
    this.socket.onClose.subscribe(() => { if (!this.closed) this.onClose?.(); });
  }

  /** The leg sends through `send` to its own peer address. */
  setPeer(): void { /* nothing to keep */ }

  /** werift's state is JavaScript the session holds anyway; it stays for its alerts. */
  release(): void { /* nothing to free early */ }

  /** The client sends its ClientHello now; a server just waits for one. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (this.socket instanceof werift!.DtlsClient) this.socket.connect().catch((e: unknown) => this.fail(e as Error));
  }

  /** One DTLS datagram from the peer. */
  receive(datagram: Buffer): void {
    if (this.closed) return;
    // werift's client throws on a second HelloVerifyRequest (one per ClientHello we
    // retransmitted); the first one already carried the cookie. Record header is 13
    // bytes, then the handshake's msg_type (3 = hello_verify_request).
    if (datagram.length > 13 && datagram[0] === 22 && datagram[13] === 3) {
      if (this.sawHelloVerify) return;
      this.sawHelloVerify = true;
    }
    // Anything from the peer answers the flight we sent; a lost reply shows up as the
    // peer retransmitting, which werift answers by resending its last flight.
    this.unanswered = [];
    this.retransmits = 0;
    this.transport.onData(datagram);
  }

  private transmit(datagram: Buffer): void {
    if (this.closed) return;
    this.sendDatagram(datagram);
    if (this.handshakeDone) return;
    this.unanswered.push(datagram);
    this.timer ??= setTimeout(this.retransmit, FIRST_RETRANSMIT_MS);
  }

  private readonly retransmit = (): void => {
    this.timer = null;
    if (this.closed || this.handshakeDone || this.unanswered.length === 0) return;
    if (this.retransmits >= MAX_RETRANSMITS) return; // werift's own slower timer keeps trying.
    this.retransmits++;
    for (const d of this.unanswered) this.sendDatagram(d);
    this.timer = setTimeout(this.retransmit, FIRST_RETRANSMIT_MS << this.retransmits);
  };

  private connected(): void {
    if (this.handshakeDone || this.closed) return;
    this.handshakeDone = true;
    this.stopTimer();
    const profile = srtpProfileFromId(this.socket.srtp.srtpProfile ?? 0);
    if (profile === undefined) return this.fail(new Error('DTLS: no SRTP profile negotiated (use_srtp)'));
    const material = this.socket.exportKeyingMaterial(DTLS_SRTP_EXPORTER_LABEL, dtlsSrtpKeyingMaterialLength(profile));
    this.result = { profile, ...srtpKeysFromDtls(profile, material, this.role === 'client') };
    if (this.remoteFingerprints.length > 0) this.verify();
  }

  /** Checks the peer against the SDP fingerprints; called at connect or when they arrive late. */
  verify(): void {
    if (this.result === null || this.closed) return;
    const fault = verifyPeer(this.socket, this.remoteFingerprints);
    if (fault !== null) return this.fail(new Error(`DTLS: ${fault}`));
    this.onConnected?.(this.result);
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.result = null;
    this.onError?.(e);
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.closed = true;
    this.stopTimer();
    this.unanswered = [];
    // werift's own flight loop (Flight.transmit) sleeps 0.5-5.5 s between up to 10 resends
    // with timers it never cancels, and stops once the session's flight counter has passed
    // the one it waits for: a handshake abandoned midway would otherwise hold the process
    // (or worker) alive for ~30 s after the leg is gone.
    (this.socket.dtls as { flight: number }).flight = Number.MAX_SAFE_INTEGER;
  }
}
