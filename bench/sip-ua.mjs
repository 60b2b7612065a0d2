#!/usr/bin/env node
// libs/sip UA throughput over real UDP on loopback, both UAs in this one process (so
// the figures are for both ends together, on one core):
//  - OPTIONS transactions/s with a window of requests in flight,
//  - calls/s (INVITE / 200 / ACK / BYE / 200), a window of calls in flight,
//  - heap per confirmed dialog pair (UAC + UAS side) at rest.
// Usage: npx tsc -b libs/sip && node --expose-gc bench/sip-ua.mjs [seconds=3] [window=100]

import os from 'node:os';
import { TransportLayer, UserAgent } from '../libs/sip/dist/index.js';

const seconds = Number(process.argv[2] ?? 3);
const windowSize = Number(process.argv[3] ?? 100);

const ta = new TransportLayer();
const tb = new TransportLayer();
await ta.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
const pb = await tb.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
const a = new UserAgent({ transport: ta });
const b = new UserAgent({ transport: tb });
const uri = `sip:bench@127.0.0.1:${pb.port}`;
b.onRequest('INVITE', (req) => { req.answer({ body: 'v=0\r\n', contentType: 'application/sdp' }).catch(() => undefined); });

async function windowed(one) {
  let done = 0;
  let failed = 0;
  const end = performance.now() + seconds * 1000;
  async function lane() {
    while (performance.now() < end) {
      if (await one()) done++;
      else failed++;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: windowSize }, lane));
  return { perSec: Math.round(done / ((performance.now() - t0) / 1000)), failed };
}

// Heap per dialog pair at rest.
const N = 2000;
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const held = [];
for (let i = 0; i < N; i += 100) {
  const batch = [];
  for (let j = 0; j < 100; j++) batch.push(a.request('INVITE', uri).final.then(() => undefined));
  await Promise.all(batch);
}
await new Promise((r) => setTimeout(r, 200));
const tableAfterSetup = a.counters.transactions + b.counters.transactions;
globalThis.gc?.();
const perDialogPair = Math.round((process.memoryUsage().heapUsed - before) / N);
held.push(a.dialogs.size, b.dialogs.size);

const options = await windowed(async () => (await a.request('OPTIONS', uri).final).status === 200);
const calls = await windowed(async () => {
  const out = a.request('INVITE', uri, { body: 'v=0\r\n', contentType: 'application/sdp' });
  if ((await out.final).status !== 200) return false;
  return (await out.dialog.bye()).status === 200;
});

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`# libs/sip UA over UDP loopback (${cpu}, node ${process.version}, window ${windowSize}, ${seconds}s)`);
console.log(`OPTIONS transactions/s: ${options.perSec} (failed ${options.failed})`);
console.log(`calls/s (INVITE/200/ACK/BYE/200): ${calls.perSec} (failed ${calls.failed})`);
console.log(`heap per confirmed dialog pair (UAC+UAS, incl. transactions still in Timer L/M): ${perDialogPair} bytes (dialogs held: ${held.join('/')}, transactions alive: ${tableAfterSetup})`);
console.log(`transactions alive right after the load (RFC timers J/K/L/M still running): ${a.counters.transactions + b.counters.transactions}`);
await a.close();
await b.close();
await ta.close();
await tb.close();
