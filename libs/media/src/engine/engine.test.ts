// MediaEngine on two real worker threads, with real UDP streams on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { MediaEngine, type BridgesLost } from './engine.js';
import { sliceRange } from './slices.js';
import { legStatsAt } from './counters.js';
import { SrtpContext } from '../srtp/context.js';
import type { BridgeDescription } from './protocol.js';
import type { PlainRtpLegState } from '../rtp/rtp-leg.js';

const LO = '127.0.0.1';
// A range away from the other media tests' ranges; two workers split it in halves.
// Fixed, disjoint ranges per test file, below the ephemeral range: see test/README.md.
const PORT_MIN = 16700;
const PORT_MAX = PORT_MIN + 99;

let engine: MediaEngine;
const sockets: Socket[] = [];

before(async () => {
  engine = await MediaEngine.start({ workers: 2, portMin: PORT_MIN, portMax: PORT_MAX, address: LO });
});
after(async () => {
  for (const s of sockets) s.close();
  await engine.close();
});

async function endpoint(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  s.bind(0, LO);
  await once(s, 'listening');
  return s;
}

function rtp(seq: number, ssrc: number, fill: number): Buffer {
  const b = Buffer.alloc(172 + 16);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(ssrc, 8);
  b.fill(fill, 12, 172);
  return b;
}

/** Collects up to `n` datagrams arriving on `s` within `ms`. */
function collect(s: Socket, n: number, ms = 2000): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const done = () => { clearTimeout(t); s.off('message', on); resolve(got); };
    const on = (m: Buffer) => { got.push(m); if (got.length >= n) done(); };
    const t = setTimeout(done, ms);
    s.on('message', on);
  });
}

