// Bridges over real loopback sockets: plain RTP <-> RTP with PT mapping, SSRC/seq
// rewriting, a source change, RFC 4733 events and latching; SDES-SRTP <-> RTP with werift
// as the SRTP peer; export/restore onto the same ports; and sipp's RTP echo as a peer.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { RtpPacket, SrtpSession } from 'werift';
import { PortAllocator } from '../ports/allocator.js';
import { RtpLeg, type RtpLegState } from '../rtp/rtp-leg.js';
import { SdesLeg, type SdesLegState } from '../rtp/sdes-leg.js';
import { generateSrtpKeys } from '../srtp/sdes.js';
import { Bridge, type BridgeState } from './bridge.js';
import { RtpEndpoint, continuous, dtmfPayload, g711, isRtp, ptOf, seqOf, sleep, ssrcOf } from './test-peer.js';

// Fixed, disjoint ranges per test file, below the ephemeral range (32768+): see
// test/README.md for who uses which.
const base = 16100;
const opened: Array<{ close(): Promise<void> }> = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const o of opened) await o.close().catch(() => undefined);
});

/** Closed in after() too, so a failing assertion cannot leave sockets open. */
function track<T extends { close(): Promise<void> }>(o: T): T {
  opened.push(o);
  return o;
}

async function endpoint(): Promise<RtpEndpoint> {
  const e = await RtpEndpoint.open();
  opened.push(e);
  return e;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** First port of `n` consecutive free UDP ports (even), probed by binding. */
async function freeRun(n: number): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const p = 50000 + 2 * Math.floor(Math.random() * 7000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await portIsFree(p + i);
    if (ok) return p;
  }
  throw new Error('no free ports for sipp');
}

