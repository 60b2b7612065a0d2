// DTLS-SRTP (RFC 5764) for one WebRTC leg: what the leg needs of a handshake, whichever
// implementation runs it. Two do: OpenSSL in the native addon (dtls-native.ts, the
// default where the addon is built) and werift's TypeScript state machine
// (dtls-werift.ts, the fallback and the reference both are tested against). Both start
// as early as the leg allows and resend an unanswered flight after 50 ms, doubling, so
// media follows ICE by one round trip or two (dtls-werift.ts tells why werift alone did not).
import type { DtlsCertificate } from './certificate.js';
import type { RemoteFingerprint } from './dtls-verify.js';
import type { SrtpKeys, SrtpProfile } from '../srtp/profile.js';
import { loadNativeBinding } from '../native/binding.js';
import { NativeDtlsSession } from './dtls-native.js';
import { WeriftDtlsSession, loadWerift } from './dtls-werift.js';

export type DtlsRole = 'client' | 'server';

export interface DtlsResult {
  profile: SrtpProfile;
  /** Keys for what we send. */
  local: SrtpKeys;
  /** Keys for what the peer sends. */
  remote: SrtpKeys;
}

export interface DtlsSessionOptions {
  role: DtlsRole;
  certificate: DtlsCertificate;
  /** SRTP profiles we offer/accept, most preferred first. */
  profiles: SrtpProfile[];
  /** Sends one datagram to the peer (the leg's socket, nominated address). */
  send: (datagram: Buffer) => void;
  /**
   * The leg's native socket id: the OpenSSL session then sends its records from C to the
   * address setPeer() gave, without `send`. 0 or absent: through `send`.
   */
  socketId?: number;
}

/** One DTLS-SRTP handshake and, after it, the association's alerts. */
export interface DtlsSession {
  readonly role: DtlsRole;
  /** 'native' (OpenSSL in the addon) or 'werift'. */
  readonly implementation: DtlsImplementation;
  /** Fingerprints from the peer's SDP; checked once the handshake completes (may be set late). */
  remoteFingerprints: RemoteFingerprint[];
  result: DtlsResult | null;
  onConnected: ((result: DtlsResult) => void) | null;
  onError: ((error: Error) => void) | null;
  /** The peer sent an alert (close_notify when the browser closes its RTCPeerConnection). */
  onClose: (() => void) | null;
  /** Where the peer is (the address that passed an ICE check); records go there. */
  setPeer(address: string, port: number): void;
  /** The client sends its ClientHello now; a server just waits for one. */
  start(): void;
  /** One DTLS datagram from the peer. */
  receive(datagram: Buffer): void;
  /** Checks the peer against the SDP fingerprints; called at connect or when they arrive late. */
  verify(): void;
  /**
   * The peer's SRTP authenticated: it has its keys, so it got our last flight and will not
   * resend its own. The handshake state can go (OpenSSL's is ~45 KiB a call); an alert
   * from the peer still reports onClose, read from the record type alone.
   */
  release(): void;
  close(): void;
}

export type DtlsImplementation = 'native' | 'werift';

/**
 * Which implementation a leg gets: OpenSSL when the addon is loaded and neither the leg
 * (`native: false`, the TypeScript media path) nor TRAPEZOID_MEDIA__NATIVE_DTLS=false
 * (the gateway's media.nativeDtls) turns it off.
 */
export function dtlsImplementation(opts: { native?: boolean; nativeDtls?: boolean } = {}): DtlsImplementation {
  if (opts.native === false || opts.nativeDtls === false) return 'werift';
  const setting = process.env.TRAPEZOID_MEDIA__NATIVE_DTLS;
  if (setting === 'false' || setting === '0') return 'werift';
  return loadNativeBinding() !== null ? 'native' : 'werift';
}

/** Loads what `implementation` needs (werift is only loaded for its path); before createDtlsSession. */
export async function prepareDtls(implementation: DtlsImplementation): Promise<void> {
  if (implementation === 'werift') await loadWerift();
}

export function createDtlsSession(opts: DtlsSessionOptions, implementation: DtlsImplementation): DtlsSession {
  return implementation === 'native' ? new NativeDtlsSession(opts) : new WeriftDtlsSession(opts);
}

/**
 * Runs one DTLS handshake in memory (both roles) so the first real call does not pay
 * for cold code (werift: ~110 ms for the first handshake in a process, ~20 ms after).
 * Call once per process or worker at startup.
 */
export async function warmUpDtls(certificate: DtlsCertificate, implementation: DtlsImplementation): Promise<void> {
  await prepareDtls(implementation);
  await handshakeInMemory((opts) => createDtlsSession(opts, implementation), certificate);
}

/** The handshake in memory between two sessions of `make` (warm-up; tests). */
export async function handshakeInMemory(make: (opts: DtlsSessionOptions) => DtlsSession, certificate: DtlsCertificate): Promise<void> {
  const fingerprints = [{ algorithm: 'sha-256', value: certificate.fingerprint }];
  let server: DtlsSession | null = null;
  let client: DtlsSession | null = null;
  const profiles: SrtpProfile[] = ['AEAD_AES_128_GCM'];
  server = make({ role: 'server', certificate, profiles, send: (d) => setImmediate(() => client?.receive(d)) });
  client = make({ role: 'client', certificate, profiles, send: (d) => setImmediate(() => server?.receive(d)) });
  server.remoteFingerprints = fingerprints;
  client.remoteFingerprints = fingerprints;
  const done = (s: DtlsSession): Promise<void> => new Promise((resolve) => {
    s.onConnected = () => resolve();
    s.onError = () => resolve();
  });
  const both = Promise.all([done(server), done(client)]);
  server.start();
  client.start();
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
  await Promise.race([both, timeout]);
  server.close();
  client.close();
}
