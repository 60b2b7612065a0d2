// Failover bench (issue 10, "Performance"). Results and the exact commands:
// bench/results/failover.md.
//
//   node bench/failover/run.mjs [--drills 20] [--takeover 1,100,1000] [--hold-s 30]
//        [--ttl 1] [--renew 0.25] [--out bench/out/failover.json]
//
// 1. Media gap: `--drills` times, nodes A and B (separate processes, loopback addresses
//    127.0.10.41/.42), one call from JsSIP + werift (in this process) to SIPp uas
//    -rtp_echo through A; A is killed with SIGKILL; the gap is the longest silence the
//    caller hears after the kill, split into detection (kill -> B's takeover starts)
//    and restore (takeover start -> first packet heard). Baseline, same call, same
//    process: the longest silence in the second before the kill (the path's own jitter).
// 2. Takeover time for 1, 100 and 1,000 calls: records cloned from a real call's record
//    (unique ids, tags and ports) written under a node that never renews its lease; B
//    takes them over; reported: its takeover time and legs restored per second.
// 3. Redis writes per call and bytes per record: one real call held `--hold-s` seconds
//    (default checkpoint interval, 5 s), its record's size while live and its version
//    (one per accepted write) once ended.
// Loopback only, every process stopped on every exit path. Needs `npx tsc -b` first.

import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { RedisServerProcess, RedisStore, encodeCallRecord } = await import(join(root, 'libs/cluster/dist/index.js'));
const { GatewayNode } = await import(join(root, 'test/dist/cluster/nodes.js'));
const { NodeCaller } = await import(join(root, 'test/dist/cluster/node-caller.js'));
const { setMediaAddress } = await import(join(root, 'test/dist/sip/jssip-node.js'));
const { startSipp, freePort } = await import(join(root, 'test/dist/sip/sipp.js'));

