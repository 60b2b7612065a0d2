// The addon's UDP sockets against dgram peers on loopback: datagrams both ways with the
// right source address, errno codes on bind, dgram-like close, and routes dropped with
// their out socket. Ports 16840-16859.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTE_STATE_SIZE, RS, type NativeBinding } from './binding.js';
import { bindDgram, closeDgram, freshRouteState, Inbox, nativeForTest } from './test-support.js';

const HOST = '127.0.0.1';
let native: NativeBinding;

before(() => {
  native = nativeForTest();
});

const closeNative = (id: number): Promise<void> => new Promise((r) => native.close(id, r));

test('datagrams both ways with a dgram peer, IPv4 and IPv6', { timeout: 10000 }, async () => {
  for (const [type, address, base] of [['udp4', HOST, 16840], ['udp6', '::1', 16842]] as const) {
    const mine = new Inbox();
    const theirs = new Inbox();
    const id = native.open(address, base, mine.push);
    const peer = await bindDgram(type, address, base + 1, theirs.push);
    try {
      assert.ok(id > 0, 'ids are positive');
      assert.equal(native.localPort(id), base);
      const buf = Buffer.from('..hello..');
      assert.equal(native.send(id, buf, 2, 5, address, base + 1), 5);
      const got = await theirs.next();
      assert.equal(got.msg.toString(), 'hello');
      assert.equal(got.port, base, 'sent from the bound port');
      peer.send(Buffer.from('reply'), base, address);
      const back = await mine.next();
      assert.equal(back.msg.toString(), 'reply');
      assert.equal(back.address, address);
      assert.equal(back.port, base + 1);
    } finally {
      await closeNative(id);
      await closeDgram(peer);
    }
  }
});

test('port 0 binds an ephemeral port', async () => {
  const id = native.open(HOST, 0, () => undefined);
  const port = native.localPort(id);
  await closeNative(id);
  assert.ok(port > 0 && port < 65536);
});

test('a taken port throws EADDRINUSE, a bad address EINVAL; send errors are negative errnos', async () => {
  const id = native.open(HOST, 16844, () => undefined);
  const peer = await bindDgram('udp4', HOST, 16845);
  try {
    assert.throws(() => native.open(HOST, 16844, () => undefined), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && e.syscall === 'bind');
    assert.throws(() => native.open(HOST, 16845, () => undefined), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE', 'taken by dgram');
    assert.throws(() => native.open('not-an-ip', 16846, () => undefined), (e: NodeJS.ErrnoException) => e.code === 'EINVAL');
    assert.ok(native.send(id, Buffer.from('x'), 0, 1, '::1', 16845) < 0, 'IPv6 destination from an IPv4 socket');
    assert.ok(native.send(id + 1, Buffer.from('x'), 0, 1, HOST, 16845) < 0, 'unknown socket');
    assert.throws(() => native.send(id, Buffer.from('x'), 0, 2, HOST, 16845), /beyond the buffer/);
  } finally {
    await closeNative(id);
    await closeDgram(peer);
  }
});

test('close calls back asynchronously, is idempotent, and frees the port', async () => {
  const id = native.open(HOST, 16847, () => undefined);
  let calls = 0;
  const first = new Promise<void>((r) => native.close(id, () => { calls++; r(); }));
  assert.equal(calls, 0, 'not called synchronously');
  // The port is free as soon as close() returns (the fd is closed), and after done().
  const again = native.open(HOST, 16847, () => undefined);
  await closeNative(again);
  await first;
  await new Promise<void>((r) => native.close(id, () => { calls++; r(); }));
  await new Promise<void>((r) => native.close(987654321, () => { calls++; r(); }));
  assert.equal(calls, 3, 'every close() calls back, known id or not');
  const peer = await bindDgram('udp4', HOST, 16847);
  await closeDgram(peer);
});

test('closing a route\'s out socket drops the route: its RTP then reaches JS', { timeout: 10000 }, async () => {
  const punted = new Inbox();
  const received = new Inbox();
  const inId = native.open(HOST, 16850, punted.push);
  const outId = native.open(HOST, 16851, () => undefined);
  const sender = await bindDgram('udp4', HOST, 16852);
  const receiver = await bindDgram('udp4', HOST, 16853, received.push);
  try {
    const state = freshRouteState(0x01020304, 0x0a0b0c0d);
    const ptMap = new Int16Array(128).map((_, i) => i);
    native.setRoute(inId, {
      outId, destAddress: HOST, destPort: 16853, srcAddress: HOST, srcPort: 16852,
      inProfile: 0, inKeys: null, outProfile: 0, outKeys: null, state, ptMap,
    });
    const pkt = Buffer.alloc(172);
    pkt[0] = 0x80;
    pkt.writeUInt16BE(1, 2);
    pkt.writeUInt32BE(0x01020304, 8);
    sender.send(pkt, 16850, HOST);
    const fwd = await received.next();
    assert.equal(fwd.msg.readUInt32BE(8), 0x0a0b0c0d, 'forwarded with the route\'s SSRC');
    assert.equal(fwd.port, 16851);
    assert.equal(state[RS.OUT_PACKETS], 1);
    await closeNative(outId);
    pkt.writeUInt16BE(2, 2);
    sender.send(pkt, 16850, HOST);
    const got = await punted.next();
    assert.deepEqual(got.msg, pkt, 'handed to JS unchanged');
    assert.equal(state[RS.OUT_PACKETS], 1, 'the dropped route no longer counts');
    assert.equal(state[RS.PUNTED], 0, 'the dropped route no longer counts');
    assert.equal(received.size, 0);
  } finally {
    await closeNative(inId);
    await closeNative(outId);
    await closeDgram(sender);
    await closeDgram(receiver);
  }
});

test('setRoute rejects bad configuration with a TypeError', async () => {
  const inId = native.open(HOST, 16854, () => undefined);
  try {
    const good = {
      outId: inId, destAddress: HOST, destPort: 16855, srcAddress: HOST, srcPort: 16856,
      inProfile: 1 as const, inKeys: { key: Buffer.alloc(16), salt: Buffer.alloc(14), auth: Buffer.alloc(20) },
      outProfile: 0 as const, outKeys: null, state: new Float64Array(ROUTE_STATE_SIZE), ptMap: new Int16Array(128),
    };
    native.setRoute(inId, good);
    assert.throws(() => native.setRoute(inId, { ...good, inKeys: { key: Buffer.alloc(15), salt: Buffer.alloc(14), auth: Buffer.alloc(20) } }), TypeError);
    assert.throws(() => native.setRoute(inId, { ...good, state: new Float64Array(10) }), TypeError);
    assert.throws(() => native.setRoute(inId, { ...good, destAddress: 'example.com' }), TypeError);
    assert.throws(() => native.setRoute(inId, { ...good, outId: inId + 1 }), /unknown or closed outId/);
    native.clearRoute(inId);
    native.clearRoute(inId);
  } finally {
    await closeNative(inId);
  }
});
