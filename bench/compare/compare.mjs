#!/usr/bin/env node
// bench:compare (issue 12): trapezoid beside Kamailio + rtpengine, the same work for both,
// one invocation, every figure and every ratio from the same run. Each system is started
// in turn (phase by phase, the order alternating), routing browsers' calls to the same
// SIPp UAS (-rtp_echo); the load client (bench/loadclient) plays the browsers. Pinning:
// this process, SIPp and dumpcap on --client-cpus, the system under test on --sut-cpus.
//
//   npm run bench:compare            (installs the peers it needs, then this with defaults)
//   node bench/compare/compare.mjs [--systems trapezoid,kamailio] [--phases rate,concurrent,memory]
//        [--rates 50,100,...] [--step-s 10] [--concurrent 100,200,...] [--window-s 8]
//        [--memory-calls 1000] [--settle-s 35] [--out bench/results/compare.md] [--json FILE]
//
// Phases (each on a freshly started system):
//  rate        calls placed at each rate of the ladder for --step-s, held 1-2 s with G.711
//              both ways; the highest rate with 0 failed calls that the system kept up
//              with (median INVITE -> 200 under 50 ms), and there: INVITE -> 200,
//              200 -> first SRTP back, the system's CPU ms per call.
//  concurrent  calls added and held until RTP loss over a --window-s window reaches 0.1%;
//              then, at half the highest passing count, the added one-way latency on the
//              wire (latency.mjs).
//  memory      --memory-calls idle calls (DTLS done, consent kept, no RTP) added in two
//              halves; after GC and --settle-s (the setup transactions gone), the slope of
//              the memory readings per live call.
// GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the gateway process.
// Needs root (or capture rights on lo) for dumpcap; loopback only; never part of npm test.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus as cpuList, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, sleep, stopAll } from '../call-setup/procs.mjs';
import { LoadClient, summarize } from '../loadclient/load.mjs';
import { DOMAIN, USER, cpuSeconds, startKamailio, startSipp, startTrapezoid } from './systems.mjs';
import { analyzeLatency, startMediaCapture } from './latency.mjs';
import { writeReport } from './report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '../..');
const { values: opt } = parseArgs({
  options: {
    systems: { type: 'string', default: 'trapezoid,kamailio' },
    phases: { type: 'string', default: 'rate,concurrent,memory' },
    rates: { type: 'string', default: '40,60,80,100,120,140,160,200,240,280' },
    'step-s': { type: 'string', default: '8' },
    concurrent: { type: 'string', default: '100,200,300,400,500,600,800,1000' },
    'window-s': { type: 'string', default: '8' },
    'memory-calls': { type: 'string', default: '1000' },
    'settle-s': { type: 'string', default: '35' },
    profiles: { type: 'string', default: 'AES_CM_128_HMAC_SHA1_80' },
    'sut-cpus': { type: 'string', default: '1' },
    'client-cpus': { type: 'string', default: '0' },
    out: { type: 'string', default: join(REPO, 'bench/results/compare.md') },
    json: { type: 'string', default: join(REPO, 'bench/out/compare.json') },
    // Rewrites --out from a run saved by --json (its figures, this report's wording and NOTES.md); runs nothing.
    'from-json': { type: 'string' },
  },
});
if (opt['from-json']) {
  const { writeReport: write } = await import('./report.mjs');
  write(JSON.parse(readFileSync(opt['from-json'], 'utf8')), opt.out, readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'NOTES.md'), 'utf8'));
  process.stderr.write(`wrote ${opt.out} from ${opt['from-json']}\n`);
  process.exit(0);
}
const list = (s) => s.split(',').filter(Boolean);
const RATES = list(opt.rates).map(Number);
const STEP_S = Number(opt['step-s']);
const CONCURRENT = list(opt.concurrent).map(Number);
const WINDOW_S = Number(opt['window-s']);
const MEMORY_CALLS = Number(opt['memory-calls']);
const SETTLE_S = Number(opt['settle-s']);
const PROFILES = list(opt.profiles);
const WARMUP_RATE = 40;
const WARMUP_S = 5;
/** The memory phase adds its held calls at this rate; its warm-up holds half of them this long at it, then ends them. */
const MEMORY_RATE = 100;
const MEMORY_WARMUP_HOLD_S = 5;
/**
 * A rate is sustained when no call failed and the system kept up: SIPp answers at once, so
 * a median INVITE -> 200 above KEPT_UP_MS is a queue in front of a saturated system (its
 * calls do not fail, they wait).
 */
const KEPT_UP_MS = 50;
// Ports below the ephemeral range (32768+), disjoint: the browsers', the system's, SIPp's.
const CLIENT_MEDIA = { min: 10000, max: 19999 };
const SUT_MEDIA = { min: 20000, max: 29999 };
const SIPP_MEDIA = 30000;
const pinning = cpuList().length >= 2;
const SUT_CPUS = pinning ? opt['sut-cpus'] : null;
const CLIENT_CPUS = pinning ? opt['client-cpus'] : null;

