// The gateway as its own process for bench:compare: what `trapezoid --config FILE` does,
// plus an IPC channel to force GC (main thread and every media worker) before a memory
// reading and to stop it cleanly (so --cpu-prof can write its profiles).
// Usage (systems.mjs): node --expose-gc gateway-proc.mjs CONFIG (with an IPC channel).
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';
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

/** Where the process's memory is, for the bench's memory phase: each thread's V8 heap (committed, used) and malloc. */
async function breakdown() {
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1024)]));
  const h = getHeapStatistics();
  const workers = (await gw['mediaEngine']?.usage(false)) ?? [];
  let anon = 0, heap = 0;
  for (const m of readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const rss = Number(/^Rss:\s+(\d+)/m.exec(m)?.[1] ?? 0);
    if (/ \[heap\]\s*$/m.test(m.split('\n')[0])) heap += rss;
    else if (/^\S+ \S+ \S+ \S+ 0\s*$/.test(m.split('\n')[0])) anon += rss;
  }
  return {
    mainKiB: { committed: Math.round(h.total_physical_size / 1024), used: Math.round(h.used_heap_size / 1024), malloced: Math.round(h.malloced_memory / 1024), spaces },
    workersKiB: workers.map((w) => ({ heapTotal: Math.round(w.heapTotal / 1024), used: Math.round(w.usedHeapSize / 1024), malloced: Math.round(w.mallocedMemory / 1024), external: Math.round(w.external / 1024) })),
    // [heap]: the main arena of malloc; anonymous mappings: V8's heaps, the other threads' malloc arenas, stacks.
    brkHeapKiB: heap, anonKiB: anon,
  };
}

process.on('message', async (msg) => {
  if (msg?.type === 'gc') {
    await gcAll();
    const t = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const rss = Number(/^Rss:\s+(\d+)/m.exec(t)[1]) * 1024;
    const pss = Number(/^Pss:\s+(\d+)/m.exec(t)[1]) * 1024;
    process.send({ id: msg.id, rss, pss, heapUsed: process.memoryUsage().heapUsed, counters: gw.counters(), breakdown: await breakdown() });
  } else if (msg?.type === 'snapshot') {
    // A heap snapshot of the main thread (MEMORY_SNAPSHOT_DIR in compare.mjs): what the calls hold.
    const dir = process.env.MEMORY_SNAPSHOT_DIR ?? '.';
    const at = Date.now();
    const files = [writeHeapSnapshot(`${dir}/main-${at}.heapsnapshot`)];
    for (const [i, slot] of (gw['mediaEngine']?.['slots'] ?? []).entries()) {
      if (!slot.worker) continue;
      const file = `${dir}/worker${i}-${at}.heapsnapshot`;
      await pipeline(await slot.worker.getHeapSnapshot(), createWriteStream(file));
      files.push(file);
    }
    process.send({ id: msg.id, files });
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
