// RTP and SDES legs on real loopback sockets: latching, re-latching after silence or on
// an authenticated new source, rtcp-mux demultiplexing, RTCP on port + 1, stats, close.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PortAllocator } from '../ports/allocator.js';
import { SrtpContext } from '../srtp/context.js';
import { generateSrtpKeys } from '../srtp/sdes.js';
import { RtpEndpoint, g711, isRtp, sleep } from '../bridge/test-peer.js';
import { RtpLeg, type RtpLegState } from './rtp-leg.js';
import { SdesLeg } from './sdes-leg.js';

// Fixed, disjoint ranges per test file, below the ephemeral range: see test/README.md.
const base = 16500;
const opened: Array<{ close(): Promise<void> }> = [];
const track = <T extends { close(): Promise<void> }>(o: T): T => { opened.push(o); return o; };
after(async () => { for (const o of opened) await o.close().catch(() => undefined); });

test('plain leg latches to the first source, ignores others until silence, then re-latches', { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: base, max: base + 49 });
  const p1 = track(await RtpEndpoint.open());
  const p2 = track(await RtpEndpoint.open());
  const leg = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: 9 }, relatchAfterMs: 300 }));
  const got: number[] = [];
  leg.onRtp = (buf) => got.push(buf.readUInt32BE(8));
  await p1.send(g711(1, 0, 0x111), leg.localPort);
  await sleep(50);
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: p1.port });
  const out = g711(7, 0, 0x999);
  leg.sendRtp(out, out.length);
  await p1.waitFor(1, isRtp);
  // A second source while p1 is active: the connected socket never even delivers it.
  await p2.send(g711(1, 0, 0x222), leg.localPort);
  await p1.send(g711(2, 160, 0x111), leg.localPort);
  await sleep(50);
  assert.deepEqual(got, [0x111, 0x111]);
  // p1 falls silent; after relatchAfterMs p2 may take over.
  await sleep(600);
  await p2.send(g711(2, 160, 0x222), leg.localPort);
  await sleep(50);
  assert.equal(got.at(-1), 0x222);
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: p2.port });
  leg.sendRtp(out, out.length);
  await p2.waitFor(1, isRtp);
  assert.equal(leg.stats.packetsIn, 3);
  assert.equal(leg.stats.packetsOut, 2);
  await leg.close();
  await leg.close();
  assert.equal(allocator.inUse, 0);
});

test('non-mux leg: RTCP on port + 1 both ways; rtcp-mux leg: RTCP demultiplexed from RTP', { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: base + 50, max: base + 99 });
  const peer = track(await RtpEndpoint.open());
  const peerRtcp = track(await RtpEndpoint.open());
  const leg = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: peer.port, rtcpPort: peerRtcp.port } }));
  const rtcpIn: number[] = [];
  leg.onRtcp = (buf, len) => rtcpIn.push(len);
  const rr = Buffer.from('81c90007000004d2' + '00000000'.repeat(6), 'hex');
  await peerRtcp.send(rr, leg.localPort + 1);
  await sleep(50);
  assert.deepEqual(rtcpIn, [32]);
  leg.sendRtcp(rr, rr.length);
  await peerRtcp.waitFor(1);
  const mux = track(await RtpLeg.create({ allocator, address: '127.0.0.1', rtcpMux: true, remote: { address: '127.0.0.1', port: peer.port } }));
  const kinds: string[] = [];
  mux.onRtp = () => kinds.push('rtp');
  mux.onRtcp = () => kinds.push('rtcp');
  await peer.send(g711(1, 0, 5), mux.localPort);
  await peer.send(rr, mux.localPort);
  await sleep(50);
  assert.deepEqual(kinds, ['rtp', 'rtcp']);
  await leg.close();
  await mux.close();
  assert.equal(allocator.inUse, 0);
});

test('SDES leg drops forged and replayed SRTP, re-latches at once to a source that authenticates', { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: base + 100, max: base + 149 });
  const profile = 'AEAD_AES_128_GCM' as const;
  const theirs = generateSrtpKeys(profile);
  const ours = generateSrtpKeys(profile);
  const peerTx = new SrtpContext(profile, theirs);
  const peerRx = new SrtpContext(profile, ours);
  const p1 = track(await RtpEndpoint.open());
  const p2 = track(await RtpEndpoint.open());
  const leg = track(await SdesLeg.create({ allocator, address: '127.0.0.1', profile, localKeys: ours, remoteKeys: theirs, remote: { address: '127.0.0.1', port: p1.port } }));
  const got: number[] = [];
  leg.onRtp = (buf, len) => got.push(len);
  const srtp = (seq: number): Buffer => { const b = Buffer.alloc(200); g711(seq, seq * 160, 0x77).copy(b); return b.subarray(0, peerTx.protectRtp(b, 172)); };
  const first = srtp(1);
  await p1.send(first, leg.localPort);
  await p1.send(first, leg.localPort); // replay
  const forged = Buffer.from(srtp(2));
  forged[forged.length - 1] ^= 1;
  await p2.send(forged, leg.localPort); // does not authenticate: no re-latch
  await sleep(50);
  assert.deepEqual(got, [172]);
  assert.equal(leg.stats.packetsDropped, 2);
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: p1.port });
  await p2.send(srtp(3), leg.localPort); // authenticates: the peer moved
  await sleep(50);
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: p2.port });
  const plain = g711(9, 0, 0x88);
  leg.sendRtp(plain, plain.length);
  const [enc] = await p2.waitFor(1, isRtp);
  const buf = Buffer.from(enc);
  assert.equal(peerRx.unprotectRtp(buf, buf.length), 172);
  assert.deepEqual(buf.subarray(0, 172), plain);
  await leg.close();
  assert.equal(allocator.inUse, 0);
});

