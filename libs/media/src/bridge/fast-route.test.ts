// The native fast path against the TypeScript path it accelerates: the same SDES-SRTP <->
// RTP call is played through a bridge twice over loopback, once with the addon and once
// without, and both peers must receive the same bytes (SRTP included: same keys, SSRCs,
// sequence numbers and ROC give the same ciphertext), with the same counters.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeBinding, nativeUnavailableReason } from '../native/binding.js';
import { PortAllocator } from '../ports/allocator.js';
import { RtpLeg } from '../rtp/rtp-leg.js';
import { SdesLeg } from '../rtp/sdes-leg.js';
import { SrtpContext } from '../srtp/context.js';
import type { SrtpProfile } from '../srtp/profile.js';
import { generateSrtpKeys } from '../srtp/sdes.js';
import { Bridge } from './bridge.js';
import { RtpEndpoint, dtmfPayload, g711, isRtp, sleep } from './test-peer.js';

// test/README.md: 16900-16999 belong to this file.
const base = 16900;
const opened: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const o of opened) await o.close().catch(() => undefined);
});

function track<T extends { close(): Promise<void> }>(o: T): T {
  opened.push(o);
  return o;
}

test('the native addon is built and loads (npm test builds it with --strict)', () => {
  assert.ok(loadNativeBinding(), `native fast path unavailable: ${nativeUnavailableReason() ?? '?'}`);
});

interface Run {
  atA: Buffer[];
  atB: Buffer[];
  nativeSeen: { toA: boolean; toB: boolean };
  statsA: Record<string, number>;
  statsB: Record<string, number>;
}

/**
 * One call: peer A speaks SDES-SRTP to leg a, peer B plain RTP to leg b. A's stream wraps
 * its sequence number, has a loss, a reordered pair, a replay, a forged packet, an unmapped
 * payload type and an RFC 4733 event, then changes SSRC; B's stream is plain.
 */
async function play(profile: SrtpProfile, native: boolean, portBase: number): Promise<Run> {
  const allocator = new PortAllocator({ min: portBase, max: portBase + 9 });
  const keys = playKeys.get(profile) as { ours: ReturnType<typeof generateSrtpKeys>; peer: ReturnType<typeof generateSrtpKeys> };
  const peerA = track(await RtpEndpoint.open());
  const peerB = track(await RtpEndpoint.open());
  const peerOut = new SrtpContext(profile, keys.peer);
  const peerIn = new SrtpContext(profile, keys.ours);
  const legA = track(await SdesLeg.create({ allocator, address: '127.0.0.1', profile, localKeys: keys.ours, remoteKeys: keys.peer, remote: { address: '127.0.0.1', port: peerA.port }, rtcpMux: true, native }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerB.port }, rtcpMux: true, native }));
  const bridge = track(new Bridge({ a: legA, b: legB, payloadTypes: [[0, 0], [101, 96]], ssrcToA: 0x0a0a0a0a, ssrcToB: 0x0b0b0b0b, rtcpIntervalMs: 0, native }));
  const nativeSeen = { toA: false, toB: false };
  const srtp = (plain: Buffer): Buffer => {
    const b = Buffer.alloc(plain.length + 16);
    plain.copy(b);
    return b.subarray(0, peerOut.protectRtp(b, plain.length));
  };
  const fromA: Buffer[] = [];
  for (let i = 0; i < 40; i++) fromA.push(srtp(g711(65520 + i, i * 160, 0x5eed5eed, 0, false, Buffer.alloc(160, i))));
  const order = [...Array(40).keys()].filter((i) => i !== 25); // 25 is lost
  [order[30], order[31]] = [order[31]!, order[30]!]; // a reordered pair
  let sentB = 0;
  const sendB = async (): Promise<void> => { await peerB.send(g711(300 + sentB, sentB * 160, 0xb1b1b1b1, 0, false, Buffer.alloc(160, 100 + sentB)), legB.localPort); sentB++; };
  for (const [n, i] of order.entries()) {
    await peerA.send(fromA[i]!, legA.localPort);
    if (n === 20) await peerA.send(fromA[i]!, legA.localPort); // replay: dropped
    if (n === 21) {
      const forged = Buffer.from(fromA[i]!);
      forged[forged.length - 1] ^= 1;
      await peerA.send(forged, legA.localPort); // bad tag: dropped
    }
    if (n === 22) await peerA.send(srtp(g711(65520 + 40, 40 * 160, 0x5eed5eed, 13)), legA.localPort); // CN, unmapped: dropped
    await sendB();
    await sleep(2);
    const nd = bridge.nativeDirections;
    nativeSeen.toA ||= nd.toA;
    nativeSeen.toB ||= nd.toB;
  }
  // An RFC 4733 event, then a new source on A (the phone restarted its stream).
  for (let k = 0; k < 3; k++) await peerA.send(srtp(g711(65520 + 41 + k, 41 * 160, 0x5eed5eed, 101, k === 0, dtmfPayload(5, k === 2, 160 * (k + 1)))), legA.localPort);
  for (let i = 0; i < 10; i++) {
    await peerA.send(srtp(g711(7000 + i, 90000 + i * 160, 0x7e7e7e7e, 0, false, Buffer.alloc(160, 200 + i))), legA.localPort);
    await sendB();
    await sleep(2);
  }
  const atB = (await peerB.waitFor(39 + 3 + 10, isRtp)).filter(isRtp);
  const rawA = (await peerA.waitFor(sentB, isRtp)).filter(isRtp);
  const atA = rawA.map((b) => {
    const c = Buffer.from(b);
    const n = peerIn.unprotectRtp(c, c.length);
    assert.ok(n > 0, 'peer A authenticates and decrypts what the bridge sent');
    return b;
  });
  await sleep(20);
  const pick = (s: Record<string, number>): Record<string, number> => ({ packetsIn: s.packetsIn!, packetsOut: s.packetsOut!, packetsDropped: s.packetsDropped!, packetsLost: s.packetsLost!, bytesOut: s.bytesOut! });
  const run: Run = { atA, atB, nativeSeen, statsA: pick({ ...legA.stats }), statsB: pick({ ...legB.stats }) };
  await bridge.close();
  assert.equal(allocator.inUse, 0, 'ports released');
  return run;
}

