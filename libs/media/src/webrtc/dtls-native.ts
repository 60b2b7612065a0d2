// DTLS-SRTP (RFC 5764) on OpenSSL inside the native addon (native/src/dtls.c): the same
// session the werift path runs, at a fraction of its CPU (P-256/X25519, ECDSA and the
// record layer in C instead of JavaScript). The leg still demultiplexes (RFC 7983) and
// feeds each DTLS datagram in; on a native socket the replies leave from C to the peer
// ICE validated. OpenSSL checks the peer's signature with the key of the certificate it
// sent; a=fingerprint is compared here, as on the werift path.
import type { DtlsCertificate } from './certificate.js';
import { fingerprintFault, type RemoteFingerprint } from './dtls-verify.js';
import type { DtlsResult, DtlsRole, DtlsSession, DtlsSessionOptions } from './dtls.js';
import { srtpKeysFromDtls } from '../srtp/dtls-keys.js';
import { srtpProfileFromId, type SrtpProfile } from '../srtp/profile.js';
import { DtlsState, loadNativeBinding, type DtlsContextHandle, type DtlsSessionHandle, type NativeBinding } from '../native/binding.js';

/** OpenSSL's use_srtp names (RFC 5764 §4.1.2, RFC 7714 §14.2). */
const OPENSSL_PROFILE: Record<SrtpProfile, string> = {
  AEAD_AES_128_GCM: 'SRTP_AEAD_AES_128_GCM',
  AES_CM_128_HMAC_SHA1_80: 'SRTP_AES128_CM_SHA1_80',
};

/** One SSL_CTX per certificate per thread (a context is cheap to share, costly to make). */
const contexts = new WeakMap<DtlsCertificate, DtlsContextHandle>();

function contextFor(binding: NativeBinding, certificate: DtlsCertificate): DtlsContextHandle {
  let ctx = contexts.get(certificate);
  if (ctx === undefined) {
    ctx = binding.dtlsContext(certificate.certPem, certificate.keyPem);
    contexts.set(certificate, ctx);
  }
  return ctx;
}

// Scratch for the exported keying material (60 bytes at most); copied out by srtpKeysFromDtls.
const material = Buffer.alloc(64);

export class NativeDtlsSession implements DtlsSession {
  readonly role: DtlsRole;
  readonly implementation = 'native' as const;
  remoteFingerprints: RemoteFingerprint[] = [];
  result: DtlsResult | null = null;
  onConnected: ((result: DtlsResult) => void) | null = null;
  onError: ((error: Error) => void) | null = null;
  onClose: (() => void) | null = null;
  private readonly binding: NativeBinding;
  private readonly session: DtlsSessionHandle;
  private timer: NodeJS.Timeout | null = null;
  private state: DtlsState = DtlsState.HANDSHAKING;
  private started = false;
  private closed = false;
  private released = false;
  /**
   * The peer's certificate (DER), kept when OpenSSL's state is freed: a later SDP of the
   * peer (an answer to a trunk's re-INVITE says a=setup:active where its offer said
   * actpass) is checked against it again, and the session must still know who the peer is.
   */
  private peerCertificate: Buffer | null = null;

  constructor(opts: DtlsSessionOptions) {
    const binding = loadNativeBinding();
    if (binding === null) throw new Error('native DTLS needs the native addon');
    this.binding = binding;
    this.role = opts.role;
    const profiles = opts.profiles.map((p) => OPENSSL_PROFILE[p]).join(':');
    const socketId = opts.socketId ?? 0;
    this.session = binding.dtlsCreate(contextFor(binding, opts.certificate), opts.role === 'server', profiles, socketId,
      socketId === 0 ? opts.send : null);
  }

  setPeer(address: string, port: number): void {
    if (!this.closed) this.binding.dtlsPeer(this.session, address, port);
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.settle(this.binding.dtlsStart(this.session));
  }

  receive(datagram: Buffer): void {
    if (this.closed) return;
    if (this.released) {
      // RFC 6347 §4.1: content type 21 is an alert; the browser's close_notify on hang-up.
      if (datagram[0] === 21) {
        this.closed = true;
        this.onClose?.();
      }
      return;
    }
    this.settle(this.binding.dtlsFeed(this.session, datagram));
  }

  release(): void {
    if (this.released || this.closed || this.state !== DtlsState.CONNECTED) return;
    this.released = true;
    this.peerCertificate = this.binding.dtlsPeerCertificate(this.session);
    this.binding.dtlsClose(this.session);
  }

  private readonly retransmit = (): void => {
    this.timer = null;
    if (!this.closed) this.settle(this.binding.dtlsTimeout(this.session));
  };

  /** Acts on the state a call into OpenSSL left: re-arm the flight timer, or report the outcome. */
  private settle(state: DtlsState): void {
    const before = this.state;
    this.state = state;
    if (state === DtlsState.HANDSHAKING) {
      const ms = this.binding.dtlsTimer(this.session);
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = ms >= 0 ? setTimeout(this.retransmit, Math.ceil(ms)) : null;
      return;
    }
    this.stopTimer();
    if (state === before) return;
    if (state === DtlsState.CONNECTED) return this.connected();
    if (state === DtlsState.FAILED) return this.fail(new Error(`DTLS: ${this.binding.dtlsError(this.session)}`));
    if (state === DtlsState.CLOSED && before === DtlsState.CONNECTED) this.onClose?.();
    else if (state === DtlsState.CLOSED) this.fail(new Error(`DTLS: ${this.binding.dtlsError(this.session)}`));
  }

  private connected(): void {
    const profile = srtpProfileFromId(this.binding.dtlsExport(this.session, material));
    if (profile === undefined) return this.fail(new Error('DTLS: no SRTP profile negotiated (use_srtp)'));
    this.result = { profile, ...srtpKeysFromDtls(profile, material, this.role === 'client') };
    material.fill(0);
    if (this.remoteFingerprints.length > 0) this.verify();
  }

  verify(): void {
    if (this.result === null || this.closed) return;
    const der = this.released ? this.peerCertificate : this.binding.dtlsPeerCertificate(this.session);
    const fault = fingerprintFault(der, this.remoteFingerprints);
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
    this.stopTimer();
    if (!this.released) this.binding.dtlsClose(this.session);
  }
}