test('RTP <-> RTP: PT mapping, constant SSRC, continuous seq across a source change, RFC 4733, latching, stats, cleanup', { timeout: 15000 }, async () => {
  const allocator = new PortAllocator({ min: base, max: base + 99 });
  const peerA = await endpoint();
  const peerB = await endpoint();
  // Leg a's SDP names a wrong port: latching must find peerA from its first packet.
  const legA = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerA.port + 1 } }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerB.port, rtcpPort: peerB.port } }));
  assert.equal(allocator.inUse, 2);
  const bridge = track(new Bridge({ a: legA, b: legB, payloadTypes: [[0, 0], [8, 8], [101, 96]], rtcpIntervalMs: 200 }));
  let seq = 1000;
  for (let i = 0; i < 30; i++) { await peerA.send(g711(seq++, i * 160, 0xa0a0a0a0), legA.localPort); await sleep(2); }
  // RFC 4733 event: marker on the first packet, E bit on the last, same timestamp.
  await peerA.send(g711(seq++, 4800, 0xa0a0a0a0, 101, true, dtmfPayload(5, false, 160)), legA.localPort);
  await peerA.send(g711(seq++, 4800, 0xa0a0a0a0, 101, false, dtmfPayload(5, false, 320)), legA.localPort);
  await peerA.send(g711(seq++, 4800, 0xa0a0a0a0, 101, false, dtmfPayload(5, true, 480)), legA.localPort);
  // Comfort noise (PT 13) is not in the map: dropped.
  await peerA.send(g711(seq++, 5000, 0xa0a0a0a0, 13), legA.localPort);
  // New source on the same leg (e.g. the phone restarted its stream).
  for (let i = 0; i < 20; i++) { await peerA.send(g711(30000 + i, 777777 + i * 160, 0xa1a1a1a1), legA.localPort); await sleep(2); }
  for (let i = 0; i < 30; i++) { await peerB.send(g711(500 + i, i * 160, 0xb0b0b0b0, 8), legB.localPort); await sleep(2); }

  const atB = (await peerB.waitFor(53, isRtp)).filter(isRtp);
  assert.equal(atB.length, 53);
  assert.ok(atB.every((b) => ssrcOf(b) === bridge.ssrcToB), 'one SSRC toward b');
  assert.ok(continuous(atB.map(seqOf)), 'sequence continuous across the source change');
  const events = atB.filter((b) => ptOf(b) === 96);
  assert.equal(events.length, 3);
  assert.equal(events[0][1] & 0x80, 0x80, 'marker kept');
  assert.equal(events[2][13] & 0x80, 0x80, 'E bit kept');
  assert.ok(events.every((e) => e.readUInt32BE(4) === events[0].readUInt32BE(4)), 'event timestamps unchanged relative to each other');
  assert.ok(atB.filter((b) => ptOf(b) !== 96).every((b) => ptOf(b) === 0));
  // Timestamps after the source change continue forward from before it.
  const tsBefore = atB[32].readUInt32BE(4);
  const tsAfter = atB[33].readUInt32BE(4);
  assert.ok(((tsAfter - tsBefore) >>> 0) > 0 && ((tsAfter - tsBefore) >>> 0) < 8000 * 2, 'timestamp continues');

  const atA = (await peerA.waitFor(30, isRtp)).filter(isRtp);
  assert.ok(atA.every((b) => ssrcOf(b) === bridge.ssrcToA && ptOf(b) === 8));
  assert.ok(continuous(atA.map(seqOf)));
  assert.equal(legA.stats.packetsIn, 54);
  assert.equal(legA.stats.packetsDropped, 1, 'the unmapped PT 13 packet');
  assert.equal(legB.stats.packetsOut, 53);
  assert.equal(legB.stats.packetsIn, 30);
  assert.equal(legA.stats.packetsOut, 30);
  assert.equal(legB.stats.packetsLost, 0);
  assert.ok(legA.stats.lastPacketAt > 0);
  // Our own RTCP reaches both peers: an SR toward b (we sent RTP there) with our SSRC.
  const rtcpAtB = await peerB.waitFor(1, (b) => b[1] === 200, 3000);
  assert.equal(rtcpAtB[0].readUInt32BE(4), bridge.ssrcToB);

  const ports = [legA.localPort, legA.localPort + 1, legB.localPort, legB.localPort + 1];
  await bridge.close();
  assert.equal(allocator.inUse, 0);
  for (const p of ports) assert.ok(await portIsFree(p), `port ${p} released`);
});