test('an RTCP packet on the RTP port of a non-mux leg is not taken for RTP and does not latch the leg', { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: base + 150, max: base + 199 });
  const stray = track(await RtpEndpoint.open());
  const peer = track(await RtpEndpoint.open());
  const leg = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: 9 } }));
  const got: number[] = [];
  leg.onRtp = (buf) => got.push(buf.readUInt32BE(8));
  // A sender report without report blocks (RFC 3550 §6.4.1), 28 bytes: long enough to
  // pass for an RTP header; what a neighbour's RTCP aimed at port + 1 looks like.
  const sr = Buffer.alloc(28);
  sr.set([0x80, 200, 0x00, 0x06, 0x12, 0x34, 0x56, 0x78]);
  await stray.send(sr, leg.localPort);
  await sleep(50);
  assert.equal(leg.stats.packetsIn, 0, 'RTCP is not counted as RTP');
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: 9 }, 'still sending where the SDP said');
  await peer.send(g711(1, 0, 0x333), leg.localPort);
  await sleep(50);
  assert.deepEqual(got, [0x333], 'the real peer is heard');
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: peer.port });
  await leg.close();
  assert.equal(allocator.inUse, 0);
});

for (const native of [true, false]) test(`RTP bleed: a source on another host is never learned, before latching, while latched or after the peer's silence (${native ? 'native' : 'dgram'} socket)`, { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: base + (native ? 200 : 210), max: base + (native ? 209 : 219) });
  const peer = track(await RtpEndpoint.open());
  const stranger = track(await RtpEndpoint.open('127.0.0.2'));
  // The SDP says 127.0.0.1 (the port is wrong on purpose: NAT).
  const leg = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '127.0.0.1', port: 9 }, relatchAfterMs: 200, native }));
  const got: number[] = [];
  leg.onRtp = (buf) => got.push(buf.readUInt32BE(8));
  const rtcp: number[] = [];
  leg.onRtcp = (_b, len) => rtcp.push(len);
  await stranger.send(g711(1, 0, 0xbad), leg.localPort);
  await sleep(50);
  assert.deepEqual(got, [], 'not forwarded before latching');
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: 9 }, 'the leg did not move to the stranger');
  await peer.send(g711(1, 0, 0x111), leg.localPort);
  await sleep(50);
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: peer.port }, 'the SDP host, from another port, is learned');
  await stranger.send(g711(2, 160, 0xbad), leg.localPort);
  // The peer falls silent past relatchAfterMs: the stranger still cannot take the call over.
  // Waited for on the leg's own state: its silence check runs on a timer, so a fixed sleep
  // raced it on a loaded machine (the stranger's packets came while still connected).
  const latched = (): boolean => (leg.exportState() as RtpLegState).latched;
  for (const until = Date.now() + 3000; latched() && Date.now() < until;) await sleep(20);
  assert.equal(latched(), false, 'the leg unlatched after the peer\'s silence');
  for (let i = 3; i < 8; i++) await stranger.send(g711(i, i * 160, 0xbad), leg.localPort);
  const rr = Buffer.from('81c90007000004d2' + '00000000'.repeat(6), 'hex');
  await stranger.send(rr, leg.localPort + 1);
  await sleep(50);
  assert.deepEqual(got, [0x111]);
  assert.deepEqual(rtcp, [], 'the stranger\'s RTCP is not taken either');
  const out = g711(9, 0, 0x999);
  leg.sendRtp(out, out.length);
  await peer.waitFor(1, isRtp);
  assert.equal(stranger.received.length, 0, 'nothing was sent to the stranger');
  assert.equal(leg.stats.packetsIn, 1);
  // A connected dgram socket never even delivers the stranger's packet sent while latched.
  assert.equal(leg.stats.packetsDropped, native ? 8 : 7);
  // The peer comes back from a new port (NAT rebinding) after its silence: learned.
  const moved = track(await RtpEndpoint.open());
  await moved.send(g711(10, 1600, 0x111), leg.localPort);
  await sleep(50);
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.1', port: moved.port });
  await peer.send(rr, leg.localPort + 1);
  await sleep(50);
  assert.deepEqual(rtcp, [32], 'RTCP from the peer\'s host');
  assert.equal(leg.stats.rtcpIn, 1);
  await leg.close();
  assert.equal(allocator.inUse, 0);
});

test('media networks: a source inside the trunk\'s configured networks is learned, one outside is not', { timeout: 10000 }, async () => {
  const allocator = new PortAllocator({ min: base + 250, max: base + 259 });
  const inside = track(await RtpEndpoint.open('127.0.0.66'));
  const outside = track(await RtpEndpoint.open('127.0.1.66'));
  // The SDP names a host the media never comes from (a carrier's signalling host).
  const leg = track(await RtpLeg.create({ allocator, address: '127.0.0.1', remote: { address: '192.0.2.10', port: 4000 }, mediaNetworks: ['127.0.0.64/26', '2001:db8::/32'] }));
  await outside.send(g711(1, 0, 1), leg.localPort);
  await sleep(50);
  assert.deepEqual(leg.remoteAddress, { address: '192.0.2.10', port: 4000 });
  await inside.send(g711(1, 0, 2), leg.localPort);
  await sleep(50);
  assert.deepEqual(leg.remoteAddress, { address: '127.0.0.66', port: inside.port });
  assert.deepEqual((leg.exportState() as { mediaNetworks?: string[] }).mediaNetworks, ['127.0.0.64/26', '2001:db8::/32']);
  await leg.close();
  assert.equal(allocator.inUse, 0);
});
