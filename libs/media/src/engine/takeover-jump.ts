// Send counters after a takeover. A stored bridge state is a checkpoint: the node that
// died kept sending after it, so its last sequence numbers and SRTP/SRTCP indexes are
// ahead of what the store holds. Reusing an index would reuse keystream (RFC 3711 §9.2)
// and the receiver would drop the packets as replays, so everything the survivor sends
// jumps forward by the time since the checkpoint times the packet rate, plus a margin.
// The jump stays under 2^15 so the receiver's rollover estimate (RFC 3711 §3.3.1)
// still lands on the right ROC. Timestamps need no jump: the re-anchor advances them
// by the wallclock time since the last packet (HeaderRewriter.anchor).

import type { DirectionState } from '../bridge/rewrite.js';
import type { LegState } from '../leg.js';
import type { SrtpContextState } from '../srtp/context.js';
import type { BridgeState } from './protocol.js';

export interface SendJumpOptions {
  /** Milliseconds since the state was exported. */
  elapsedMs: number;
  /** RTP packets per second per direction (default 50: 20 ms audio frames). */
  packetRate?: number;
  /** Packets added on top (default 128). */
  margin?: number;
  /** SRTCP packets per second (default 1: reports go every ~5 s). */
  rtcpRate?: number;
}

/** Largest forward step a receiver's index estimate still follows. */
export const MAX_SEND_JUMP = 0x7fff;

export interface SendJump {
  rtp: number;
  rtcp: number;
}

export function sendJump(opts: SendJumpOptions): SendJump {
  const seconds = Math.max(0, opts.elapsedMs) / 1000;
  const margin = opts.margin ?? 128;
  const rtp = Math.min(MAX_SEND_JUMP, Math.ceil(seconds * (opts.packetRate ?? 50)) + margin);
  const rtcp = Math.min(MAX_SEND_JUMP, Math.ceil(seconds * (opts.rtcpRate ?? 1)) + 16);
  return { rtp, rtcp };
}

function jumpDirection(d: DirectionState, n: number): DirectionState {
  // Nothing sent yet: the first packet passes through as it would have.
  if (d.packets === 0) return d;
  return { ...d, lastSeq: (d.lastSeq + n) & 0xffff, resync: true };
}

function jumpSrtcp(ctx: SrtpContextState, n: number): SrtpContextState {
  return { ...ctx, streams: ctx.streams.map((s) => ({ ...s, rtcpSendIndex: (s.rtcpSendIndex + n) & 0x7fffffff })) };
}

function jumpLeg(leg: LegState, j: SendJump): LegState {
  if (leg.kind === 'webrtc' && leg.srtp) return { ...leg, srtp: { ...leg.srtp, local: jumpSrtcp(leg.srtp.local, j.rtcp) } };
  if (leg.kind === 'sdes') return { ...leg, srtpLocal: jumpSrtcp(leg.srtpLocal, j.rtcp) };
  return leg;
}

/** A copy of `state` whose send counters continue past anything the dead node may have sent. */
export function advanceSendState(state: BridgeState, j: SendJump): BridgeState {
  const bridge = state.bridge ? { ...state.bridge, toA: jumpDirection(state.bridge.toA, j.rtp), toB: jumpDirection(state.bridge.toB, j.rtp) } : null;
  return { ...state, legs: state.legs.map((l) => jumpLeg(l, j)), bridge };
}
