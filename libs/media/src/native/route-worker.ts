// Worker-thread side of worker.test.ts: loads the addon in its own thread, opens its own
// sockets, installs an AES-CM -> plain route and pushes RTP through it from dgram peers
// of the same thread, then closes everything so the worker exits by itself.
import { parentPort, workerData } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { SrtpContext } from '../srtp/context.js';
import { ROUTE_STATE_SIZE, RS } from './binding.js';
import { bindDgram, freshRouteState, nativeForTest } from './test-support.js';

interface Job {
  base: number;
  packets: number;
  /** Throw from onMessage, to see the exception reach the worker's 'error' event. */
  throwInHandler?: boolean;
  /** Open sockets and a route, report, and never close them (the test terminates the worker). */
  holdOpen?: boolean;
}

const HOST = '127.0.0.1';
const job = workerData as Job;
const native = nativeForTest();

if (job.holdOpen) {
  const inId = native.open(HOST, job.base, () => undefined);
  const outId = native.open(HOST, job.base + 1, () => undefined);
  native.setRoute(inId, {
    outId, destAddress: HOST, destPort: job.base + 3, srcAddress: HOST, srcPort: job.base + 2,
    inProfile: 2, inKeys: { key: randomBytes(16), salt: randomBytes(12), auth: Buffer.alloc(0) },
    outProfile: 1, outKeys: { key: randomBytes(16), salt: randomBytes(14), auth: randomBytes(20) },
    state: new Float64Array(ROUTE_STATE_SIZE), ptMap: new Int16Array(128),
  });
  parentPort?.postMessage({ inId, outPackets: 0, inPackets: 0, dropped: 0 });
} else if (job.throwInHandler) {
  const id = native.open(HOST, job.base, () => {
    native.close(id, () => undefined);
    throw new Error('thrown by onMessage');
  });
  const s = await bindDgram('udp4', HOST, job.base + 1);
  s.send(Buffer.from('boom'), job.base, HOST, () => s.close());
} else {
  const master = { masterKey: randomBytes(16), masterSalt: randomBytes(14) };
  const profile = 'AES_CM_128_HMAC_SHA1_80';
  const tx = new SrtpContext(profile, master);
  const inId = native.open(HOST, job.base, () => undefined);
  const outId = native.open(HOST, job.base + 1, () => undefined);
  let received = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => { done = r; });
  const receiver = await bindDgram('udp4', HOST, job.base + 3, () => {
    if (++received === job.packets) done();
  });
  const sender = await bindDgram('udp4', HOST, job.base + 2);
  const state = freshRouteState(0x5555aaaa, 0x12345678);
  native.setRoute(inId, {
    outId, destAddress: HOST, destPort: job.base + 3, srcAddress: HOST, srcPort: job.base + 2,
    inProfile: 1, inKeys: tx.rtpSessionKeys, outProfile: 0, outKeys: null,
    state, ptMap: new Int16Array(128).map((_, i) => i),
  });
  for (let seq = 0; seq < job.packets; seq++) {
    const b = Buffer.alloc(12 + 160 + 10);
    b[0] = 0x80;
    b.writeUInt16BE(seq, 2);
    b.writeUInt32BE(seq * 160, 4);
    b.writeUInt32BE(0x5555aaaa, 8);
    const n = tx.protectRtp(b, 172);
    sender.send(b, 0, n, job.base, HOST);
  }
  await all;
  parentPort?.postMessage({ inId, outPackets: state[RS.OUT_PACKETS], inPackets: state[RS.IN_PACKETS], dropped: state[RS.IN_DROPPED] });
  await new Promise<void>((r) => native.close(inId, r));
  await new Promise<void>((r) => native.close(outId, r));
  sender.close();
  receiver.close();
}
