// Send counters after a takeover: every sequence number and SRTCP index the survivor
// writes is past anything the dead node can have sent since its checkpoint, and the
// step stays small enough for the receiver's rollover estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advanceSendState, MAX_SEND_JUMP, sendJump } from './takeover-jump.js';
import type { BridgeState } from './protocol.js';
import type { DirectionState } from '../bridge/rewrite.js';

const direction = (over: Partial<DirectionState>): DirectionState => ({
  ssrc: 1, seqOffset: 0, tsOffset: 0, inSsrc: 7, lastSeq: 65500, lastTs: 1000, lastAt: 0, packets: 500, octets: 80_000, ...over,
});

const srtp = (rtcpSendIndex: number) => ({ profile: 'AEAD_AES_128_GCM' as const, masterKey: '00', masterSalt: '00', streams: [{ ssrc: 1, roc: 3, seq: 65500, started: true, window: [1, 0] as [number, number], rtcpSendIndex, rtcpHighest: -1, rtcpWindow: [0, 0] as [number, number] }] });

function state(): BridgeState {
  return {
    v: 1, id: 'c1',
    legs: [
      {
        kind: 'webrtc', address: '127.0.10.1', port: 13000, ice: { ufrag: 'u', pwd: 'p' }, remote: null, setup: 'passive', dtlsRole: 'server',
        fingerprint: 'AA', profiles: ['AEAD_AES_128_GCM'], consentTimeoutMs: 30_000, clockRate: 48_000, selected: null,
        srtp: { profile: 'AEAD_AES_128_GCM', local: srtp(40), remote: srtp(0) },
      },
      {
        kind: 'rtp', address: '127.0.10.1', advertisedAddress: '127.0.10.1', port: 13002, rtcpMux: false, remote: null, rtcpRemote: null,
        latched: true, latch: true, relatchAfterMs: 3000, connect: true, clockRate: 8000,
      },
    ],
    bridge: { payloadTypes: [[111, 0]], clockRate: 8000, rtcpIntervalMs: 5000, cname: 'x', toA: direction({}), toB: direction({ lastSeq: 10, packets: 0 }) },
  } as BridgeState;
}

test('the jump covers the time since the checkpoint at the packet rate, plus a margin, below 2^15', () => {
  assert.deepEqual(sendJump({ elapsedMs: 4000 }), { rtp: 4 * 50 + 128, rtcp: 4 + 16 });
  assert.deepEqual(sendJump({ elapsedMs: 2000, packetRate: 100, margin: 10 }), { rtp: 210, rtcp: 18 });
  assert.equal(sendJump({ elapsedMs: 3_600_000 }).rtp, MAX_SEND_JUMP, 'an hour-old checkpoint still stays under 2^15');
});

test('advanceSendState moves what was sent, re-anchors the next packet, leaves what never started alone', () => {
  const before = state();
  const after = advanceSendState(before, { rtp: 328, rtcp: 20 });
  assert.equal(after.bridge!.toA.lastSeq, (65500 + 328) & 0xffff, 'sequence numbers wrap forward');
  assert.equal(after.bridge!.toA.resync, true);
  assert.deepEqual(after.bridge!.toB, before.bridge!.toB, 'a direction that sent nothing is unchanged');
  const webrtc = after.legs[0]!;
  assert.ok(webrtc.kind === 'webrtc' && webrtc.srtp);
  assert.equal(webrtc.srtp.local.streams[0]!.rtcpSendIndex, 60, 'SRTCP send index jumps');
  assert.equal(webrtc.srtp.remote.streams[0]!.rtcpSendIndex, 0, 'the receive context is not ours to move');
  assert.equal(before.bridge!.toA.lastSeq, 65500, 'the input is not changed');
});