test('SDES-SRTP (werift peer) <-> RTP, and export/restore onto the same ports keeps seq and SRTP going', { timeout: 20000 }, async () => {
  const allocator = new PortAllocator({ min: base + 100, max: base + 199 });
  const profile = 'AES_CM_128_HMAC_SHA1_80' as const;
  const peerKeys = generateSrtpKeys(profile);
  const ourKeys = generateSrtpKeys(profile);
  const werift = new SrtpSession({ profile: 1, keys: { localMasterKey: peerKeys.masterKey, localMasterSalt: peerKeys.masterSalt, remoteMasterKey: ourKeys.masterKey, remoteMasterSalt: ourKeys.masterSalt } });
  const peerA = await endpoint();
  const peerB = await endpoint();
  const legA = track(await SdesLeg.create({ allocator, address: '127.0.0.1', profile, localKeys: ourKeys, remoteKeys: peerKeys, remote: { address: '127.0.0.1', port: peerA.port }, rtcpMux: true }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerB.port } }));
  const bridge = track(new Bridge({ a: legA, b: legB, rtcpIntervalMs: 0 }));
  const secret = (i: number): Buffer => Buffer.alloc(160, i & 0xff);
  const sendA = async (i: number, port: number): Promise<void> => {
    const plain = g711(65500 + i, i * 160, 0x5eed5eed, 0, false, secret(i));
    const p = RtpPacket.deSerialize(plain);
    await peerA.send(werift.encrypt(p.payload, p.header), port);
  };
  for (let i = 0; i < 20; i++) { await sendA(i, legA.localPort); await peerB.send(g711(100 + i, i * 160, 0xb1b1b1b1, 0, false, secret(200 + i)), legB.localPort); await sleep(3); }
  let atB = (await peerB.waitFor(20, isRtp)).filter(isRtp);
  assert.deepEqual(atB.map((b) => b[12]), Array.from({ length: 20 }, (_, i) => i), 'b gets the decrypted payloads');
  const decryptAtA = (bufs: Buffer[]): Buffer[] => bufs.map((b) => werift.decrypt(b));
  let atA = decryptAtA((await peerA.waitFor(20, isRtp)).filter(isRtp));
  assert.deepEqual(atA.map((b) => b[12]), Array.from({ length: 20 }, (_, i) => (200 + i) & 0xff), 'a decrypts what b sent');
  assert.equal(legA.stats.packetsDropped, 0);

  // Takeover: export, close, rebuild on the same ports from the JSON state.
  const state = JSON.parse(JSON.stringify(bridge.exportState())) as BridgeState;
  const ports = [legA.localPort, legB.localPort];
  await bridge.close();
  assert.equal(allocator.inUse, 0);
  assert.equal(state.a.kind, 'sdes');
  const a2 = track(await SdesLeg.restore(state.a as SdesLegState, allocator));
  const b2 = track(await RtpLeg.restore(state.b as RtpLegState, allocator));
  assert.deepEqual([a2.localPort, b2.localPort], ports);
  const bridge2 = track(Bridge.restore(state, a2, b2));
  assert.equal(bridge2.ssrcToB, state.toB.ssrc);
  for (let i = 20; i < 40; i++) { await sendA(i, a2.localPort); await peerB.send(g711(100 + i, i * 160, 0xb1b1b1b1, 0, false, secret(200 + i)), b2.localPort); await sleep(3); }
  atB = (await peerB.waitFor(40, isRtp)).filter(isRtp);
  assert.ok(continuous(atB.map(seqOf)), 'b sees one continuous sequence across the takeover');
  assert.ok(atB.every((b) => ssrcOf(b) === state.toB.ssrc));
  assert.deepEqual(atB.slice(20).map((b) => b[12]), Array.from({ length: 20 }, (_, i) => 20 + i), 'SRTP from a still decrypts after restore (ROC wrapped at 65535 too)');
  atA = decryptAtA((await peerA.waitFor(40, isRtp)).filter(isRtp).slice(20));
  assert.deepEqual(atA.map((b) => b[12]), Array.from({ length: 20 }, (_, i) => (220 + i) & 0xff), 'a decrypts after restore');
  await bridge2.close();
  assert.equal(allocator.inUse, 0);
});

test('sipp -rtp_echo as the trunk: our stream comes back through the bridge rewritten', { timeout: 20000 }, async () => {
  const allocator = new PortAllocator({ min: base + 200, max: base + 299 });
  // sipp binds mp (RTP echo) and mp + 2 (video echo); SIP and control ports too.
  const mp = await freeRun(4);
  const sip = await freeRun(1);
  const cp = await freeRun(1);
  const sipp = spawn('sipp', ['-sn', 'uas', '-rtp_echo', '-mp', String(mp), '-i', '127.0.0.1', '-p', String(sip), '-cp', String(cp), '-nostdin', '-m', '1'], { stdio: 'ignore' });
  children.push(sipp);
  const peerA = await endpoint();
  const legA = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerA.port } }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: mp }, latch: false }));
  const bridge = track(new Bridge({ a: legA, b: legB, payloadTypes: [[0, 0]], rtcpIntervalMs: 0 }));
  // Wait until sipp's echo socket is up: probe until a packet comes back.
  let back: Buffer[] = [];
  for (let i = 0; i < 100 && back.length === 0; i++) {
    await peerA.send(g711(i, i * 160, 0xabcdef01), legA.localPort);
    await sleep(50);
    back = peerA.received.map((r) => r.buf).filter(isRtp);
  }
  assert.ok(back.length > 0, 'sipp echoed');
  const already = peerA.received.length;
  for (let i = 0; i < 50; i++) { await peerA.send(g711(1000 + i, 160000 + i * 160, 0xabcdef01), legA.localPort); await sleep(4); }
  await sleep(200);
  const echoed = peerA.received.slice(already).map((r) => r.buf).filter(isRtp);
  assert.ok(echoed.length >= 48, `echo count ${echoed.length}`);
  assert.ok(echoed.every((b) => ssrcOf(b) === bridge.ssrcToA && ptOf(b) === 0));
  assert.ok(continuous(echoed.map(seqOf)));
  assert.ok(legB.stats.packetsIn >= 48 && legB.stats.packetsOut >= 50);
  await bridge.close();
  sipp.kill('SIGKILL');
  assert.equal(allocator.inUse, 0);
});

