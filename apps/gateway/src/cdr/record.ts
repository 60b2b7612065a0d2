// One call detail record per call (versioned, plain JSON): who called whom on each leg,
// when it started, rang, was answered and ended, how it ended and who hung up, and what
// the media did in each of the four directions. Built once, when the call is released,
// from the call record and what the monitor saw; secrets in URIs are redacted.

import type { TransportInfo } from '@trapezoid/sip';
import type { LegIdentity, ObservedCall } from '../monitor/call-observer.js';
import { mediaSummary } from '../monitor/observed-call.js';
import type { MediaDirectionName, MediaLegName } from '../monitor/directions.js';
import { redactDeep } from '../hep/redact.js';
import { endCause, hangupParty, type HangupParty } from './cause.js';

export const CDR_VERSION = 1;

export interface CdrLeg {
  /** What this leg faces. */
  kind: MediaLegName;
  /** SIP Call-ID of the leg's dialog; absent when the call ended before the leg existed. */
  callId?: string;
  requestUri?: string;
  from?: string;
  to?: string;
  /** Where the leg's signalling ran: protocol and the peer's address. */
  transport?: string;
  peer?: string;
}

export interface CdrDirection {
  packets: number;
  bytes: number;
  /** Receiving directions: lost before reaching the gateway, and last jitter in ms. */
  lost?: number;
  jitterMs?: number;
}

export interface CallDetailRecord {
  version: typeof CDR_VERSION;
  /** The gateway's call id (also in every log line of the call). */
  id: string;
  node: string;
  direction: 'outbound' | 'inbound';
  trunk?: string;
  /** The caller's leg (A) and the called leg (B). */
  caller: CdrLeg;
  callee: CdrLeg;
  /** ISO 8601 times; ring and answer absent when they did not happen. */
  start: string;
  ring?: string;
  answer?: string;
  end: string;
  /** Seconds from answer to end (0 unanswered); seconds from INVITE to answer. */
  durationSeconds: number;
  setupSeconds?: number;
  /** hangup, canceled, busy, rejected, no-answer, setup-failed, media-failed, consent-lost, admin, shutdown ... */
  endCause: string;
  /** The SIP status the call ended with (200 for a hang-up after answer) and its reason. */
  endStatus: number;
  endReason: string;
  hangupBy: HangupParty;
  media: Record<MediaDirectionName, CdrDirection> & {
    srtpProfile?: string;
    /** The detector's flag while the call lived: which direction stopped, and when. */
    oneWayAudio?: { status: string; directions: MediaDirectionName[]; since: string };
  };
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function leg(kind: MediaLegName, id: LegIdentity | undefined, callId: string | undefined, t: TransportInfo | undefined): CdrLeg {
  return {
    kind,
    ...(callId ?? id?.callId ? { callId: callId ?? id!.callId } : {}),
    ...(id ? { requestUri: id.requestUri, from: id.from, to: id.to } : {}),
    ...(t ? { transport: t.protocol, peer: `${t.remoteAddress.includes(':') ? `[${t.remoteAddress}]` : t.remoteAddress}:${t.remotePort}` } : {}),
  };
}

export function buildCdr(ob: ObservedCall, node: string): CallDetailRecord {
  const r = ob.call.record;
  const browserIsA = ob.call.browserSide === 'a';
  const end = r.endedAt ?? Date.now();
  const answer = ob.answerSentAt ?? r.answeredAt;
  const media: CallDetailRecord['media'] = mediaSummary(ob);
  if (ob.webrtc.srtpProfile) media.srtpProfile = ob.webrtc.srtpProfile;
  if (ob.flaggedAt !== undefined && (ob.verdict.status === 'one-way' || ob.verdict.status === 'no-media')) {
    media.oneWayAudio = { status: ob.verdict.status, directions: ob.verdict.silent.map((s) => s.direction), since: iso(ob.flaggedAt)! };
  }
  const record: CallDetailRecord = {
    version: CDR_VERSION,
    id: r.id,
    node,
    direction: r.direction,
    ...(ob.trunk ? { trunk: ob.trunk } : {}),
    caller: leg(browserIsA ? 'browser' : 'trunk', ob.aInvite, r.aCallId, ob.aSource),
    callee: leg(browserIsA ? 'trunk' : 'browser', ob.bInvite, r.bCallId, ob.bTarget),
    start: iso(ob.inviteAt ?? r.createdAt)!,
    ...(r.ringingAt !== undefined || ob.ringSentAt !== undefined ? { ring: iso(ob.ringSentAt ?? r.ringingAt) } : {}),
    ...(answer !== undefined ? { answer: iso(answer) } : {}),
    end: iso(end)!,
    durationSeconds: answer !== undefined ? Math.max(0, end - answer) / 1000 : 0,
    ...(answer !== undefined ? { setupSeconds: Math.max(0, answer - (ob.inviteAt ?? r.createdAt)) / 1000 } : {}),
    endCause: ob.end ? endCause(ob.end) : 'unknown',
    endStatus: ob.end?.status ?? r.endStatus ?? 500,
    endReason: ob.end?.reason ?? r.endReason ?? '',
    hangupBy: ob.end ? hangupParty(ob.end) : 'gateway',
    media,
  };
  return redactDeep(record);
}