async function sendPaced(s: Socket, port: number, packets: Buffer[], len = 172): Promise<void> {
  for (const p of packets) {
    s.send(p, 0, len, port, LO);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function plainBridge(): Promise<{ d: BridgeDescription; a: Socket; b: Socket }> {
  const a = await endpoint();
  const b = await endpoint();
  const d = await engine.createBridge({
    legs: [
      { kind: 'rtp', remote: { address: LO, port: a.address().port } },
      { kind: 'rtp', remote: { address: LO, port: b.address().port } },
    ],
  });
  return { d, a, b };
}

test('port range is cut into even-aligned slices, one per worker', () => {
  assert.deepEqual(sliceRange(20000, 29999, 2), [{ min: 20000, max: 24999 }, { min: 25000, max: 29999 }]);
  assert.deepEqual(sliceRange(20001, 20010, 2), [{ min: 20002, max: 20005 }, { min: 20006, max: 20010 }]);
  assert.throws(() => sliceRange(20000, 20002, 4), RangeError);
});

test('RTP<->RTP bridges spread over both workers and relay both directions', { timeout: 20000 }, async () => {
  const slices = engine.workers();
  const made = [await plainBridge(), await plainBridge(), await plainBridge(), await plainBridge()];
  assert.deepEqual(made.map((m) => m.d.worker).sort(), [0, 0, 1, 1]);
  for (const { d } of made) {
    const w = slices[d.worker];
    for (const leg of d.legs) {
      assert.equal(leg.address, LO);
      assert.ok(leg.port >= w.portMin && leg.port <= w.portMax, `port ${leg.port} in worker ${d.worker}'s slice`);
    }
  }
  assert.equal(engine.liveBridges, 4);
  assert.ok(engine.portsInUse >= 8);

  await Promise.all(made.map(async ({ d, a, b }, i) => {
    const toB = collect(b, 50);
    const toA = collect(a, 50);
    await Promise.all([
      sendPaced(a, d.legs[0].port, Array.from({ length: 50 }, (_, k) => rtp(k + 1, 0x1000 + i, 2 * i))),
      sendPaced(b, d.legs[1].port, Array.from({ length: 50 }, (_, k) => rtp(k + 1, 0x2000 + i, 2 * i + 1))),
    ]);
    const [gotB, gotA] = await Promise.all([toB, toA]);
    assert.equal(gotB.length, 50, `bridge ${i}: A->B`);
    assert.equal(gotA.length, 50, `bridge ${i}: B->A`);
    assert.ok(gotB.every((m) => m.length === 172 && m[12] === 2 * i && m[171] === 2 * i));
    assert.ok(gotA.every((m) => m.length === 172 && m[12] === 2 * i + 1));
    const st = await engine.stats(d.id);
    assert.equal(st.legs[0].packetsIn, 50);
    assert.equal(st.legs[1].packetsOut, 50);
    assert.equal(st.legs[1].packetsIn, 50);
    assert.equal(st.legs[0].packetsOut, 50);
  }));

  // The monitor's coarse timer reads every bridge's counters in one request per worker.
  const many = await engine.statsMany([...made.map((m) => m.d.id), 'no-such-bridge']);
  assert.deepEqual(many.map((c) => c.id).sort(), made.map((m) => m.d.id).sort(), 'unknown ids are left out');
  assert.ok(many.every((c) => c.legs[0]!.packetsIn === 50 && c.legs[1]!.packetsOut === 50));
  // The same as a table (what the monitor samples): a row per id asked, in its order; NaN for one no worker knows.
  const asked = ['no-such-bridge', ...made.map((m) => m.d.id)];
  const table = await engine.countersMany(asked);
  assert.deepEqual([...table.ids].sort(), [...asked].sort());
  for (let row = 0; row < table.ids.length; row++) {
    const known = table.ids[row] !== 'no-such-bridge';
    assert.equal(legStatsAt(table.values, row, 0)?.packetsIn, known ? 50 : undefined, table.ids[row]);
    assert.equal(legStatsAt(table.values, row, 1)?.packetsOut, known ? 50 : undefined, table.ids[row]);
  }
  const load = engine.workers();
  assert.deepEqual(load.map((w) => [w.up, w.bridges]), [[true, 2], [true, 2]]);
  assert.ok(load.every((w) => w.utilization >= 0 && w.utilization <= 1 && w.portsInUse >= 4), JSON.stringify(load));

  // Destroying a bridge reports its last counters (a call record's final media figures).
  const last: Array<{ id: string; legs: Record<string, number>[] }> = [];
  const onLast = (c: { id: string; legs: Record<string, number>[] }) => last.push(c);
  engine.on('bridgeDestroyed', onLast);
  for (const { d } of made) await engine.destroyBridge(d.id);
  engine.off('bridgeDestroyed', onLast);
  assert.deepEqual(last.map((c) => c.id), made.map((m) => m.d.id));
  assert.ok(last.every((c) => c.legs[1]!.packetsIn === 50 && c.legs[0]!.packetsOut === 50));
  assert.equal(engine.liveBridges, 0);
  assert.equal(engine.portsInUse, 0);
  await assert.rejects(engine.stats(made[0].d.id), /no bridge/);
});

test('SDES-SRTP<->RTP bridge decrypts, re-encrypts, and survives export/restore', { timeout: 20000 }, async () => {
  for (const profile of ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'] as const) {
    const keyLen = profile === 'AEAD_AES_128_GCM' ? 28 : 30;
    const ours = randomBytes(keyLen);
    const theirs = randomBytes(keyLen);
    const split = (k: Buffer) => ({ masterKey: k.subarray(0, 16), masterSalt: k.subarray(16) });
    const peerTx = new SrtpContext(profile, split(theirs));
    const peerRx = new SrtpContext(profile, split(ours));
    const a = await endpoint();
    const b = await endpoint();
    const spec = {
      legs: [
        { kind: 'sdes' as const, profile, localKey: ours.toString('base64'), remoteKey: theirs.toString('base64'), remote: { address: LO, port: a.address().port } },
        { kind: 'rtp' as const, remote: { address: LO, port: b.address().port } },
      ] as [never, never],
    };
    const d = await engine.createBridge(spec);

    let seq = 1;
    const exchange = async (n: number) => {
      const toB = collect(b, n);
      const toA = collect(a, n);
      const srtp = Array.from({ length: n }, () => { const p = rtp(seq++, 0xabc, 0x5a); return p.subarray(0, peerTx.protectRtp(p, 172)); });
      await Promise.all([
        sendPaced(a, d.legs[0].port, srtp.map((p) => Buffer.concat([p, Buffer.alloc(16)])), srtp[0].length),
        sendPaced(b, d.legs[1].port, Array.from({ length: n }, (_, k) => rtp(seq + k, 0xdef, 0xa5))),
      ]);
      const [gotB, gotA] = await Promise.all([toB, toA]);
      assert.equal(gotB.length, n, `${profile}: SRTP->RTP`);
      assert.ok(gotB.every((m) => m.length === 172 && m[12] === 0x5a && m[171] === 0x5a), 'plain payload after unprotect');
      assert.equal(gotA.length, n, `${profile}: RTP->SRTP`);
      for (const m of gotA) {
        assert.equal(m.length, 172 + peerRx.rtpOverhead);
        assert.equal(peerRx.unprotectRtp(m, m.length), 172, 'peer authenticates what the bridge protected');
        assert.equal(m[12], 0xa5);
      }
    };
    await exchange(20);

    // Takeover path: export, drop, restore on the same ports; the streams carry on.
    const state = await engine.exportState(d.id);
    assert.equal(state.id, d.id);
    assert.equal(JSON.parse(JSON.stringify(state)).id, d.id, 'state is JSON-safe');
    await engine.destroyBridge(d.id);
    const r = await engine.restoreBridge(state);
    assert.deepEqual(r.legs.map((l) => l.port), d.legs.map((l) => l.port));
    assert.equal(r.worker, d.worker);
    await exchange(20);
    await engine.destroyBridge(d.id);
  }
  assert.equal(engine.portsInUse, 0);
});

test('updateBridge points a leg at a new peer address (re-INVITE)', { timeout: 20000 }, async () => {
  const { d, a, b } = await plainBridge();
  const moved = await endpoint();
  await engine.updateBridge(d.id, { legs: [null, { remote: { address: LO, port: moved.address().port } }] });
  const gotMoved = collect(moved, 10);
  await sendPaced(a, d.legs[0].port, Array.from({ length: 10 }, (_, k) => rtp(k + 1, 3, 0x33)));
  assert.equal((await gotMoved).length, 10, 'media follows the new address');
  const stale = collect(b, 1, 200);
  assert.equal((await stale).length, 0, 'nothing reaches the old address');
  await assert.rejects(engine.updateBridge(d.id, { bridge: { payloadTypes: [[0, 0]] } }), /cannot change/);
  await engine.destroyBridge(d.id);
});

test('legs bound first, forwarding from a later update (offer binds ports, answer gives payload types)', { timeout: 20000 }, async () => {
  const a = await endpoint();
  const b = await endpoint();
  const d = await engine.createBridge({
    legs: [{ kind: 'rtp', remote: { address: LO, port: a.address().port } }, { kind: 'rtp' }],
    bridge: null,
  });
  assert.equal(d.legs.length, 2, 'both legs are bound and described');
  const early = collect(b, 1, 300);
  await sendPaced(a, d.legs[0].port, Array.from({ length: 5 }, (_, k) => rtp(k + 1, 5, 0x11)));
  assert.equal((await early).length, 0, 'nothing is forwarded before the bridge options arrive');

  await engine.updateBridge(d.id, {
    legs: [null, { remote: { address: LO, port: b.address().port } }],
    bridge: { payloadTypes: [[0, 8]] },
  });
  const got = collect(b, 10);
  await sendPaced(a, d.legs[0].port, Array.from({ length: 10 }, (_, k) => rtp(k + 10, 5, 0x22)));
  const packets = await got;
  assert.equal(packets.length, 10, 'forwarding starts with the update');
  assert.equal(packets[0][1] & 0x7f, 8, 'with the payload-type mapping it gave');
  const stats = await engine.stats(d.id);
  assert.equal(typeof stats.bridge?.ssrcToB, 'number');

  await assert.rejects(engine.updateBridge(d.id, { bridge: { payloadTypes: [[0, 0]] } }), (err: Error & { status?: number }) => {
    assert.equal(err.status, 488);
    return /cannot change/.test(err.message);
  });
  await engine.destroyBridge(d.id);
  assert.equal(engine.portsInUse, 0);
});

test('a WebRTC leg is described with the ICE and DTLS parameters its SDP needs', { timeout: 20000 }, async () => {
  const d = await engine.createBridge({ legs: [{ kind: 'webrtc' }, { kind: 'rtp' }] });
  const w = d.legs[0];
  assert.equal(w.kind, 'webrtc');
  assert.equal(typeof w.ufrag, 'string');
  assert.equal(typeof w.pwd, 'string');
  assert.match((w.fingerprint as { value: string }).value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i);
  const slice = engine.workers()[d.worker];
  assert.ok(w.port >= slice.portMin && w.port <= slice.portMax);
  const ports = engine.portsInUse;
  await engine.destroyBridge(d.id);
  assert.equal(engine.portsInUse, ports - 2, 'the WebRTC leg gives its port back');
});

test('a crashed worker: its bridges are reported lost, its slice freed, a replacement takes over', { timeout: 20000 }, async () => {
  const made = [await plainBridge(), await plainBridge()];
  const victim = made.find((m) => m.d.worker === 0);
  const survivor = made.find((m) => m.d.worker === 1);
  assert.ok(victim && survivor);
  const lost = once(engine, 'bridgesLost') as Promise<[BridgesLost]>;
  const restarted = once(engine, 'workerRestarted');
  await engine.killWorker(0);
  const [info] = await lost;
  assert.equal(info.worker, 0);
  assert.deepEqual(info.ids, [victim.d.id]);
  await assert.rejects(engine.stats(victim.d.id), /no bridge/);
  await restarted;
  assert.equal(engine.liveBridges, 1, 'the other worker still carries its bridge');

  // The dead worker's ports are free again: a restore onto the very same ports works.
  // A state as another node's store would hold it (the worker that had it is gone).
  const leg = (port: number, peer: number): PlainRtpLegState => ({
    kind: 'rtp', address: LO, advertisedAddress: LO, port, rtcpMux: false, remote: { address: LO, port: peer }, rtcpRemote: { address: LO, port: peer + 1 },
    latched: false, latch: true, relatchAfterMs: 3000, connect: true, clockRate: 8000,
  });
  const direction = { ssrc: 0x1234, seqOffset: 0, tsOffset: 0, inSsrc: -1, lastSeq: 0, lastTs: 0, lastAt: 0, packets: 0, octets: 0 };
  const r = await engine.restoreBridge({
    v: 1,
    id: victim.d.id,
    legs: [leg(victim.d.legs[0].port, victim.a.address().port), leg(victim.d.legs[1].port, victim.b.address().port)],
    bridge: { payloadTypes: null, clockRate: 8000, rtcpIntervalMs: 5000, cname: 'restored', toA: direction, toB: { ...direction, ssrc: 0x5678 } },
  });
  assert.equal(r.worker, 0);
  const got = collect(victim.b, 10);
  await sendPaced(victim.a, r.legs[0].port, Array.from({ length: 10 }, (_, k) => rtp(k + 1, 7, 9)));
  assert.equal((await got).length, 10);

  // The survivor never noticed.
  const got2 = collect(survivor.b, 10);
  await sendPaced(survivor.a, survivor.d.legs[0].port, Array.from({ length: 10 }, (_, k) => rtp(k + 1, 8, 9)));
  assert.equal((await got2).length, 10);

  await engine.destroyBridge(victim.d.id);
  await engine.destroyBridge(survivor.d.id);
  assert.equal(engine.portsInUse, 0);
});

test('close() terminates the workers and releases every port', { timeout: 20000 }, async () => {
  const e2 = await MediaEngine.start({ workers: 2, portMin: PORT_MIN + 2000, portMax: PORT_MIN + 2009, address: LO });
  try {
    const d = await e2.createBridge({ legs: [{ kind: 'rtp' }, { kind: 'rtp' }] });
    assert.equal(e2.liveBridges, 1);
    await e2.close();
    assert.equal(e2.liveBridges, 0);
    assert.equal(e2.portsInUse, 0);
    await assert.rejects(e2.createBridge({ legs: [{ kind: 'rtp' }, { kind: 'rtp' }] }), /no media worker/);
    for (const leg of d.legs) {
      const s = createSocket('udp4');
      s.bind(leg.port, LO);
      await once(s, 'listening');
      s.close();
    }
  } finally {
    // Idempotent; here so a failed assertion cannot leave worker threads holding the process.
    await e2.close();
  }
});
