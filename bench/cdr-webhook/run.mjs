// Does a call-record webhook that is down, or that accepts connections and never
// answers, slow call setup? (issue 11). Three gateway processes, identical but for
// cdr.webhook: none (baseline), a port nobody listens on (down), a receiver in this
// process that reads each request and never answers (hanging). One JsSIP client calls
// `echo` on the three in turn (round-robin, each round starting with the next case, so
// load drifts hit them alike) and times
// INVITE sent -> 200 received on its WebSocket (bench/call-setup/client.mjs). Every call
// is hung up at once, so each one queues a record for its gateway's webhook.
//
//   npx tsc -b && node bench/cdr-webhook/run.mjs [--calls 200] [--warmup 10]
//
// Prints medians, p95 and the ratios to the baseline; the results file is
// bench/results/cdr-webhook.md. Loopback only; everything it starts is stopped on exit.

import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNode, stopAll, freePort } from '../call-setup/procs.mjs';
import { clientTimes, startUa, stopUa, placeCall, hangUp } from '../call-setup/client.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({ options: { calls: { type: 'string', default: '200' }, warmup: { type: 'string', default: '10' } } });
const CALLS = Number(opt.calls);
const WARMUP = Number(opt.warmup);
const DOMAIN = 'bench.invalid';
const work = mkdtempSync(join(tmpdir(), 'cdr-webhook-'));

// The hanging receiver: reads the request, never answers, keeps the socket.
const hanging = createServer(() => undefined);
await new Promise((r) => hanging.listen(0, '127.0.0.1', r));
const hangingUrl = `http://127.0.0.1:${hanging.address().port}/cdr`;
const downUrl = `http://127.0.0.1:${await freePort()}/cdr`;

const cases = [
  { name: 'baseline (no webhook)', webhook: null, media: [36000, 36999] },
  { name: 'webhook down (connection refused)', webhook: downUrl, media: [37000, 37999] },
  { name: 'webhook hanging (accepts, never answers)', webhook: hangingUrl, media: [38000, 38999] },
];

try {
  for (const c of cases) {
    const cfg = join(work, `${c.media[0]}.yaml`);
    writeFileSync(cfg, [
      `domain: ${DOMAIN}`,
      'listeners: [{ protocol: ws, address: 127.0.0.1, port: 0 }, { protocol: udp, address: 127.0.0.1, port: 0 }]',
      'http: { port: 0, demo: false }',
      'admin: { port: 0, token: bench-admin-token-0123456789 }',
      `media: { portMin: ${c.media[0]}, portMax: ${c.media[1]}, workers: 1 }`,
      'auth: { required: false }',
      // One client places hundreds of calls a minute from loopback: a bench of call setup,
      // not of the flood and toll-fraud guards (issue 8), which would ban it.
      "security: { rateLimit: { exempt: ['127.0.0.0/8'] }, calls: { perUserPerMinute: 100000 } }",
      "routes: [{ match: '^echo$', internal: echo }]",
      `cdr: { file: ${join(work, `${c.media[0]}.jsonl`)}${c.webhook ? `, webhook: { url: "${c.webhook}", timeoutMs: 5000, backoffMs: 1000 }` : ''} }`,
      'logging: { level: warn }',
    ].join('\n'));
    const child = c.child = startNode(`gateway ${c.name}`, join(HERE, '../call-setup/gateway-proc.mjs'), [cfg]);
    const ready = await new Promise((resolve) => child.on('message', (m) => { if (m?.type === 'ready') resolve(m); }));
    const ws = ready.listening.find((p) => p.protocol === 'ws');
    c.ua = await startUa({ wsUrl: `ws://127.0.0.1:${ws.port}`, domain: DOMAIN });
    c.times = [];
  }
  for (let i = 0; i < WARMUP + CALLS; i++) {
    // Each round starts with the next case: whichever goes first after the previous
    // round's hang-ups is not always the same one.
    for (const c of [...cases.slice(i % cases.length), ...cases.slice(0, i % cases.length)]) {
      const { session, callId } = await placeCall(c.ua, `sip:echo@${DOMAIN}`);
      await hangUp(session);
      const t = clientTimes.get(callId);
      if (i >= WARMUP && t?.okAt !== undefined) c.times.push(t.okAt - t.inviteSentAt);
    }
  }
  const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  const base = q(cases[0].times, 0.5);
  const basep95 = q(cases[0].times, 0.95);
  console.log(`INVITE sent -> 200 received, ${CALLS} calls each after ${WARMUP} warm-up, load average ${loadavg()[0].toFixed(2)}`);
  console.log('| case | calls | median ms | p95 ms | median / baseline | p95 / baseline |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const c of cases) {
    const m = q(c.times, 0.5);
    const p = q(c.times, 0.95);
    console.log(`| ${c.name} | ${c.times.length} | ${m.toFixed(2)} | ${p.toFixed(2)} | ${(m / base).toFixed(3)} | ${(p / basep95).toFixed(3)} |`);
  }
  for (const c of cases) await stopUa(c.ua);
} catch (err) {
  // What each gateway logged (warnings and errors) says why a call did not complete.
  for (const c of cases) if (c.child) console.error(`--- gateway ${c.name}:\n${c.child.output.slice(-4000)}`);
  throw err;
} finally {
  await stopAll();
  hanging.closeAllConnections();
  hanging.close();
  rmSync(work, { recursive: true, force: true });
}