const work = mkdtempSync(join(tmpdir(), 'compare-'));
const run = {
  command: `node bench/compare/compare.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(), machine: { nproc: cpuList().length, cpu: cpuList()[0]?.model, node: process.version },
  commit: gitCommit(), versions: versions(), pinning: pinning ? { sut: SUT_CPUS, client: CLIENT_CPUS } : null,
  options: { rates: RATES, stepS: STEP_S, concurrent: CONCURRENT, windowS: WINDOW_S, memoryCalls: MEMORY_CALLS, memoryRate: MEMORY_RATE, memoryWarmupHoldS: MEMORY_WARMUP_HOLD_S, settleS: SETTLE_S, profiles: PROFILES,
    warmup: `${WARMUP_RATE} calls/s for ${WARMUP_S} s, held 0.2-0.4 s`, keptUpMs: KEPT_UP_MS },
  phases: [],
};

function gitCommit() {
  try {
    const head = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} (with local changes)` : head;
  } catch { return 'unknown'; }
}

function versions() {
  // The first line naming a version, from stdout or stderr (sipp -v exits non-zero).
  const first = (cmd, args) => {
    // rtpengine prints its version on stderr and exits 0: read both streams either way.
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    return (text.split('\n').map((l) => l.trim()).find((l) => /version|v\d/i.test(l)) ?? 'unknown').replace(/\s+/g, ' ');
  };
  return { kamailio: first('kamailio', ['-v']), rtpengine: `rtpengine ${first('rtpengine', ['--version'])}`, sipp: first('sipp', ['-v']) };
}

function pinSelf() {
  if (CLIENT_CPUS) execFileSync('taskset', ['-a', '-c', '-p', CLIENT_CPUS, String(process.pid)], { stdio: 'ignore' });
}

/** Starts SIPp and the system on fresh ports, runs `fn`, stops both whatever happens. */
async function withSystem(name, fn) {
  const dir = join(work, `${name}-${run.phases.length}`);
  mkdirSync(dir, { recursive: true });
  const sippPort = await freePort();
  const sipp = await startSipp({ port: sippPort, controlPort: await freePort(), mediaPort: SIPP_MEDIA, cpus: CLIENT_CPUS, work: dir });
  const wsPort = await freePort();
  let sys = null;
  try {
    sys = name === 'trapezoid'
      ? await startTrapezoid({
        wsPort, udpPort: await freePort(), httpPort: await freePort(), sippPort, media: SUT_MEDIA, cpus: SUT_CPUS, work: dir,
        // e.g. GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" to profile the gateway (all its threads).
        nodeArgs: process.env.GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
      })
      : await startKamailio({ wsPort, udpPort: await freePort(), ngPort: await freePort(), sippPort, media: SUT_MEDIA, cpus: SUT_CPUS, work: dir });
    return await fn(sys, wsPort);
  } finally {
    await sys?.stop();
    const { stop } = await import('../call-setup/procs.mjs');
    await stop(sipp);
  }
}

function client(wsPort, browsers, sendMedia = true) {
  return new LoadClient({
    server: { address: '127.0.0.1', port: wsPort }, domain: DOMAIN, ...USER, number: '1000', browsers,
    mediaAddress: '127.0.0.1', mediaPorts: CLIENT_MEDIA, sendMedia, profiles: PROFILES,
  });
}

/** CPU of the system and of this process (the client) over `fn`. */
async function measured(sys, fn) {
  const cpu0 = cpuSeconds(sys.pids());
  const parts0 = sys.cpuParts();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(sys.pids()) - cpu0;
  const parts1 = sys.cpuParts();
  const parts = Object.fromEntries(Object.entries(parts1).map(([k, v]) => [k, v - (parts0[k] ?? 0)]));
  const c = process.cpuUsage(c0);
  return { result, wall, sutCpuS: cpu, sutCpuParts: parts, sutCpuPct: (100 * cpu) / wall, clientCpuPct: (100 * (c.user + c.system)) / 1e6 / wall };
}

const passes = (s) => s.failed === 0 && s.inviteTo200Ms.median !== null && s.inviteTo200Ms.median < KEPT_UP_MS;

