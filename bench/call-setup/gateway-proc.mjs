// The gateway as its own process for the call-setup bench: what `trapezoid --config FILE`
// does (apps/gateway/dist/main.js), plus an IPC channel the bench uses to read the
// process's memory after a forced GC (run with --expose-gc) and to stop it.
// Usage (by run.mjs): fork('gateway-proc.mjs', [configFile], { execArgv: ['--expose-gc'] })

import { loadConfig, createLogger, Gateway } from '@trapezoid/gateway';

const config = loadConfig({ path: process.argv[2], env: {} });
const log = createLogger(config.logging.level);
const gw = await Gateway.start(config, { log });

function gcNow() {
  // Two passes: the first may only queue finalizers (werift keeps some weak refs).
  globalThis.gc?.();
  globalThis.gc?.();
}

process.on('message', async (msg) => {
  if (msg?.type === 'memory') {
    gcNow();
    await new Promise((r) => setTimeout(r, 200));
    gcNow();
    const m = process.memoryUsage();
    process.send({ type: 'memory', id: msg.id, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, counters: gw.counters() });
  } else if (msg?.type === 'counters') {
    process.send({ type: 'counters', id: msg.id, counters: gw.counters() });
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
// A clean exit also lets --cpu-prof (GATEWAY_NODE_ARGS, run.mjs) write its profile.
process.on('disconnect', stopAndExit);
process.on('SIGTERM', stopAndExit);
process.send({ type: 'ready', listening: gw.listeningPoints().map((p) => ({ protocol: p.protocol, address: p.address, port: p.port })) });