const playKeys = new Map<SrtpProfile, { ours: ReturnType<typeof generateSrtpKeys>; peer: ReturnType<typeof generateSrtpKeys> }>();

for (const [n, profile] of (['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'] as const).entries()) {
  test(`SDES ${profile} <-> RTP: the native route forwards exactly what the TypeScript path does`, { timeout: 20000 }, async () => {
    playKeys.set(profile, { ours: generateSrtpKeys(profile), peer: generateSrtpKeys(profile) });
    const js = await play(profile, false, base + n * 20);
    const nat = await play(profile, true, base + n * 20 + 10);
    assert.deepEqual(js.nativeSeen, { toA: false, toB: false });
    assert.deepEqual(nat.nativeSeen, { toA: true, toB: true }, 'both directions went native once settled');
    assert.equal(nat.atB.length, js.atB.length);
    // Timestamps after the source change follow the wallclock gap (anchor), so compare
    // them only before it; everything else byte for byte.
    const strip = (b: Buffer, i: number): string => (i < 39 + 3 ? b : Buffer.concat([b.subarray(0, 4), b.subarray(8)])).toString('hex');
    assert.deepEqual(nat.atB.map(strip), js.atB.map(strip), 'B receives the same packets');
    assert.deepEqual(nat.atA.map((b) => b.toString('hex')), js.atA.map((b) => b.toString('hex')), 'A receives the same SRTP bytes');
    assert.deepEqual(nat.statsA, js.statsA);
    assert.deepEqual(nat.statsB, js.statsB);
    assert.equal(js.statsA.packetsDropped, 3, 'replay, forged tag and unmapped PT dropped');
  });
}

test('garbage from the peer\'s own address at a native route: dropped or handed to JS, and the call carries on', { timeout: 20000 }, async () => {
  const profile = 'AES_CM_128_HMAC_SHA1_80' as const;
  const ours = generateSrtpKeys(profile);
  const peer = generateSrtpKeys(profile);
  const allocator = new PortAllocator({ min: base + 40, max: base + 49 });
  const peerA = track(await RtpEndpoint.open());
  const peerB = track(await RtpEndpoint.open());
  const peerOut = new SrtpContext(profile, peer);
  const legA = track(await SdesLeg.create({ allocator, address: '127.0.0.1', profile, localKeys: ours, remoteKeys: peer, remote: { address: '127.0.0.1', port: peerA.port }, rtcpMux: true }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerB.port }, rtcpMux: true }));
  const bridge = track(new Bridge({ a: legA, b: legB, rtcpIntervalMs: 0 }));
  const ssrc = 0x5eed5eed;
  let seq = 100;
  const valid = (): Buffer => {
    const plain = g711(seq, seq * 160, ssrc, 0, false, Buffer.alloc(160, seq & 0xff));
    seq++;
    const b = Buffer.alloc(plain.length + 16);
    plain.copy(b);
    return b.subarray(0, peerOut.protectRtp(b, plain.length));
  };
  for (let i = 0; i < 10; i++) { await peerA.send(valid(), legA.localPort); await sleep(2); }
  await peerB.waitFor(10, isRtp);
  assert.equal(bridge.nativeDirections.toB, true);
  // Deterministic noise: random bytes, truncated and bit-flipped copies of a real packet,
  // RTP-looking headers with our SSRC and nonsense CSRC counts or extension lengths.
  let x = 0x12345678;
  const rnd = (n: number): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % n; };
  const sample = valid();
  for (let i = 0; i < 3000; i++) {
    let b: Buffer;
    switch (i % 4) {
      case 0: b = Buffer.from(Array.from({ length: rnd(1600) }, () => rnd(256))); break;
      case 1: b = Buffer.from(sample.subarray(0, rnd(sample.length + 1))); break;
      case 2: { b = Buffer.from(sample); b[rnd(b.length)] ^= 1 << rnd(8); break; }
      default: {
        b = Buffer.from(sample);
        b[0] = 0x80 | rnd(0x40);
        if (rnd(2) === 0 && b.length > 16) b.writeUInt16BE(rnd(65536), 14);
      }
    }
    await peerA.send(b, legA.localPort);
    if (i % 200 === 0) await sleep(1);
  }
  const before = peerB.received.filter((r) => isRtp(r.buf)).length;
  for (let i = 0; i < 10; i++) { await peerA.send(valid(), legA.localPort); await sleep(2); }
  const after = await peerB.waitFor(before + 10, isRtp);
  assert.ok(after.length >= before + 10, 'valid packets after the noise still reach the trunk side');
  assert.ok(legA.stats.packetsDropped > 1000, `noise was dropped (${legA.stats.packetsDropped})`);
  await bridge.close();
  assert.equal(allocator.inUse, 0);
});