async function ratePhase(name) {
  return withSystem(name, async (sys, wsPort) => {
    const maxRate = Math.max(...RATES);
    const c = client(wsPort, Math.ceil(maxRate * 2.4) + 20);
    await c.connect();
    // Warm-up, the same for both: trapezoid's JavaScript is compiled by V8 as it runs (a
    // gateway in service has long been through it); Kamailio's worker processes and
    // rtpengine's threads see their first calls.
    await c.runRate(WARMUP_RATE, WARMUP_S, [200, 400]);
    await sleep(1500);
    const steps = [];
    try {
      for (const rate of RATES) {
        const load = loadavg()[0];
        const m = await measured(sys, () => c.runRate(rate, STEP_S, [1000, 2000]));
        const s = summarize(m.result);
        const perCall = (sec) => (sec * 1000) / Math.max(1, s.attempted);
        steps.push({
          rate, load, ...s, cpuMsPerCall: perCall(m.sutCpuS), sutCpuPct: m.sutCpuPct, clientCpuPct: m.clientCpuPct,
          cpuMsPerCallByPart: Object.fromEntries(Object.entries(m.sutCpuParts).map(([k, v]) => [k, perCall(v)])),
        });
        process.stderr.write(`${name} rate ${rate}/s: ${s.completed}/${s.attempted} ok, INVITE->200 ${s.inviteTo200Ms.median?.toFixed(2)} ms, ` +
          `CPU ${((m.sutCpuS * 1000) / Math.max(1, s.attempted)).toFixed(2)} ms/call, client ${m.clientCpuPct.toFixed(0)}%\n`);
        steps.at(-1).passed = passes(steps.at(-1));
        // RATE_HEAP=1 (diagnosis only: it forces a GC between steps): what the calls just ended still hold.
        if (process.env.RATE_HEAP && sys.name === 'trapezoid') process.stderr.write(`  after the step, by part (KiB): ${JSON.stringify((await sys.settle()).breakdown)}\n`);
        // Two steps in a row not passed: the system is past its rate (one alone may be the
        // machine's other work).
        if (steps.length >= 2 && !steps.at(-1).passed && !steps.at(-2).passed) break;
        await sleep(1500);
      }
    } finally {
      await c.close();
    }
    const passing = steps.filter((s) => s.passed);
    return { steps, best: passing.at(-1) ?? null };
  });
}

async function concurrentPhase(name) {
  return withSystem(name, async (sys, wsPort) => {
    const maxN = Math.max(...CONCURRENT);
    const c = client(wsPort, maxN + 20);
    await c.connect();
    await c.runRate(20, 1, [200, 400]);
    const steps = [];
    let latency = null;
    try {
      for (const n of CONCURRENT) {
        const added = await c.hold(n - c.active.size, 100);
        const setupFailed = added.filter((r) => r.failure !== null || r.status !== 200).length;
        await sleep(3000);
        const before = c.receptionSnapshot();
        const load = loadavg()[0];
        const m = await measured(sys, () => sleep(WINDOW_S * 1000));
        const after = c.receptionSnapshot();
        let received = 0;
        let lost = 0;
        let noMedia = 0;
        for (const [rec, b] of before) {
          const a = after.get(rec);
          if (!a) continue;
          received += a.received - b.received;
          lost += a.lost - b.lost;
          if (a.received === b.received) noMedia++;
        }
        const lossPct = received + lost > 0 ? (100 * lost) / (received + lost) : 100;
        steps.push({ calls: c.active.size, load, setupFailed, received, lost, lossPct, noMedia, sutCpuPct: m.sutCpuPct, clientCpuPct: m.clientCpuPct });
        process.stderr.write(`${name} ${c.active.size} calls: loss ${lossPct.toFixed(3)}%, setup failures ${setupFailed}, system CPU ${m.sutCpuPct.toFixed(0)}%, client ${m.clientCpuPct.toFixed(0)}%\n`);
        if (setupFailed > 0 || noMedia > 0 || lossPct >= 0.1) break;
      }
      const passing = steps.filter((s) => s.setupFailed === 0 && s.noMedia === 0 && s.lossPct < 0.1);
      const capacity = passing.at(-1)?.calls ?? 0;
      if (capacity >= 2) {
        await c.hangUpSome(Math.floor(capacity / 2));
        await sleep(3000);
        const file = join(work, `${name}-latency.pcap`);
        const cap = await startMediaCapture(file, { clientPorts: CLIENT_MEDIA, trunkPort: SIPP_MEDIA, cpus: CLIENT_CPUS });
        await sleep(4000);
        await cap.stop();
        latency = { calls: c.active.size, ...analyzeLatency(file, { calls: [...c.active], clientPorts: CLIENT_MEDIA, trunkPort: SIPP_MEDIA }) };
        rmSync(file, { force: true });
      }
      return { steps, capacity, latency };
    } finally {
      await c.close();
    }
  });
}

/** Least-squares slope of bytes over calls. */
function slope(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.calls, 0) / n;
  const my = points.reduce((a, p) => a + p.bytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.calls - mx) * (p.bytes - my);
    den += (p.calls - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}