test('replaceLeg: a re-anchored leg a keeps b\'s sequence and timestamps continuous; the old leg is detached', { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: base + 300, max: base + 399 });
  const peerA = await endpoint();
  const peerA2 = await endpoint();
  const peerB = await endpoint();
  const legA = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerA.port } }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerB.port } }));
  const bridge = track(new Bridge({ a: legA, b: legB, rtcpIntervalMs: 0 }));
  for (let i = 0; i < 10; i++) { await peerA.send(g711(40000 + i, 90000 + i * 160, 0x1), legA.localPort); await sleep(3); }
  await peerB.waitFor(10, isRtp);
  const legA2 = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerA2.port } }));
  const old = bridge.replaceLeg('a', legA2);
  assert.equal(old, legA);
  assert.equal(bridge.a, legA2);
  await peerA.send(g711(40010, 0, 0x1), legA.localPort); // the detached leg forwards nothing
  for (let i = 0; i < 10; i++) { await peerA2.send(g711(7 + i, 5 + i * 160, 0x2), legA2.localPort); await sleep(3); }
  await peerB.send(g711(1, 0, 0xb), legB.localPort);
  const atB = (await peerB.waitFor(20, isRtp)).filter(isRtp);
  await sleep(50);
  assert.equal(peerB.received.filter((r) => isRtp(r.buf)).length, 20);
  assert.ok(continuous(atB.map(seqOf)));
  assert.ok(atB.every((b) => ssrcOf(b) === bridge.ssrcToB));
  const ts = atB.map((b) => b.readUInt32BE(4));
  assert.ok(((ts[10] - ts[9]) >>> 0) >= 160 && ((ts[10] - ts[9]) >>> 0) < 8000, 'timestamp moves on by the elapsed time');
  assert.equal((await peerA2.waitFor(1, isRtp))[0].readUInt32BE(8), bridge.ssrcToA, 'b -> new leg a');
  await old.close();
  await bridge.close();
  assert.equal(allocator.inUse, 0);
});

