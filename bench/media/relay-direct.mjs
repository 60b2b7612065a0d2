// Diagnostic relay: our RtpLeg/SdesLeg + Bridge on the process's main thread, no
// MediaEngine/worker. Compared with relay-engine.mjs it shows what the worker adds.
import { Bridge, PortAllocator, RtpLeg, SdesLeg } from '../../libs/media/dist/index.js';
import { serveRelay } from './relay-ipc.mjs';

const allocator = new PortAllocator({ min: 38000, max: 39999 });
const bridges = [];
const keys = (b64) => { const k = Buffer.from(b64, 'base64'); return { masterKey: k.subarray(0, 16), masterSalt: k.subarray(16) }; };

async function create({ specs }) {
  const out = [];
  for (const spec of specs) {
    const legs = [];
    for (const l of spec.legs) {
      const o = { allocator, address: '127.0.0.1', remote: l.remote };
      legs.push(l.kind === 'sdes'
        ? await SdesLeg.create({ ...o, profile: l.profile, localKeys: keys(l.localKey), remoteKeys: keys(l.remoteKey) })
        : await RtpLeg.create(o));
    }
    bridges.push(new Bridge({ a: legs[0], b: legs[1] }));
    out.push({ id: String(bridges.length), legs: legs.map((l) => ({ port: l.localPort, address: l.localAddress })) });
  }
  return out;
}

const handlers = { create, mem: () => ({ rss: process.memoryUsage().rss, bridges: bridges.length }) };
serveRelay(handlers);
