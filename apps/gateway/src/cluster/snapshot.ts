// A call as the cluster stores it: the typed record (libs/cluster) built from the live
// call, its dialogs and its media's exported state. The browser's identity (AOR and RFC
// 5626 instance-id) comes from the registrar's binding of the flow its dialog is on, so
// a survivor can find the browser again once it reconnects over a new WebSocket.

import type { CallRecord, LegRecord, PendingInvite } from '@trapezoid/cluster';
import type { EngineBridgeState } from '@trapezoid/media';
import type { Dialog } from '@trapezoid/sip';
import type { Call } from '../calls/call.js';
import type { BindingStore } from '../registrar/bindings.js';

function legRecord(dialog: Dialog | null, browser: boolean, bindings: BindingStore): LegRecord {
  if (!dialog) return {};
  const state = dialog.toState();
  const leg: LegRecord = { dialog: state };
  const flowId = state.flow?.flowId;
  if (browser && flowId !== undefined) {
    const b = bindings.findByFlow(flowId);
    if (b) leg.browser = { aor: b.aor, ...(b.instanceId !== undefined ? { instanceId: b.instanceId } : {}), ...(b.regId !== undefined ? { regId: b.regId } : {}) };
  }
  return leg;
}

export interface SnapshotContext {
  serviceAddress: string;
  bindings: BindingStore;
  /** The INVITE this node sent on a call's B leg, while it rings (ringing.ts). */
  pendingInvite?: (call: Call) => PendingInvite | undefined;
}

/**
 * The record of `call` now. `media` is the bridge state exported just before (null when
 * the call has no media any more); owner and version are stamped by the writer.
 */
export function snapshot(call: Call, media: EngineBridgeState | null, ctx: SnapshotContext, previous?: CallRecord): CallRecord {
  const r = call.record;
  const side = call.browserSide;
  const a = legRecord(call.aDialog, side === 'a', ctx.bindings);
  const b = legRecord(call.bDialog, side === 'b', ctx.bindings);
  // A browser whose flow is gone keeps the identity recorded while it was there.
  if (side === 'a' && !a.browser && previous?.a.browser) a.browser = previous.a.browser;
  if (side === 'b' && !b.browser && previous?.b.browser) b.browser = previous.b.browser;
  if (r.state === 'proceeding' || r.state === 'early') {
    const pending = ctx.pendingInvite?.(call);
    if (pending) b.pendingInvite = pending;
  }
  return {
    v: 1, id: r.id, owner: '', version: 0, state: r.state, direction: r.direction, serviceAddress: ctx.serviceAddress,
    from: r.from, to: r.to, createdAt: r.createdAt, a, b,
    ...(r.trunk !== undefined ? { trunk: r.trunk } : {}),
    ...(r.answeredAt !== undefined ? { answeredAt: r.answeredAt } : {}),
    ...(r.endedAt !== undefined ? { endedAt: r.endedAt } : {}),
    ...(r.endStatus !== undefined ? { endStatus: r.endStatus } : {}),
    ...(r.endReason !== undefined ? { endReason: r.endReason } : {}),
    media, mediaAt: Date.now(), deadlines: {},
  };
}