test('the legs measure jitter on the bridged codec\'s clock, set at creation and by setMapping', { timeout: 10000 }, async () => {
  // Reuses replaceLeg's range: tests of a file run one after the other.
  const allocator = new PortAllocator({ min: base + 300, max: base + 399 });
  const legA = track(await RtpLeg.create({ allocator, address: '127.0.0.1', clockRate: 48000 }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1' }));
  const bridge = track(new Bridge({ a: legA, b: legB, payloadTypes: [[0, 0]], clockRate: 8000, rtcpIntervalMs: 0 }));
  assert.deepEqual([legA.reception.clockRate, legB.reception.clockRate], [8000, 8000]);
  bridge.setMapping([[9, 9]], 16000);
  assert.deepEqual([legA.reception.clockRate, legB.reception.clockRate], [16000, 16000]);
  await bridge.close();
  assert.equal(allocator.inUse, 0);
});

test('setFlow: a direction held back (its receiver on hold) sends nothing, and on resume goes on by one (native route off while held)', { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: 18100, max: 18199 });
  const peerA = await endpoint();
  const peerB = await endpoint();
  const legA = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerA.port } }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerB.port } }));
  const bridge = track(new Bridge({ a: legA, b: legB, rtcpIntervalMs: 0 }));
  let seq = 100;
  const burst = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) { await peerA.send(g711(seq, seq * 160, 0x1), legA.localPort); seq++; await sleep(3); }
  };
  await burst(10);
  await peerB.waitFor(10, isRtp);
  bridge.setFlow(true, false); // b is on hold
  assert.deepEqual(bridge.nativeDirections, { toA: false, toB: false }, 'no native route forwards a held direction');
  await burst(40);
  await sleep(50);
  assert.equal(peerB.received.filter((r) => isRtp(r.buf)).length, 10, 'nothing reached b while it was on hold');
  assert.equal(legA.stats.packetsIn, 50, 'what a sent was still received and counted');
  bridge.setFlow(true, true);
  await burst(10);
  const atB = (await peerB.waitFor(20, isRtp)).filter(isRtp);
  assert.equal(atB.length, 20);
  assert.ok(continuous(atB.map(seqOf)), 'the held packets leave no gap in our sequence numbers');
  assert.deepEqual(bridge.exportState().flow, { toA: true, toB: true });
  await bridge.close();
  assert.equal(allocator.inUse, 0);
});

test('sendEvent: an RFC 4733 digit of our own in the stream toward b: marker, 50 ms updates, three end packets, one timestamp, sequence numbers shared with the audio', { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: 18200, max: 18299 });
  const peerA = await endpoint();
  const peerB = await endpoint();
  const legA = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerA.port } }));
  const legB = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peerB.port } }));
  const bridge = track(new Bridge({ a: legA, b: legB, payloadTypes: [[0, 0], [126, 101]], rtcpIntervalMs: 0 }));
  let seq = 7000;
  const audio = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) { await peerA.send(g711(seq, seq * 160, 0xa), legA.localPort); seq++; await sleep(20); }
  };
  await audio(5);
  bridge.sendEvent('b', { event: 11, durationMs: 160 }, 101);
  await audio(12); // the event plays over these 240 ms, between audio packets
  await sleep(100);
  const out = peerB.received.map((r) => r.buf).filter(isRtp);
  const events = out.filter((b) => ptOf(b) === 101);
  const voice = out.filter((b) => ptOf(b) === 0);
  assert.equal(voice.length, 17);
  assert.ok(continuous(out.map(seqOf)), 'one run of sequence numbers across audio and events');
  assert.ok(out.every((b) => ssrcOf(b) === bridge.ssrcToB), 'the same SSRC');
  const decoded = events.map((b) => ({ marker: (b[1] & 0x80) !== 0, ts: b.readUInt32BE(4), event: b[12], end: (b[13] & 0x80) !== 0, volume: b[13] & 0x3f, duration: b.readUInt16BE(14) }));
  assert.equal(new Set(decoded.map((d) => d.ts)).size, 1, 'one timestamp: the event\'s start');
  assert.deepEqual(decoded.map((d) => d.marker), decoded.map((_, i) => i === 0), 'marker on the first packet only');
  assert.ok(decoded.every((d) => d.event === 11 && d.volume === 10));
  assert.deepEqual(decoded.map((d) => d.duration), [400, 800, 1200, 1280, 1280, 1280], '50 ms updates, then 160 ms at 8 kHz');
  assert.deepEqual(decoded.map((d) => d.end), [false, false, false, true, true, true], 'the end packet three times');
  const start = decoded[0]!.ts;
  const firstAudioTs = voice[0]!.readUInt32BE(4);
  assert.ok(((start - firstAudioTs) >>> 0) >= 4 * 160 && ((start - firstAudioTs) >>> 0) < 10 * 160, 'on the audio clock at the time it started');
  assert.deepEqual(voice.map((b) => b.readUInt32BE(4) - firstAudioTs), voice.map((_, i) => i * 160), 'the audio\'s timestamps are untouched');
  await bridge.close();
});
