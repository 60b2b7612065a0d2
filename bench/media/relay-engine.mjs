// Cases (a) and (b): our MediaEngine (worker threads) hosted in its own process so
// the benchmark can read this process's CPU time from /proc and nothing else's.
// Usage (forked by run.mjs): node --expose-gc relay-engine.mjs WORKERS PORTMIN PORTMAX
import { MediaEngine } from '../../libs/media/dist/index.js';
import { serveRelay } from './relay-ipc.mjs';

const [workers, portMin, portMax] = process.argv.slice(2).map(Number);
const engine = await MediaEngine.start({ workers, portMin, portMax, address: '127.0.0.1' });
const ids = [];

async function create({ specs }) {
  const out = [];
  // Batches keep the control channel busy without queueing thousands of binds at once.
  for (let i = 0; i < specs.length; i += 50) {
    const batch = await Promise.all(specs.slice(i, i + 50).map((s) => engine.createBridge(s)));
    for (const d of batch) ids.push(d.id);
    out.push(...batch);
  }
  return out;
}

async function destroyAll() {
  await Promise.all(ids.splice(0).map((id) => engine.destroyBridge(id)));
  return { liveBridges: engine.liveBridges, portsInUse: engine.portsInUse };
}

const handlers = {
  create,
  destroyAll,
  usage: ({ gc }) => engine.usage(gc),
  mem: () => {
    globalThis.gc?.();
    return { rss: process.memoryUsage().rss, bridges: engine.liveBridges, ports: engine.portsInUse };
  },
  stats: ({ bridge }) => engine.stats(bridge),
  exportState: ({ bridge }) => engine.exportState(bridge),
};
serveRelay(handlers, async () => {
  await engine.close();
  process.exit(0);
});