const { values: args } = parseArgs({
  options: {
    drills: { type: 'string', default: '20' },
    takeover: { type: 'string', default: '1,100,1000' },
    'hold-s': { type: 'string', default: '30' },
    ttl: { type: 'string', default: '1' },
    renew: { type: 'string', default: '0.25' },
    out: { type: 'string', default: 'bench/out/failover.json' },
  },
});
const lease = { ttl: Number(args.ttl), renew: Number(args.renew) };
const A = '127.0.10.41';
const B = '127.0.10.42';
const DEAD = '127.0.10.43';
const REDIS_PORT = 13950;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (list, p) => { const s = [...list].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const median = (list) => pct(list, 50);

const redis = new RedisServerProcess({ port: REDIS_PORT });
const live = new Set();
async function cleanup() {
  for (const x of live) {
    if (typeof x.kill === 'function') await x.kill().catch(() => undefined);
    else await x.stop().catch(() => undefined);
  }
  await redis.kill();
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

/** A fresh, empty Redis (no persistence): nothing left from the last round's dead nodes. */
async function freshRedis() {
  await redis.kill();
  await redis.start();
}

async function nodes(trunkPort, extra = {}) {
  const common = { redisUrl: redis.url, trunkPort, ports: { min: 13600, max: 13799 }, lease, ...extra };
  const a = await GatewayNode.start({ ...common, name: 'a', address: A });
  live.add(a);
  const b = await GatewayNode.start({ ...common, name: 'b', address: B, ports: { min: 13600, max: 15999 } });
  live.add(b);
  return { a, b };
}

async function wsUrl(node) {
  const ws = await node.waitFor((e) => e.event === 'listening' && e.protocol === 'ws');
  return `ws://${ws.address}:${ws.port}`;
}

/** One kill -9 drill: the caller's longest silence, split. */
async function drill() {
  await freshRedis();
  const trunkPort = await freePort();
  const sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', '1'], timeoutSec: 60 });
  live.add(sipp);
  const { a, b } = await nodes(trunkPort);
  const caller = await NodeCaller.register(await wsUrl(a));
  try {
    await caller.call('1000');
    await caller.receives(50);
    await sleep(2000);
    const baseline = caller.longestGap(Date.now() - 1000).gapMs;
    const killedAt = Date.now();
    await a.kill();
    const t = await b.waitFor((e) => e.event === 'takeover', 15_000);
    await caller.receives(50, 15_000);
    const { gapMs, endedAt } = caller.longestGap(killedAt - 100);
    const takeoverStart = Number(t.at) - Number(t.ms);
    return { gapMs, detectionMs: takeoverStart - killedAt, restoreMs: endedAt - takeoverStart, takeoverMs: Number(t.ms), baselineMs: baseline };
  } finally {
    await caller.stop();
    for (const x of [a, b]) { await x.kill(); live.delete(x); }
    await sipp.stop();
    live.delete(sipp);
  }
}

/** One real call's record (for cloning) and the writes/bytes figures. */
async function recordFigures(holdS) {
  const trunkPort = await freePort();
  const sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', '1'], timeoutSec: holdS + 60 });
  live.add(sipp);
  const { a, b } = await nodes(trunkPort, { checkpointInterval: 5 });
  const owner = String((await a.waitFor((e) => e.event === 'cluster-joined')).owner);
  const store = await RedisStore.connect({ url: redis.url });
  const caller = await NodeCaller.register(await wsUrl(a));
  try {
    await caller.call('1000');
    await caller.receives(50);
    await sleep(holdS * 1000);
    const [id] = await store.owned(owner);
    const record = await store.get(id);
    const bytes = encodeCallRecord(record).length;
    const mediaBytes = JSON.stringify(record.media).length;
    await caller.hangUp();
    let ended = await store.get(id);
    for (const until = Date.now() + 5000; ended?.state !== 'ended' && Date.now() < until; await sleep(100)) ended = await store.get(id);
    return { record, bytes, mediaBytes, writes: ended.version, holdS };
  } finally {
    await caller.stop();
    await store.close();
    for (const x of [a, b]) { await x.kill(); live.delete(x); }
    await sipp.stop();
    live.delete(sipp);
  }
}

/** n clones of `template` owned by a node that stops renewing; B takes them over. */
async function takeover(template, n) {
  await freshRedis();
  const trunkPort = await freePort();
  const store = await RedisStore.connect({ url: redis.url });
  const deadInfo = {
    node: 'dead', owner: `dead#${randomBytes(4).toString('hex')}`, serviceAddress: DEAD, startedAt: Date.now(),
    listeners: [{ protocol: 'udp', address: DEAD, port: await freePort() }, { protocol: 'ws', address: DEAD, port: await freePort() }],
  };
  const deadLease = await store.acquireLease(deadInfo, 60_000);
  for (let i = 0; i < n; i++) {
    const r = JSON.parse(JSON.stringify(template));
    r.id = `bench-${i}-${randomBytes(3).toString('hex')}`;
    r.owner = deadInfo.owner;
    r.version = 1;
    r.serviceAddress = DEAD;
    const suffix = `-${i}`;
    for (const side of ['a', 'b']) {
      const d = r[side].dialog;
      d.callId += suffix;
      d.localTag += suffix;
      d.localAddress = DEAD;
    }
    r.media.id = `${r.id}-media`;
    r.media.legs[0].port = 14000 + 4 * i;
    r.media.legs[1].port = 14000 + 4 * i + 2;
    for (const l of r.media.legs) { l.address = DEAD; if ('advertisedAddress' in l) l.advertisedAddress = DEAD; }
    r.mediaAt = Date.now();
    const put = await store.put(r, deadLease, 60_000);
    if (!put.ok) throw new Error(`cannot store clone ${i}: ${JSON.stringify(put)}`);
  }
  // The dead node stops renewing: its lease lapses after a second.
  await store.acquireLease(deadInfo, 1000).then(() => undefined);
  const b = await GatewayNode.start({
    redisUrl: redis.url, trunkPort, ports: { min: 13600, max: 29999 }, lease, name: 'b', address: B, cluster: { browserReconnectWait: 1 },
  });
  live.add(b);
  try {
    const t = await b.waitFor((e) => e.event === 'takeover' && e.node === deadInfo.owner, 120_000);
    if (Number(t.calls) !== n) throw new Error(`B took over ${t.calls} calls of ${n}: ${JSON.stringify(b.events.filter((e) => String(e.event).startsWith('takeover')))}`);
    return { calls: n, restored: Number(t.restored), takeoverMs: Number(t.ms), legsPerSecond: Math.round((2 * Number(t.restored)) / (Number(t.ms) / 1000)) };
  } finally {
    await b.kill();
    live.delete(b);
    await store.close();
  }
}

try {
  await redis.start();
  setMediaAddress('127.0.0.1');
  const figures = await recordFigures(Number(args['hold-s']));
  console.log(`record: ${figures.bytes} bytes (media state ${figures.mediaBytes}); ${figures.writes} writes over a ${figures.holdS} s call`);
  const drills = [];
  for (let i = 0; i < Number(args.drills); i++) {
    const d = await drill();
    drills.push(d);
    console.log(`drill ${i + 1}: gap ${d.gapMs} ms (detection ${d.detectionMs}, restore ${d.restoreMs}; takeover ${d.takeoverMs}); baseline max gap ${d.baselineMs} ms`);
  }
  const takeovers = [];
  for (const n of args.takeover.split(',').map(Number)) {
    const t = await takeover(figures.record, n);
    takeovers.push(t);
    console.log(`takeover of ${n}: ${t.restored} restored in ${t.takeoverMs} ms (${t.legsPerSecond} legs/s)`);
  }
  const summary = {
    lease, loadavg: loadavg(),
    gap: { median: median(drills.map((d) => d.gapMs)), max: Math.max(...drills.map((d) => d.gapMs)) },
    detection: { median: median(drills.map((d) => d.detectionMs)), max: Math.max(...drills.map((d) => d.detectionMs)) },
    restore: { median: median(drills.map((d) => d.restoreMs)), max: Math.max(...drills.map((d) => d.restoreMs)) },
    baseline: { median: median(drills.map((d) => d.baselineMs)), max: Math.max(...drills.map((d) => d.baselineMs)) },
    record: { bytes: figures.bytes, mediaBytes: figures.mediaBytes, writes: figures.writes, holdS: figures.holdS },
    takeovers, drills,
  };
  console.log(JSON.stringify({ ...summary, drills: undefined }, null, 2));
  mkdirSync(dirname(join(root, args.out)), { recursive: true });
  writeFileSync(join(root, args.out), JSON.stringify(summary, null, 2));
} finally {
  await cleanup();
}
