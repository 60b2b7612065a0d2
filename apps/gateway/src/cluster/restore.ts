// Carrying one call on from its stored record (issue 10 item 4). The media comes back
// on the same address and ports with the same ICE credentials and SRTP contexts (no new
// DTLS handshake), its send counters jumped past anything the dead node may have sent.
// The dialogs come back with a CSeq gap (the store may hold an older CSeq than the last
// one sent), leaving from the call's service address; a leg that was on a TCP/TLS
// connection of the dead node is pinned to the peer's configured address, and the
// browser's WebSocket flow, gone with the node, is marked lost so the first request
// toward the browser waits for it to reconnect (browser-flows.ts).

import type { CallRecord } from '@trapezoid/cluster';
import { advanceSendState, decodeBridgeState, sendJump, type MediaEngine } from '@trapezoid/media';
import type { DialogState, UserAgent } from '@trapezoid/sip';
import type { Call, CallRegistry } from '../calls/call.js';
import type { TrunkConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import { CallMedia } from '../media/call-media.js';
import type { BrowserFlows } from './browser-flows.js';

/** CSeq numbers a restored dialog skips: more than any node sends between two records. */
export const CSEQ_GAP = 100;

export interface RestoreContext {
  ua: UserAgent;
  engine: MediaEngine;
  calls: CallRegistry;
  flows: BrowserFlows;
  trunk: (name: string) => TrunkConfig | undefined;
  log: Logger;
  /** What SDP names for each side's media (media.interfaces / media.publicAddress). */
  advertised: { browser?: string; trunk?: string };
}

/** Packets per second the call sent per direction, from its counters (at least one frame per 20 ms). */
function packetRate(record: CallRecord): number {
  const b = record.media?.bridge;
  const since = record.answeredAt ?? record.createdAt;
  const seconds = (record.mediaAt - since) / 1000;
  if (!b || seconds < 1) return 50;
  return Math.min(500, Math.max(50, Math.ceil(Math.max(b.toA.packets, b.toB.packets) / seconds)));
}

function dialogFor(record: CallRecord, side: 'a' | 'b', ctx: RestoreContext): DialogState | undefined {
  const state = record[side].dialog;
  if (!state || state.state === 'terminated') return undefined;
  const copy: DialogState = JSON.parse(JSON.stringify(state)) as DialogState;
  const flow = copy.flow;
  if (flow && (flow.protocol === 'ws' || flow.protocol === 'wss')) {
    // Gone with the dead node: the browser comes back over a new flow.
    copy.flow = ctx.flows.lost(record.id, flow, record[side].browser);
  } else if (flow && (flow.protocol === 'tcp' || flow.protocol === 'tls')) {
    const trunk = record.trunk !== undefined ? ctx.trunk(record.trunk) : undefined;
    // The trunk's configured address (RFC 3263 defaults when it names no port), not the
    // ephemeral port the dead node's connection had.
    copy.flow = trunk && trunk.transport === flow.protocol
      ? { protocol: flow.protocol, address: trunk.address, port: trunk.port ?? (flow.protocol === 'tls' ? 5061 : 5060) }
      : { protocol: flow.protocol, address: flow.address, port: flow.port };
  }
  copy.localAddress = record.serviceAddress;
  return copy;
}

/** Restores `record` as a live call of this node; throws (nothing left bound) if it cannot. */
export async function restoreCall(record: CallRecord, ctx: RestoreContext): Promise<Call> {
  const a = dialogFor(record, 'a', ctx);
  const b = dialogFor(record, 'b', ctx);
  if (!a || !b) throw new Error(`call ${record.id} has no confirmed dialog on ${a ? 'b' : 'a'}`);
  let media: CallMedia | null = null;
  if (record.media) {
    const elapsedMs = Date.now() - record.mediaAt;
    const state = advanceSendState(decodeBridgeState(record.media), sendJump({ elapsedMs, packetRate: packetRate(record) }));
    media = await CallMedia.restore(ctx.engine, state, ctx.advertised);
  }
  const call = ctx.calls.adopt({ id: record.id, direction: record.direction, aCallId: a.callId, from: record.from, to: record.to });
  // The record's state is where the call was (answered): it moves on from there here.
  Object.assign(call.record, {
    state: record.state, createdAt: record.createdAt, bCallId: b.callId,
    ...(record.trunk !== undefined ? { trunk: record.trunk } : {}),
    ...(record.answeredAt !== undefined ? { answeredAt: record.answeredAt } : {}),
  });
  if (media) call.attachMedia(media);
  const aDialog = ctx.ua.restoreDialog(a, { seqGap: CSEQ_GAP });
  const bDialog = ctx.ua.restoreDialog(b, { seqGap: CSEQ_GAP });
  call.linkDialogs(aDialog, bDialog);
  call.log.info('call restored', {
    event: 'call-restored', browserSide: call.browserSide, mediaAgeMs: Date.now() - record.mediaAt, ports: media ? [media.webrtcEndpoint.port, media.rtpEndpoint.port] : [],
  });
  return call;
}