/** One call where a stranger on another host sprays RTP at the trunk leg's port (issue 8, "RTP bleed"). */
async function bleed(native: boolean, portBase: number): Promise<{ atA: string[]; remoteB: unknown; nativeToA: boolean; strangerGot: number }> {
  const profile = 'AES_CM_128_HMAC_SHA1_80' as const;
  const keys = bleedKeys;
  const allocator = new PortAllocator({ min: portBase, max: portBase + 9 });
  const peerA = track(await RtpEndpoint.open());
  const peerB = track(await RtpEndpoint.open());
  const stranger = track(await RtpEndpoint.open('127.0.0.2'));
  const peerIn = new SrtpContext(profile, keys.ours);
  const legA = track(await SdesLeg.create({ allocator, address: '127.0.0.1', profile, localKeys: keys.ours, remoteKeys: keys.peer, remote: { address: '127.0.0.1', port: peerA.port }, rtcpMux: true, native }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerB.port }, rtcpMux: true, relatchAfterMs: 150, native }));
  const bridge = track(new Bridge({ a: legA, b: legB, payloadTypes: [[0, 0]], ssrcToA: 0x0a0a0a0a, ssrcToB: 0x0b0b0b0b, rtcpIntervalMs: 0, native }));
  const ssrcB = 0xb1b1b1b1;
  let seq = 300;
  const fromB = async (): Promise<void> => { await peerB.send(g711(seq, seq * 160, ssrcB, 0, false, Buffer.alloc(160, seq & 0xff)), legB.localPort); seq++; await sleep(2); };
  for (let i = 0; i < 20; i++) await fromB();
  await peerA.waitFor(20, isRtp);
  const nativeToA = bridge.nativeDirections.toA;
  // The stranger guesses the port and copies B's SSRC and sequence, then tries its own stream.
  for (let i = 0; i < 20; i++) { await stranger.send(g711(seq + i, (seq + i) * 160, i % 2 === 0 ? ssrcB : 0xbadbad, 0, false, Buffer.alloc(160, 0xee)), legB.localPort); await sleep(2); }
  // B falls silent past the relatch time: still nobody else is learned.
  await sleep(300);
  for (let i = 0; i < 20; i++) { await stranger.send(g711(9000 + i, i * 160, 0xbadbad, 0, false, Buffer.alloc(160, 0xee)), legB.localPort); await sleep(2); }
  const remoteB = legB.remoteAddress;
  for (let i = 0; i < 10; i++) await fromB();
  const raw = (await peerA.waitFor(30, isRtp)).filter(isRtp);
  await sleep(50);
  const atA = raw.map((b) => {
    const c = Buffer.from(b);
    assert.ok(peerIn.unprotectRtp(c, c.length) > 0);
    return c.subarray(12, 172).toString('hex');
  });
  const result = { atA, remoteB, nativeToA, strangerGot: stranger.received.length };
  await bridge.close();
  assert.equal(allocator.inUse, 0);
  return result;
}

const bleedKeys = { ours: generateSrtpKeys('AES_CM_128_HMAC_SHA1_80'), peer: generateSrtpKeys('AES_CM_128_HMAC_SHA1_80') };

test('RTP from a stranger at a live call\'s port: not forwarded and the leg does not move, on the native and the TypeScript path alike', { timeout: 20000 }, async () => {
  const js = await bleed(false, base + 60);
  const nat = await bleed(true, base + 70);
  assert.equal(nat.nativeToA, true, 'the direction toward A ran native');
  assert.equal(js.nativeToA, false);
  for (const run of [js, nat]) {
    assert.equal(run.atA.length, 30, 'A got B\'s 30 packets and nothing else');
    assert.ok(run.atA.every((p) => !p.startsWith('eeee')), 'none of the stranger\'s payload reached A');
    assert.equal((run.remoteB as { address: string }).address, '127.0.0.1', 'the trunk leg still sends to B');
    assert.equal(run.strangerGot, 0, 'nothing was sent to the stranger');
  }
  assert.deepEqual(nat.atA, js.atA, 'A received the same audio on both paths');
});
