// What the admin API shows of calls, registrations and trunks: plain JSON views built
// from the monitor's records, with secrets in URIs redacted like everywhere else.

import type { Binding } from '../registrar/bindings.js';
import type { ObservedCall } from '../monitor/call-observer.js';
import { mediaSummary } from '../monitor/observed-call.js';
import type { MediaDirectionName } from '../monitor/directions.js';
import type { MediaHealthStatus, SilentDirection } from '../monitor/one-way-audio.js';
import { redactDeep } from '../hep/redact.js';

export interface LegView {
  side: 'a' | 'b';
  kind: 'browser' | 'trunk';
  callId?: string;
  from?: string;
  to?: string;
  transport?: string;
  peer?: string;
  /** The leg's dialog state: null before one exists. */
  dialog: 'early' | 'confirmed' | 'terminated' | null;
  /** The direction its latest SDP asked for (sendrecv, sendonly, recvonly, inactive). */
  sdpDirection?: string;
}

export interface CallView {
  id: string;
  direction: 'outbound' | 'inbound';
  state: string;
  trunk?: string;
  from: string;
  to: string;
  startedAt: string;
  answeredAt?: string;
  durationSeconds: number;
  legs: [LegView, LegView];
  media: {
    health: MediaHealthStatus;
    /** The direction(s) that stopped, when health is one-way or no-media. */
    silent: SilentDirection[];
    flaggedAt?: string;
    directions: Record<MediaDirectionName, { packets: number; bytes: number; lost?: number; jitterMs?: number }>;
    webrtc: { ice: 'connected' | 'pending'; dtls: 'connected' | 'pending' | 'failed'; srtpProfile?: string; failure?: string };
  };
}

export function callView(ob: ObservedCall, now = Date.now()): CallView {
  const r = ob.call.record;
  const answeredAt = ob.answerSentAt ?? r.answeredAt;
  const browserSide = ob.call.browserSide;
  const leg = (side: 'a' | 'b'): LegView => {
    const id = side === 'a' ? ob.aInvite : ob.bInvite;
    const t = side === 'a' ? ob.aSource : ob.bTarget;
    const dialog = side === 'a' ? ob.call.aDialog : ob.call.bDialog;
    const facts = ob.sdp[side];
    return {
      side, kind: side === browserSide ? 'browser' : 'trunk',
      ...((side === 'a' ? r.aCallId : r.bCallId) ? { callId: side === 'a' ? r.aCallId : r.bCallId } : {}),
      ...(id ? { from: id.from, to: id.to } : {}),
      ...(t ? { transport: t.protocol, peer: `${t.remoteAddress}:${t.remotePort}` } : {}),
      dialog: dialog ? dialog.toState().state : null,
      ...(facts ? { sdpDirection: facts.direction } : {}),
    };
  };
  const directions = mediaSummary(ob);
  const w = ob.webrtc;
  const view: CallView = {
    id: r.id, direction: r.direction, state: r.state, ...(ob.trunk ? { trunk: ob.trunk } : {}),
    from: r.from, to: r.to,
    startedAt: new Date(r.createdAt).toISOString(),
    ...(answeredAt !== undefined ? { answeredAt: new Date(answeredAt).toISOString() } : {}),
    durationSeconds: answeredAt !== undefined ? Math.round((now - answeredAt) / 100) / 10 : 0,
    legs: [leg('a'), leg('b')],
    media: {
      health: ob.verdict.status,
      silent: ob.verdict.silent,
      ...(ob.flaggedAt !== undefined ? { flaggedAt: new Date(ob.flaggedAt).toISOString() } : {}),
      directions,
      webrtc: {
        ice: w.iceConnectedAt !== undefined ? 'connected' : 'pending',
        dtls: w.dtlsConnectedAt !== undefined ? 'connected' : w.failure === 'dtls' ? 'failed' : 'pending',
        ...(w.srtpProfile ? { srtpProfile: w.srtpProfile } : {}),
        ...(w.failure ? { failure: w.failure } : {}),
      },
    },
  };
  return redactDeep(view);
}

export interface RegistrationView {
  aor: string;
  contact: string;
  expiresInSeconds: number;
  transport: string;
  source: string;
  instanceId?: string;
}

export function registrationView(b: Binding, now = Date.now()): RegistrationView {
  return redactDeep({
    aor: b.aor, contact: b.contact, expiresInSeconds: Math.max(0, Math.round((b.expiresAt - now) / 1000)),
    transport: b.source.protocol, source: `${b.source.address}:${b.source.port}`,
    ...(b.instanceId !== undefined ? { instanceId: b.instanceId } : {}),
  });
}

export interface TrunkView {
  name: string;
  address: string;
  port: number;
  transport: string;
  /** Reachability from OPTIONS pings; unknown when the trunk is not pinged (yet). */
  state: 'up' | 'down' | 'unknown';
  /** False while pings say it is down: routing skips it. */
  usable: boolean;
  /** Round trip of the last answered ping. */
  rttMs?: number;
  /** Outbound registration state, for trunks that register. */
  registration?: string;
  activeCalls: number;
}
