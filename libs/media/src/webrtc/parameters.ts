// What a WebRTC leg is told and tells: SDP-facing parameters, options, timing marks
// and the JSON-safe takeover record.
import type { MediaSocket } from '../net/media-socket.js';
import type { PortAllocator } from '../ports/allocator.js';
import type { SrtpContextState } from '../srtp/context.js';
import type { SrtpProfile } from '../srtp/profile.js';
import type { DtlsRole } from './dtls.js';
import type { RemoteFingerprint } from './dtls-verify.js';
import type { IceCredentials, SelectedPair } from './ice-lite.js';

export type DtlsSetup = 'active' | 'passive' | 'actpass';

/**
 * Our a=setup in the answer to an offer that says `offered` (RFC 5763 §5): actpass is
 * answered with our preference, active with passive and passive with active; an answer
 * never says actpass.
 */
export function answerSetup(offered: DtlsSetup, preferred: 'active' | 'passive'): 'active' | 'passive' {
  if (offered === 'actpass') return preferred;
  return offered === 'active' ? 'passive' : 'active';
}

/** What the peer's SDP says about its transport (a=ice-ufrag/pwd, a=fingerprint, a=setup). */
export interface WebRtcRemoteParameters {
  ufrag: string;
  pwd?: string;
  fingerprints: RemoteFingerprint[];
  setup: DtlsSetup;
}

export interface WebRtcLegOptions {
  /** Address to bind and advertise (the host candidate). */
  address: string;
  /** Media ports to take from; without it the OS picks (or `port` is bound as is). */
  allocator?: PortAllocator;
  /** Bind exactly this port (restore after takeover); else the allocator (or the OS) picks. */
  port?: number;
  /**
   * A socket already bound at `address`:`port` and allocated by the caller (a worker's
   * pre-bound legs, engine/prebound.ts): the leg takes it over instead of binding.
   */
  prebound?: MediaSocket;
  /** Native socket (and fast path) when the addon is loaded (default true). */
  native?: boolean;
  /**
   * DTLS on OpenSSL in the addon when it is loaded and `native` is on (default true);
   * false = werift. TRAPEZOID_MEDIA__NATIVE_DTLS=false turns it off process-wide.
   */
  nativeDtls?: boolean;
  /** RTP clock rate of what the browser sends, for jitter (default 48000, Opus). */
  clockRate?: number;
  /** SRTP profiles offered in use_srtp, most preferred first. Default GCM then AES-CM. */
  profiles?: SrtpProfile[];
  /** The peer's parameters when we answer its offer; absent when we offer. */
  remote?: WebRtcRemoteParameters;
  /** Our a=setup when answering actpass (RFC 5763 §5): 'passive' (default) makes us the DTLS server. */
  answerSetup?: 'active' | 'passive';
  /** RFC 7675 consent timeout. Default 30 s. */
  consentTimeoutMs?: number;
  /** ICE credentials to reuse (restore); fresh ones otherwise. */
  ice?: IceCredentials;
}

/** What our SDP needs for this leg. */
export interface WebRtcLocalParameters {
  ufrag: string;
  pwd: string;
  fingerprint: { algorithm: 'sha-256'; value: string };
  setup: DtlsSetup;
  address: string;
  port: number;
}

/** performance.now() of each milestone; 0 until it happens. */
export interface WebRtcLegMarks {
  createdAt: number;
  /** First valid check answered: the browser's ICE turns connected when it gets our response. */
  iceCheckedAt: number;
  iceNominatedAt: number;
  dtlsConnectedAt: number;
  firstRtpInAt: number;
  firstRtpOutAt: number;
}

/** JSON-safe takeover record (docs/architecture.md, "State and failover"). */
export interface WebRtcLegState {
  kind: 'webrtc';
  address: string;
  port: number;
  ice: IceCredentials;
  remote: WebRtcRemoteParameters | null;
  setup: DtlsSetup;
  dtlsRole: DtlsRole | null;
  fingerprint: string;
  profiles: SrtpProfile[];
  consentTimeoutMs: number;
  clockRate: number;
  selected: SelectedPair | null;
  srtp: { profile: SrtpProfile; local: SrtpContextState; remote: SrtpContextState } | null;
}
