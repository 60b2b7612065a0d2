// Pre-bound legs on a real worker thread: createBridge answers from a reservation with
// the description the worker then gives the legs it builds, the pool's ports are counted
// apart from the calls', the pool refills after a take, and a takeover's exact port is
// given up by the pool. Ports 15000-15199 (test/README.md).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaEngine } from './engine.js';
import type { BridgeSpec } from './protocol.js';

const LO = '127.0.0.1';
const REMOTE = { ufrag: 'brws', pwd: 'browser-password-0123456', fingerprints: [{ algorithm: 'sha-256', value: 'AB:'.repeat(31) + 'AB' }] };
const engines: MediaEngine[] = [];

after(async () => {
  await Promise.all(engines.map((e) => e.close()));
});

async function start(prebound: number, portMin = 15000): Promise<MediaEngine> {
  const e = await MediaEngine.start({ workers: 1, portMin, portMax: portMin + 199, address: LO, prebound });
  engines.push(e);
  return e;
}

/** Waits until the worker reports `pairs` pre-bound port pairs (its replies carry the count). */
async function prebound(e: MediaEngine, pairs: number): Promise<number> {
  for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    await e.usage();
    if (e.portsPrebound === pairs) break;
  }
  return e.portsPrebound;
}

const browserCall = (setup: 'actpass' | 'active' | 'passive' | null): BridgeSpec => ({
  legs: [{ kind: 'webrtc', ...(setup ? { remote: { ...REMOTE, setup } } : {}) }, { kind: 'rtp' }],
  bridge: null,
});

test('a browser call is described at once from pre-bound legs, exactly as its worker then builds them', async () => {
  const e = await start(4);
  assert.equal(await prebound(e, 8), 8, '4 WebRTC ports and 4 RTP/RTCP pairs wait for calls');
  assert.equal(e.portsInUse, 0, 'pre-bound ports are not ports in use');
  for (const setup of ['actpass', 'active', 'passive', null] as const) {
    const d = await e.createBridge(browserCall(setup));
    assert.equal(e.portsInUse, 2, 'counted as soon as it is handed out');
    // An empty update is answered with the worker's own description of the built legs.
    const built = await e.updateBridge(d.id, {});
    assert.deepEqual(d, built, `setup ${setup}: the description the SDP was written from is the worker's`);
    const web = d.legs[0]!;
    assert.ok(web.kind === 'webrtc');
    assert.equal(web.setup, setup === null ? 'actpass' : setup === 'passive' ? 'active' : 'passive');
    await e.destroyBridge(d.id);
  }
  assert.equal(e.portsInUse, 0);
  assert.equal(await prebound(e, 8), 8, 'the pool refilled');
});

test('more calls at once than pre-bound legs: the rest bind the usual way, every description matches', async () => {
  const e = await start(2, 15200);
  assert.equal(await prebound(e, 4), 4);
  const made = await Promise.all(Array.from({ length: 6 }, () => e.createBridge(browserCall('actpass'))));
  const ports = new Set(made.flatMap((d) => d.legs.map((l) => l.port)));
  assert.equal(ports.size, 12, 'no port handed out twice');
  for (const d of made) assert.deepEqual(await e.updateBridge(d.id, {}), d);
  assert.equal(e.portsInUse, 12);
  await Promise.all(made.map((d) => e.destroyBridge(d.id)));
  assert.equal(e.portsInUse, 0);
});

test('prebound: 0 keeps no ports; a leg bound to a fixed port (takeover) never comes from the pool', async () => {
  const off = await start(0, 15400);
  await off.usage();
  assert.equal(off.portsPrebound, 0);
  const d = await off.createBridge(browserCall('actpass'));
  assert.deepEqual(await off.updateBridge(d.id, {}), d);
  await off.destroyBridge(d.id);

  // A restore wants the exact ports a pre-bound leg holds: the pool gives them up.
  const e = await start(4, 15600);
  assert.equal(await prebound(e, 8), 8);
  const first = await e.createBridge(browserCall('actpass'));
  const state = await e.exportState(first.id);
  await e.destroyBridge(first.id);
  await prebound(e, 8);
  const taken = await e.createBridge(browserCall('actpass'));
  const restored = await e.restoreBridge({ ...state, id: 'restored' });
  assert.deepEqual(restored.legs.map((l) => l.port), first.legs.map((l) => l.port), 'same ports as the exported call');
  assert.deepEqual(await e.updateBridge(taken.id, {}), taken);
  await e.destroyBridge(taken.id);
  await e.destroyBridge('restored');
  assert.equal(e.portsInUse, 0);
});
