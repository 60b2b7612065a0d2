// The native route against the JS path it replaces: a dgram sender protects RTP with a
// JS SrtpContext, the addon forwards it, a dgram receiver unprotects it with another;
// every forwarded packet must be byte-identical to what SrtpContext + RtpReceiveStats +
// HeaderRewriter (Bridge.forward) make of the same input, and after every packet the
// shared state block must equal the reference's state. Ports 16800-16829.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { SrtpContext } from '../srtp/context.js';
import { srtpMasterSaltLength, type SrtpKeys } from '../srtp/profile.js';
import { RtpReceiveStats } from '../rtp/stats.js';
import { rtpHeaderLength } from '../rtp/header.js';
import { HeaderRewriter } from '../bridge/rewrite.js';
import { nativeClockOffsetMs, ROUTE_STATE_SIZE, RS, type NativeBinding } from './binding.js';
import { bindDgram, closeDgram, Inbox, nativeForTest, PROFILE_NAMES, RS_NAMES, referenceState, until, zeroCounters, type ReferencePath } from './test-support.js';

const HOST = '127.0.0.1';
const IN_SSRC = 0x1234abcd;
const IN_SSRC_2 = 0x0badf00d;
const OUT_SSRC = 0xcafe0001;
const CASES: Array<[0 | 1 | 2, 0 | 1 | 2]> = [[0, 0], [1, 0], [0, 1], [2, 0], [0, 2], [1, 2]];

function masterKeys(profile: 1 | 2): SrtpKeys {
  return { masterKey: randomBytes(16), masterSalt: randomBytes(srtpMasterSaltLength(PROFILE_NAMES[profile])) };
}

function rtp(seq: number, ts: number, ssrc: number, pt = 0, payload = 160): Buffer {
  const b = Buffer.alloc(12 + payload + 32);
  b[0] = 0x80; b[1] = pt; b.writeUInt16BE(seq & 0xffff, 2); b.writeUInt32BE(ts >>> 0, 4); b.writeUInt32BE(ssrc >>> 0, 8);
  for (let i = 0; i < payload; i++) b[12 + i] = (seq * 7 + i) & 0xff;
  return b;
}

function sendFrom(s: Socket, buf: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => s.send(buf, port, HOST, (err) => (err ? reject(err) : resolve())));
}

function assertStateEqual(actual: Float64Array, expected: Float64Array, where: string): void {
  for (let i = 0; i < ROUTE_STATE_SIZE; i++) {
    if (i === RS.RX_LAST_TRANSIT || i === RS.RX_JITTER) {
      // The reference is fed the arrival time recovered from the addon's transit, which
      // can differ in the last bits: compare to far below a timestamp unit.
      assert.ok(Math.abs(actual[i] - expected[i]) < 1e-6, `${where}: ${RS_NAMES[i]} ${actual[i]} != ${expected[i]}`);
    } else {
      assert.equal(actual[i], expected[i], `${where}: ${RS_NAMES[i]}`);
    }
  }
}

let native: NativeBinding | null = null;

before(() => {
  native = nativeForTest();
});

