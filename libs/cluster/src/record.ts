// The replicated call record (docs/architecture.md, "State and failover"): what another node
// needs to carry a call on. It crosses machines, so it is typed, carries its format
// version in `v`, and is read back only through decodeCallRecord(), which refuses a
// version this build does not know instead of guessing at its fields.

import type { DialogState } from '@trapezoid/sip';
import type { EngineBridgeState } from '@trapezoid/media';

/** The record format this build writes and reads. */
export const CALL_RECORD_VERSION = 1;

export type StoredCallState = 'routing' | 'proceeding' | 'early' | 'answered' | 'ended';

/**
 * How the browser of a call is found again after its WebSocket died with its node
 * (RFC 5626: the same instance-id re-registers over a new flow).
 */
export interface BrowserIdentity {
  /** Address of record the browser registered (or called) as. */
  aor: string;
  /** RFC 5626 +sip.instance, when it registered with one. */
  instanceId?: string;
  regId?: number;
}

/**
 * The INVITE this node sent on a leg that is still ringing: enough for a survivor to
 * CANCEL it (RFC 3261 §9.1: same Request-URI, Call-ID, From, To, CSeq number, top Via
 * and Route) and to ACK the 487 that follows (§17.1.1.3).
 */
export interface PendingInvite {
  /** The request line and headers as sent (no body). */
  head: string;
  protocol: 'udp' | 'tcp' | 'tls';
  address: string;
  port: number;
}

/** One leg: its dialog once it exists, and the SDP each side last sent on it. */
export interface LegRecord {
  dialog?: DialogState;
  /** The leg is still ringing: the INVITE to cancel if the call has to end elsewhere. */
  pendingInvite?: PendingInvite;
  localSdp?: string;
  remoteSdp?: string;
  /** Set on the leg toward a browser. */
  browser?: BrowserIdentity;
}

export interface CallRecordV1 {
  v: 1;
  /** The gateway's call id. */
  id: string;
  /** The owning node's owner id (node id and incarnation, see NodeInfo.owner). */
  owner: string;
  /** Increases with every write; a store refuses a write not above what it holds. */
  version: number;
  state: StoredCallState;
  direction: 'outbound' | 'inbound';
  /** The address the call's SIP and media live on: it moves with the call. */
  serviceAddress: string;
  from: string;
  to: string;
  trunk?: string;
  createdAt: number;
  answeredAt?: number;
  endedAt?: number;
  endStatus?: number;
  endReason?: string;
  /** Leg a started the call (the browser for outbound calls, the trunk for inbound). */
  a: LegRecord;
  b: LegRecord;
  /** Both media legs and the bridge, from the media worker; null before any are bound. */
  media: EngineBridgeState | null;
  /** Epoch ms when `media` was exported: send counters are stale by the time since. */
  mediaAt: number;
  /** Running timers as absolute epoch-ms deadlines (ring timeout, answer timeout ...). */
  deadlines: Record<string, number>;
}

export type CallRecord = CallRecordV1;

/** A record that cannot be read: wrong version, or not a record at all. */
export class CallRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallRecordError';
  }
}

export function encodeCallRecord(record: CallRecord): string {
  return JSON.stringify(record);
}

const STATES: ReadonlySet<string> = new Set(['routing', 'proceeding', 'early', 'answered', 'ended']);

/** Parses and checks a stored record; throws CallRecordError naming what is wrong. */
export function decodeCallRecord(text: string): CallRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CallRecordError('call record is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CallRecordError('call record is not an object');
  const r = raw as Record<string, unknown>;
  if (r.v !== CALL_RECORD_VERSION) {
    throw new CallRecordError(`call record version ${JSON.stringify(r.v)} is not supported (this node reads version ${CALL_RECORD_VERSION})`);
  }
  const need = (key: string, type: 'string' | 'number' | 'object'): void => {
    const value = r[key];
    if (typeof value !== type || value === null) throw new CallRecordError(`call record ${String(r.id ?? '?')}: ${key} must be a ${type}`);
  };
  need('id', 'string');
  need('owner', 'string');
  need('version', 'number');
  need('serviceAddress', 'string');
  need('from', 'string');
  need('to', 'string');
  need('createdAt', 'number');
  need('mediaAt', 'number');
  need('a', 'object');
  need('b', 'object');
  need('deadlines', 'object');
  if (typeof r.state !== 'string' || !STATES.has(r.state)) throw new CallRecordError(`call record ${String(r.id)}: unknown state ${JSON.stringify(r.state)}`);
  if (r.direction !== 'outbound' && r.direction !== 'inbound') throw new CallRecordError(`call record ${String(r.id)}: unknown direction ${JSON.stringify(r.direction)}`);
  if (r.media !== null && (typeof r.media !== 'object' || (r.media as { v?: unknown }).v === undefined)) {
    throw new CallRecordError(`call record ${String(r.id)}: media must be a versioned bridge state or null`);
  }
  return raw as CallRecord;
}
