// Failover bench with many live calls (issue 10, "Performance": "gap at most 1 s for
// 100 calls"). Results and the exact command: bench/results/failover.md.
//
//   node bench/failover/live.mjs [--calls 100] [--drills 3] [--ttl 1] [--renew 0.25]
//        [--out bench/out/failover-live.json]
//
// Each drill: nodes A and B (separate gateway processes on 127.0.10.51/.52, one media
// worker each) and a fresh redis-server; the load client (bench/loadclient: simulated
// browsers, each its own WebSocket, full ICE, DTLS in the addon, SRTP G.711 at 50
// packets/s each way) holds `--calls` calls to SIPp uas -rtp_echo through A; A is
// killed with SIGKILL. Per call, from its own SRTP arrivals: the gap (last packet
// before the kill to the first after), split into detection (kill -> B's takeover
// starts, one per drill) and restore (takeover start -> that call's first packet);
// SRTP packets it dropped after the kill (failed authentication or replay, RFC 3711
// §3.3.2: must be 0). Baseline: each call's longest silence in the second before the
// kill. Signalling is not exercised (the simulated browsers do not reconnect their
// WebSockets); the browser drills in npm test cover it. Needs `npx tsc -b` first.

import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { LoadClient } from '../loadclient/load.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { RedisServerProcess } = await import(join(root, 'libs/cluster/dist/index.js'));
const { GatewayNode } = await import(join(root, 'test/dist/cluster/nodes.js'));
const { CALLER, DOMAIN } = await import(join(root, 'test/dist/gateway/harness.js'));
const { startSipp, freePort } = await import(join(root, 'test/dist/sip/sipp.js'));

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '100' },
    drills: { type: 'string', default: '3' },
    ttl: { type: 'string', default: '1' },
    renew: { type: 'string', default: '0.25' },
    out: { type: 'string', default: 'bench/out/failover-live.json' },
  },
});
const CALLS = Number(args.calls);
const lease = { ttl: Number(args.ttl), renew: Number(args.renew) };
const A = '127.0.10.51';
const B = '127.0.10.52';
const REDIS_PORT = 13951;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (list, p) => { const s = [...list].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const spread = (list) => ({ median: pct(list, 50), p90: pct(list, 90), max: Math.max(...list) });

const redis = new RedisServerProcess({ port: REDIS_PORT });
const live = new Set();
async function cleanup() {
  for (const x of live) {
    if (typeof x.kill === 'function') await x.kill().catch(() => undefined);
    else await x.stop().catch(() => undefined);
  }
  live.clear();
  await redis.kill();
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

/** The calls' arrivals, stamped as the load client counts them (wrapping its receive). */
function watch(calls) {
  // gap: the longest silence after the kill, the last packet before it included, and
  // resumedAt the arrival that ended it (a packet A had on its way may come after the kill).
  const w = calls.map((rec) => ({ rec, last: 0, maxGapSince: 0, baseline: 0, gap: 0, resumedAt: 0, droppedAtKill: 0 }));
  let killedAt = Infinity;
  for (const c of w) {
    const m = c.rec.media;
    const receive = m.receive.bind(m);
    m.receive = (msg, from, port) => {
      const before = m.received;
      receive(msg, from, port);
      if (m.received === before) return;
      const now = Date.now();
      if (now < killedAt) {
        if (c.maxGapSince > 0 && now >= c.maxGapSince) c.baseline = Math.max(c.baseline, now - c.last);
      } else if (now - c.last > c.gap) {
        c.gap = now - c.last;
        c.resumedAt = now;
      }
      c.last = now;
    };
  }
  return {
    w,
    /** From now on arrivals count toward the baseline (the second before the kill). */
    baselineFrom(t) { for (const c of w) { c.maxGapSince = t; c.baseline = 0; } },
    kill(t) { killedAt = t; for (const c of w) c.droppedAtKill = c.rec.media.dropped; },
  };
}

async function drill(i) {
  await redis.kill();
  await redis.start();
  const trunkPort = await freePort();
  const sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', String(CALLS)], timeoutSec: 180 });
  live.add(sipp);
  // A hundred calls of one user from loopback: the toll-fraud and per-address guards lifted.
  const config = {
    security: { maxContactsPerAor: 20, calls: { perUser: CALLS + 10, perUserPerMinute: CALLS * 10 }, rateLimit: { exempt: ['127.0.0.0/8'] } },
    websocket: { exempt: ['127.0.0.0/8'] },
  };
  const ports = { min: 13600, max: 13600 + 4 * CALLS + 100 };
  const common = { redisUrl: redis.url, trunkPort, ports, lease, config, cluster: { browserReconnectWait: 1 } };
  const a = await GatewayNode.start({ ...common, name: 'a', address: A });
  live.add(a);
  const b = await GatewayNode.start({ ...common, name: 'b', address: B });
  live.add(b);
  const ws = await a.waitFor((e) => e.event === 'listening' && e.protocol === 'ws');
  const client = new LoadClient({
    server: { address: String(ws.address), port: Number(ws.port) }, domain: DOMAIN, user: CALLER.username, password: CALLER.password,
    number: '1000', browsers: CALLS, mediaAddress: '127.0.0.1', mediaPorts: { min: 30000, max: 30000 + 2 * CALLS + 100 },
  });
  try {
    await client.connect();
    const recs = await client.hold(CALLS, 20);
    const failed = recs.filter((r) => r.failure !== null || r.status !== 200);
    if (failed.length > 0) throw new Error(`${failed.length} of ${CALLS} calls failed: ${failed[0].failure ?? failed[0].status}`);
    for (const until = Date.now() + 20_000; recs.some((r) => r.media.received < 50) && Date.now() < until;) await sleep(100);
    if (recs.some((r) => r.media.received < 50)) throw new Error('not every call hears SIPp before the kill');
    const watcher = watch(recs);
    await sleep(2000);
    watcher.baselineFrom(Date.now());
    await sleep(1000);
    const killedAt = Date.now();
    watcher.kill(killedAt);
    await a.kill();
    live.delete(a);
    const t = await b.waitFor((e) => e.event === 'takeover', 15_000);
    // Resumed: heard again after B's takeover started.
    const takeoverStart = Number(t.at) - Number(t.ms);
    for (const until = Date.now() + 15_000; watcher.w.some((c) => c.last < takeoverStart) && Date.now() < until;) await sleep(50);
    await sleep(1000);
    const resumed = watcher.w.filter((c) => c.last >= takeoverStart);
    const result = {
      calls: CALLS, restored: Number(t.restored), resumed: resumed.length, takeoverMs: Number(t.ms), detectionMs: takeoverStart - killedAt,
      gapMs: spread(resumed.map((c) => c.gap)),
      restoreMs: spread(resumed.map((c) => c.resumedAt - takeoverStart)),
      baselineMs: spread(watcher.w.map((c) => c.baseline)),
      srtpDroppedAfterKill: watcher.w.reduce((n, c) => n + c.rec.media.dropped - c.droppedAtKill, 0),
      loadavg: loadavg()[0],
    };
    console.log(`drill ${i}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    clearInterval(client.ticker);
    for (const r of client.active) await r.media.close();
    for (const br of client.browsers) await br.close().catch(() => undefined);
    for (const x of [a, b]) { await x.kill(); live.delete(x); }
    await sipp.stop();
    live.delete(sipp);
  }
}

try {
  const drills = [];
  for (let i = 1; i <= Number(args.drills); i++) drills.push(await drill(i));
  const all = (k) => drills.map((d) => d[k]);
  const summary = {
    lease, calls: CALLS,
    gapMedianMs: spread(drills.map((d) => d.gapMs.median)), gapMaxMs: Math.max(...drills.map((d) => d.gapMs.max)),
    detectionMs: spread(all('detectionMs')), restoreMedianMs: spread(drills.map((d) => d.restoreMs.median)),
    restoreMaxMs: Math.max(...drills.map((d) => d.restoreMs.max)), takeoverMs: spread(all('takeoverMs')),
    resumed: `${all('resumed').reduce((x, y) => x + y, 0)} of ${CALLS * drills.length}`,
    srtpDroppedAfterKill: all('srtpDroppedAfterKill').reduce((x, y) => x + y, 0),
    drills,
  };
  console.log(JSON.stringify({ ...summary, drills: undefined }, null, 2));
  mkdirSync(dirname(join(root, args.out)), { recursive: true });
  writeFileSync(join(root, args.out), JSON.stringify(summary, null, 2));
} finally {
  await cleanup();
}