CASES.forEach(([inP, outP], caseIndex) => {
  describe(`route in=${inP} out=${outP}`, { timeout: 20000 }, () => {
    const base = 16800 + caseIndex * 5;
    const port = { in: base, out: base + 1, sender: base + 2, other: base + 3, receiver: base + 4 };
    const punted = new Inbox();
    const outPunted = new Inbox();
    const received = new Inbox();
    let inId = 0;
    let outId = 0;
    let sender: Socket;
    let other: Socket;
    let receiver: Socket;
    const inMaster = inP ? masterKeys(inP) : null;
    const outMaster = outP ? masterKeys(outP) : null;

    before(async () => {
      const b = native as NativeBinding;
      inId = b.open(HOST, port.in, punted.push);
      outId = b.open(HOST, port.out, outPunted.push);
      sender = await bindDgram('udp4', HOST, port.sender);
      other = await bindDgram('udp4', HOST, port.other);
      receiver = await bindDgram('udp4', HOST, port.receiver, received.push);
    });

    after(async () => {
      const b = native as NativeBinding;
      await new Promise<void>((r) => b.close(inId, r));
      await new Promise<void>((r) => b.close(outId, r));
      for (const s of [sender, other, receiver]) await closeDgram(s);
    });

    test('forwards like the JS path, packet for packet and word for word', async () => {
      const b = native as NativeBinding;
      // The far ends: the browser/trunk protecting what it sends, the other leg's peer unprotecting.
      const peerTx = inMaster ? new SrtpContext(PROFILE_NAMES[inP as 1 | 2], inMaster) : null;
      const peerRx = outMaster ? new SrtpContext(PROFILE_NAMES[outP as 1 | 2], outMaster) : null;
      const rewriter = new HeaderRewriter(OUT_SSRC, 8000);
      rewriter.ptMap.fill(-1);
      rewriter.ptMap[0] = 8; // a mapped codec
      rewriter.ptMap[101] = 96; // telephone-event, RFC 4733
      const ref: ReferencePath = {
        expectSsrc: IN_SSRC,
        clockOffsetMs: nativeClockOffsetMs(),
        srtpIn: inMaster ? new SrtpContext(PROFILE_NAMES[inP as 1 | 2], inMaster) : null,
        reception: new RtpReceiveStats(8000),
        rewriter,
        srtpOut: outMaster ? new SrtpContext(PROFILE_NAMES[outP as 1 | 2], outMaster) : null,
        counters: zeroCounters(),
      };
      const state = referenceState(ref);
      const ptMap = new Int16Array(rewriter.ptMap);
      b.setRoute(inId, {
        outId, destAddress: HOST, destPort: port.receiver, srcAddress: HOST, srcPort: port.sender,
        inProfile: inP, inKeys: ref.srtpIn?.rtpSessionKeys ?? null,
        outProfile: outP, outKeys: ref.srtpOut?.rtpSessionKeys ?? null,
        state, ptMap,
      });
      assertStateEqual(state, referenceState(ref), 'initial');

      // What the JS path would do with one packet, given the addon's clocks for it.
      const referenceForward = (wire: Buffer, nowWall: number, perfNow: number): Buffer | null => {
        const c = ref.counters;
        const buf = Buffer.alloc(wire.length + 64);
        wire.copy(buf);
        let len = wire.length;
        if (ref.srtpIn) len = ref.srtpIn.unprotectRtp(buf, len);
        const hdr = len < 0 ? -1 : rtpHeaderLength(buf, len);
        if (hdr < 0) {
          c.inDropped++;
          return null;
        }
        c.inPackets++;
        c.inBytes += wire.length;
        c.inLastAt = nowWall;
        ref.reception.update(buf, perfNow);
        if (!ref.rewriter.rewrite(buf, len, hdr, nowWall)) {
          c.inDropped++;
          return null;
        }
        if (ref.srtpOut) len = ref.srtpOut.protectRtp(buf, len);
        c.outPackets++;
        c.outBytes += len;
        return Buffer.from(buf.subarray(0, len));
      };

      const wireOf = (plain: Buffer, len = plain.length - 32): Buffer => {
        const buf = Buffer.from(plain);
        const n = peerTx ? peerTx.protectRtp(buf, len) : len;
        return Buffer.from(buf.subarray(0, n));
      };

      let step = 0;
      // Sends one packet that the route should take; waits for it to be forwarded or dropped.
      const routed = async (wire: Buffer, label: string, duplicate = false): Promise<void> => {
        step++;
        const before = { dropped: state[RS.IN_DROPPED], out: state[RS.OUT_PACKETS], received: state[RS.RX_RECEIVED] };
        await sendFrom(sender, wire, port.in);
        await until(() => state[RS.IN_DROPPED] !== before.dropped || state[RS.OUT_PACKETS] !== before.out, label);
        const observedAt = performance.now();
        // The addon's clocks for this packet: Date.now() it stamped, performance.now() it used.
        const ts = wire.readUInt32BE(4);
        const perfNow = ((state[RS.RX_LAST_TRANSIT] + ts) * 1000) / state[RS.RX_CLOCK_RATE];
        const expected = referenceForward(wire, state[RS.IN_LAST_AT], perfNow);
        if (expected === null) {
          assert.equal(state[RS.IN_DROPPED], before.dropped + 1, `${label}: counted as dropped`);
        } else {
          const got = await received.next();
          assert.equal(got.port, port.out, `${label}: sent from the out socket`);
          assert.deepEqual(got.msg, expected, `${label}: forwarded bytes`);
          // A duplicate forwarded by a plain route is, rightly, a replay to the far end.
          if (peerRx && !duplicate) assert.ok(peerRx.unprotectRtp(Buffer.concat([got.msg, Buffer.alloc(32)]), got.msg.length) > 0, `${label}: far end unprotects`);
          if (state[RS.RX_RECEIVED] !== before.received) {
            assert.ok(perfNow <= observedAt + 1 && perfNow > observedAt - 1000, `${label}: performance.now() clock (${perfNow} vs ${observedAt})`);
          }
          assert.ok(Math.abs(state[RS.IN_LAST_AT] - Date.now()) < 1000, `${label}: Date.now() clock`);
        }
        assertStateEqual(state, referenceState(ref), `${label} (step ${step})`);
      };

      // Sends one packet that must reach JS unchanged, with its source address.
      const puntedPacket = async (from: Socket, fromPort: number, wire: Buffer, label: string): Promise<void> => {
        const before = state[RS.PUNTED];
        await sendFrom(from, wire, port.in);
        const got = await punted.next();
        assert.deepEqual(got.msg, wire, `${label}: bytes handed to JS`);
        assert.equal(got.address, HOST);
        assert.equal(got.port, fromPort);
        assert.equal(state[RS.PUNTED], before + 1, `${label}: counted as punted`);
        ref.counters.punted++;
        assertStateEqual(state, referenceState(ref), label);
      };

      // A sequence wrap (ROC advances on both SRTP sides), reordering and loss.
      let ts = 0xfffff000;
      const order = [65530, 65531, 65532, 65533, 65535, 65534, 0, 1, 3, 4];
      const sent = new Map<number, Buffer>();
      for (const seq of order) {
        const pt = seq === 65533 ? 101 : 0;
        const wire = wireOf(rtp(seq, ts + ((seq - 65530) & 0xffff) * 160, IN_SSRC, pt));
        sent.set(seq, wire);
        await routed(wire, `seq ${seq}`);
      }
      if (inP) assert.equal(state[RS.IN_ROC], 1, 'receive ROC advanced');
      if (outP) assert.equal(state[RS.OUT_ROC], 1, 'send ROC advanced');
      assert.equal(state[RS.RX_CYCLES], 65536, 'RFC 3550 cycles advanced');
      ts += 11 * 160;

      await routed(wireOf(rtp(5, ts, IN_SSRC, 9)), 'unmapped payload type');
      await routed(sent.get(4) as Buffer, 'replayed packet', true);
      const forged = wireOf(rtp(6, ts + 160, IN_SSRC));
      forged[forged.length - 1] ^= 0x01;
      await routed(forged, 'forged tag');
      const badHeader = rtp(7, ts + 320, IN_SSRC);
      badHeader[0] = 0x8f; // 15 CSRCs claimed: longer than the packet once the tag is off
      await routed(Buffer.from(badHeader.subarray(0, 40)), 'header longer than the packet');

      const rr = Buffer.from('81c90007' + (IN_SSRC >>> 0).toString(16) + '0'.repeat(48), 'hex');
      await puntedPacket(sender, port.sender, rr, 'RTCP');
      const stun = Buffer.from('000100002112a442' + '00'.repeat(12), 'hex');
      await puntedPacket(sender, port.sender, stun, 'STUN');
      await puntedPacket(other, port.other, wireOf(rtp(8, ts + 480, IN_SSRC)), 'another source');
      await puntedPacket(sender, port.sender, wireOf(rtp(9, ts + 640, 0x77777777)), 'another SSRC');
      await routed(wireOf(rtp(10, ts + 800, IN_SSRC)), 'back on the expected packets');

      // The leg's source changes SSRC (JS moved the route on, as a bridge would after a
      // re-INVITE): the rewriter re-anchors with the wallclock gap, reception restarts.
      await new Promise((r) => setTimeout(r, 40));
      state[RS.EXPECT_SSRC] = IN_SSRC_2;
      for (let i = RS.IN_ROC; i <= RS.IN_WIN_HIGH; i++) state[i] = 0;
      ref.expectSsrc = IN_SSRC_2;
      ts = 123456;
      for (const seq of [1000, 1001, 5000, 5001, 5002]) await routed(wireOf(rtp(seq, ts + (seq - 1000) * 160, IN_SSRC_2)), `new source seq ${seq}`);
      // Enough packets in a row to fill both 32-bit words of the replay window.
      for (let seq = 5003; seq < 5073; seq++) await routed(wireOf(rtp(seq, ts + (seq - 1000) * 160, IN_SSRC_2)), `run seq ${seq}`);
      if (inP) assert.equal(state[RS.IN_WIN_HIGH], -1, 'replay window high word full (int32 as JS keeps it)');

      // The same source jumps 2^15 or more ahead (a long hold, a restarted sender): the
      // SRTP estimate takes it for an old packet, authentication with the next ROC does
      // not; the rewriter re-anchors so what goes out continues by one.
      if (peerTx) peerTx.protectRtp(rtp(25000, 0, IN_SSRC_2), 172); // the sender's own ROC follows in steps < 2^15
      const lastOut = ref.rewriter.lastSeq;
      const forwardedBefore = state[RS.OUT_PACKETS];
      await routed(wireOf(rtp(45000, ts + 90000 * 160, IN_SSRC_2)), 'jump of 39928');
      await routed(wireOf(rtp(45001, ts + 90001 * 160, IN_SSRC_2)), 'after the jump');
      assert.equal(state[RS.OUT_PACKETS], forwardedBefore + 2, 'both forwarded');
      assert.equal(ref.rewriter.lastSeq, (lastOut + 2) & 0xffff, 'our sequence numbers go on by one');
      assert.equal(state[RS.RW_LAST_SEQ], (lastOut + 2) & 0xffff);

      assert.equal(state[RS.SEND_ERRORS], 0);
      assert.equal(outPunted.size, 0, 'nothing arrived on the out socket');
      b.clearRoute(inId);
      // Without the route the same RTP goes to JS.
      const wire = wireOf(rtp(6000, ts + 5000 * 160, IN_SSRC_2));
      await sendFrom(sender, wire, port.in);
      assert.deepEqual((await punted.next()).msg, wire, 'after clearRoute RTP reaches JS');
    });
  });
});