async function memoryPhase(name) {
  return withSystem(name, async (sys, wsPort) => {
    const c = client(wsPort, MEMORY_CALLS + 30, false);
    await c.connect();
    await c.runRate(20, 1, [200, 400]);
    const readings = [];
    const read = async (calls, fresh = false) => {
      await sleep(SETTLE_S * 1000);
      // trapezoid: GC forced in every thread first; both: RSS and PSS of all the system's processes.
      const both = await sys.settle();
      if (process.env.MEMORY_SNAPSHOT_DIR && sys.name === 'trapezoid') await sys.ask('snapshot');
      // The system's own count (trapezoid's live calls, rtpengine's): a call it ended
      // meanwhile (a media timeout) would make the slope count memory it no longer holds.
      const sutLiveCalls = both.counters?.liveCalls ?? both.liveCalls;
      if (sutLiveCalls !== undefined && sutLiveCalls !== c.active.size) {
        process.stderr.write(`${name} memory at ${calls} calls: the system holds ${sutLiveCalls} calls, the client ${c.active.size}\n`);
      }
      readings.push({ calls, liveCalls: c.active.size, sutLiveCalls, rss: both.rss, pss: both.pss, load: loadavg()[0], fresh, ...(both.breakdown ? { breakdown: both.breakdown } : {}) });
      if (both.breakdown) process.stderr.write(`${name} memory at ${calls} calls${fresh ? ' (fresh)' : ''}, by part (KiB): ${JSON.stringify(both.breakdown)}\n`);
      process.stderr.write(`${name} memory at ${calls} calls${fresh ? ' (fresh)' : ''}: RSS ${(both.rss / 1048576).toFixed(1)} MiB, PSS ${(both.pss / 1048576).toFixed(1)} MiB\n`);
    };
    let failed = 0;
    try {
      // The fresh process's reading is kept for the report, outside the slope. Then the same
      // warm-up for both: half the calls set up at the rate the held calls are added
      // (MEMORY_RATE), held a few seconds and ended, so each system's one-time growth is
      // behind it before the first reading of the slope: V8 sizes its young generations to
      // what survives (held calls) and compiles its code, Kamailio's and rtpengine's pools
      // are touched once and kept. The slope's second half goes past the warm-up's count,
      // onto memory no call used before. What the slope measures is what one more live call costs.
      await read(0, true);
      const warm = await c.hold(Math.round(MEMORY_CALLS / 2), MEMORY_RATE);
      failed += warm.filter((r) => r.failure !== null || r.status !== 200).length;
      await sleep(MEMORY_WARMUP_HOLD_S * 1000);
      await c.hangUpAll();
      await read(0);
      for (const target of [MEMORY_CALLS / 2, MEMORY_CALLS].map(Math.round)) {
        const added = await c.hold(target - c.active.size, MEMORY_RATE);
        failed += added.filter((r) => r.failure !== null || r.status !== 200).length;
        await read(target);
      }
    } finally {
      await c.close();
    }
    const held = readings.filter((r) => !r.fresh);
    const per = (k) => slope(held.map((r) => ({ calls: r.liveCalls, bytes: r[k] })));
    const upper = (k) => slope(held.filter((r) => r.calls >= MEMORY_CALLS / 2).map((r) => ({ calls: r.liveCalls, bytes: r[k] })));
    const fresh = readings.find((r) => r.fresh);
    const last = held[held.length - 1];
    const rssFromFresh = fresh && last && last.liveCalls > 0 ? (last.rss - fresh.rss) / last.liveCalls : undefined;
    return { readings, failed, rssPerCall: per('rss'), pssPerCall: per('pss'), rssPerCallUpper: upper('rss'), pssPerCallUpper: upper('pss'), rssFromFresh };
  });
}

const PHASES = { rate: ratePhase, concurrent: concurrentPhase, memory: memoryPhase };

try {
  pinSelf();
  const systems = list(opt.systems);
  let order = systems;
  for (const phase of list(opt.phases)) {
    for (const name of order) {
      const loadBefore = loadavg();
      const t0 = Date.now();
      let result;
      try {
        result = await PHASES[phase](name);
      } catch (err) {
        result = { error: String(err.stack ?? err) };
        process.stderr.write(`${name} ${phase} failed: ${result.error}\n`);
      }
      run.phases.push({ phase, system: name, loadBefore, loadAfter: loadavg(), seconds: (Date.now() - t0) / 1000, ...result });
      await sleep(2000);
    }
    order = [...order].reverse();
  }
  mkdirSync(dirname(opt.json), { recursive: true });
  writeFileSync(opt.json, JSON.stringify(run, null, 2));
  writeReport(run, opt.out, readFileSync(join(HERE, 'NOTES.md'), 'utf8'));
  process.stderr.write(`wrote ${opt.out} and ${opt.json}\n`);
} finally {
  await stopAll();
  if (!process.env.KEEP_WORK) rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
