// What the monitor knows of one call (metrics, call records, the admin API and the
// one-way-audio detector all read it), and the small readings of the wire it is built
// from: a leg's identity from its INVITE, hold from the latest SDP.

import type { SipRequest, TransportInfo } from '@trapezoid/sip';
import type { Call, CallEnd } from '../calls/call.js';
import { directionCounters, MEDIA_DIRECTIONS, type DirectionCounters, type MediaDirectionName, type MediaLegName } from './directions.js';
import { OneWayAudioDetector, type MediaVerdict } from './one-way-audio.js';
import type { SdpFacts } from './sdp-facts.js';

export type WebRtcFailureStage = 'ice' | 'dtls' | 'consent';

/** A leg's identity as its INVITE carried it (tags left out). */
export interface LegIdentity {
  callId: string;
  requestUri: string;
  from: string;
  to: string;
}

export interface ObservedCall {
  readonly call: Call;
  /** Where the caller's INVITE came from, and when it arrived (the INVITE that created the call). */
  aSource?: TransportInfo;
  inviteAt?: number;
  aInvite?: LegIdentity;
  /** Where the gateway's INVITE to the other side went. */
  bTarget?: TransportInfo;
  bInvite?: LegIdentity;
  /** The trunk this call used (by configuration or by the INVITE's source address). */
  trunk?: string;
  /** The latest SDP seen on each leg (offer or answer, either way). */
  sdp: { a?: SdpFacts; b?: SdpFacts };
  ringSentAt?: number;
  /** When the 2xx left for the caller (the call may end before its state says answered). */
  answerSentAt?: number;
  bridgeId?: string;
  /** Running totals per direction, as of the last sample. */
  counters: Record<MediaDirectionName, DirectionCounters>;
  /** Jitter in seconds of what each leg receives, as of the last sample. */
  jitterSeconds: Record<MediaLegName, number>;
  firstMediaAt: Partial<Record<MediaLegName, number>>;
  webrtc: { iceConnectedAt?: number; dtlsConnectedAt?: number; srtpProfile?: string; failure?: WebRtcFailureStage };
  verdict: MediaVerdict;
  /** When the current one-way/no-media verdict was first reached. */
  flaggedAt?: number;
  /** The bridge reported its last counters (destroyed): no later sample counts. */
  final: boolean;
  /** How the call ended (status, reason, who, cause), once it has. */
  end?: CallEnd;
  /** Every Call-ID of its legs seen so far (a B leg may be retried on another trunk). */
  readonly callIds: Set<string>;
  readonly detector: OneWayAudioDetector;
}

/** Each direction's totals, with loss and jitter (ms) for the two the gateway receives: for views and records. */
export function mediaSummary(ob: ObservedCall): Record<MediaDirectionName, { packets: number; bytes: number; lost?: number; jitterMs?: number }> {
  const out = {} as Record<MediaDirectionName, { packets: number; bytes: number; lost?: number; jitterMs?: number }>;
  for (const d of MEDIA_DIRECTIONS) {
    const c = ob.counters[d];
    const from: MediaLegName | null = d === 'browser->gateway' ? 'browser' : d === 'trunk->gateway' ? 'trunk' : null;
    out[d] = from ? { packets: c.packets, bytes: c.bytes, lost: c.lost, jitterMs: Math.round(ob.jitterSeconds[from] * 10_000) / 10 } : { packets: c.packets, bytes: c.bytes };
  }
  return out;
}

export function newObservedCall(call: Call, oneWayAudioMs: number): ObservedCall {
  return {
    call, sdp: {}, counters: directionCounters([]), jitterSeconds: { browser: 0, trunk: 0 }, firstMediaAt: {}, webrtc: {},
    verdict: { status: 'setup', silent: [] }, final: false, detector: new OneWayAudioDetector(oneWayAudioMs),
    callIds: new Set([call.record.aCallId]),
  };
}

export function identityOf(msg: SipRequest): LegIdentity {
  const untagged = (v: string | undefined): string => (v ?? '').replace(/;\s*tag=[^;>\s]*/i, '').trim();
  return { callId: msg.callId, requestUri: msg.uri, from: untagged(msg.headers.get('from')), to: untagged(msg.headers.get('to')) };
}

/**
 * A copy of an identity whose strings are its own: the parsed ones are slices of the
 * whole received message, which V8 keeps alive as long as a slice is.
 */
export function detached(id: LegIdentity): LegIdentity {
  return JSON.parse(JSON.stringify(id)) as LegIdentity;
}

export function isHeld(facts: SdpFacts | undefined): boolean {
  return facts !== undefined && facts.direction !== 'sendrecv';
}

export function sameSilence(a: MediaVerdict, b: MediaVerdict): boolean {
  return a.silent.length === b.silent.length && a.silent.every((s, i) => s.direction === b.silent[i]!.direction);
}
