// The gateway as its own process for bench:compare: what `trapezoid --config FILE` does,
// plus an IPC channel to force GC (main thread and every media worker) before a memory
// reading and to stop it cleanly (so --cpu-prof can write its profiles).
// Usage (systems.mjs): node --expose-gc gateway-proc.mjs CONFIG (with an IPC channel).
import { readFileSync } from 'node:fs';
import { loadConfig, createLogger, Gateway } from '@trapezoid/gateway';

const config = loadConfig({ path: process.argv[2], env: {} });
const log = createLogger(config.logging.level);
const gw = await Gateway.start(config, { log });

async function gcAll() {
  // The media engine is private to the gateway; a bench reaches in to collect its workers too.
  const engine = gw['mediaEngine'];
  for (let i = 0; i < 2; i++) {
    globalThis.gc?.();
    await engine?.usage(true);
    await new Promise((r) => setTimeout(r, 100));
  }
}

process.on('message', async (msg) => {
  if (msg?.type === 'gc') {
    await gcAll();
    const t = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const rss = Number(/^Rss:\s+(\d+)/m.exec(t)[1]) * 1024;
    const pss = Number(/^Pss:\s+(\d+)/m.exec(t)[1]) * 1024;
    process.send({ id: msg.id, rss, pss, heapUsed: process.memoryUsage().heapUsed, counters: gw.counters() });
  } else if (msg?.type === 'threads') {
    // The media workers' OS thread ids: systems.mjs splits the process's CPU time by thread.
    const usage = await gw['mediaEngine']?.usage(false) ?? [];
    process.send({ id: msg.id, media: usage.map((u) => u.tid).filter((t) => t > 0) });
  } else if (msg?.type === 'counters') {
    process.send({ id: msg.id, counters: gw.counters() });
  } else if (msg?.type === 'stop') {
    stopAndExit();
  }
});
let stopping = false;
const stopAndExit = () => {
  if (stopping) return;
  stopping = true;
  gw.stop().finally(() => process.exit(0));
};
process.on('disconnect', stopAndExit);
process.on('SIGTERM', stopAndExit);
process.send({ type: 'ready' });
