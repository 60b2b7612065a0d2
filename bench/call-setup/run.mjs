// Call-setup bench (issue 4, "Performance"): browser -> SIPp trunk calls through
// trapezoid and through the 2013 reference design (Kamailio + rtpengine).
// Results and the exact commands: bench/results/call-setup.md.
//
//   node bench/call-setup/run.mjs [--systems trapezoid,kamailio,trapezoid-memory]
//        [--calls 100] [--warmup 5] [--hold-ms 200] [--media-ms 0] [--auth]
//        [--memory 50,100] [--settle-s 35] [--out bench/out/call-setup.json]
//
// Per system: SIPp uas (-rtp_echo) on a free loopback port; dumpcap on lo records the
// SIP of the system's WebSocket port and SIPp's port; one JsSIP UA in this process
// (werift peer connections) places `--calls` sequential calls (INVITE, 200, ACK, hold or
// media, BYE). Reported: INVITE in -> 200 out on the WebSocket at the wire (server side),
// its split around the trunk leg, INVITE sent -> 200 received as the client saw it, and
// the server processes' CPU per call. `trapezoid-memory`: a fresh gateway process (GC
// forced) read at 0 and at each --memory level of concurrent calls, DTLS connected.
// Everything started here is stopped on every exit path (procs.mjs). Loopback only.
// Needs `npx tsc -b` first and capture rights on lo (root) for dumpcap.

import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync, openSync, closeSync, readdirSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'node:net';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { start, startNode, stop, stopAll, adopt, waitFor, freePort, freeMediaPort, sleep } from './procs.mjs';
import { startCapture, readSip, setupTimes } from './capture.mjs';
import { clientTimes, startUa, stopUa, placeCall, waitConnected, sendAudio, hangUp } from './client.mjs';
import { startRtpengine } from '../media/rtpengine.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '../..');
const { values: opt } = parseArgs({
  options: {
    calls: { type: 'string', default: '100' },
    systems: { type: 'string', default: 'trapezoid,kamailio,trapezoid-memory' },
    memory: { type: 'string', default: '50,100' },
    'media-ms': { type: 'string', default: '0' },
    'hold-ms': { type: 'string', default: '200' },
    'settle-s': { type: 'string', default: '35' },
    warmup: { type: 'string', default: '5' },
    auth: { type: 'boolean', default: false },
    out: { type: 'string', default: join(REPO, 'bench/out/call-setup.json') },
  },
});
const CALLS = Number(opt.calls);
const MEDIA_MS = Number(opt['media-ms']);
const WARMUP = Number(opt.warmup);
// Time between the call being confirmed and the BYE when no media is sent. Not 0: a BYE
// right behind the ACK can leave the call up in the gateway (see results file).
const HOLD_MS = Number(opt['hold-ms']);
const SETTLE_S = Number(opt['settle-s']);
const MEMORY_LEVELS = opt.memory ? opt.memory.split(',').filter(Boolean).map(Number) : [];
const DOMAIN = 'bench.invalid';
const CALLER = { user: 'alice', password: 'alice-secret' };
// Port ranges no other bench or test of the repository uses (SIPp media: 35000-35999).
const GATEWAY_MEDIA = { min: 33000, max: 33999 };
const RTPENGINE_MEDIA = { min: 34000, max: 34999 };

const work = mkdtempSync(join(tmpdir(), 'call-setup-'));
const results = {
  date: new Date().toISOString(), nproc: cpus().length, cpu: cpus()[0]?.model, node: process.version,
  calls: CALLS, warmup: WARMUP, mediaMs: MEDIA_MS, holdMs: Number(opt['hold-ms']), auth: opt.auth, systems: {},
};

function stats(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0 };
  const q = (p) => v[Math.min(v.length - 1, Math.ceil(p * v.length) - 1)];
  return { n: v.length, median: q(0.5), p95: q(0.95), min: v[0], max: v.at(-1), mean: v.reduce((a, b) => a + b, 0) / v.length };
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function startSipp(port) {
  const mediaPort = await freeMediaPort();
  const cp = await freePort();
  const child = start('sipp', 'sipp', [
    '-sf', join(HERE, 'uas-rr.xml'), '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mediaPort),
    '-cp', String(cp), '-rtp_echo', '-nostdin', '-trace_err', '-error_file', join(work, `sipp-${port}-errors.log`),
  ], { cwd: work });
  await sleep(300);
  if (child.exitCode !== null) throw new Error(`sipp exited: ${child.output}`);
  return child;
}

/** The timed part, identical for both systems: sequential calls from one JsSIP UA. */
/** CPU seconds (user + system) used so far by these processes (/proc/PID/stat, 100 Hz ticks). */
function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after "(comm)": state is [0], utime [11], stime [12] (proc(5) fields 14, 15).
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* exited */ }
  }
  return ticks / 100;
}

/** The pids of a process group (Kamailio's main process and its workers). */
function groupPids(pgid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[2]) === pgid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

async function sequentialCalls(name, wsUrl, sippPort, wsPort, serverPids) {
  const pcap = join(work, `${name}.pcapng`);
  // Capture from before the WebSocket opens: tshark needs the HTTP upgrade to decode SIP.
  const capture = await startCapture(pcap, { wsPort, sippPort });
  let ua = null;
  const measured = [];
  const failures = [];
  const mediaConnected = [];
  let cpuBefore = 0;
  let cpuAfter = 0;
  let cpuT0 = 0;
  let cpuSeconds_ = 0;
  let idleCpuMsPerS = 0;
  try {
    ua = await startUa({ wsUrl, domain: DOMAIN, user: CALLER.user, ...(opt.auth ? { password: CALLER.password } : {}) });
    for (let i = 0; i < WARMUP; i++) {
      const c = await placeCall(ua, `sip:1000@${DOMAIN}`);
      await sleep(HOLD_MS);
      await hangUp(c.session);
      await sleep(100);
    }
    await sleep(5000);
    // Idle CPU of the server processes over 3 s (5 s after the warm-up calls), to
    // subtract from the per-call figure.
    const idle0 = cpuSeconds(serverPids());
    await sleep(3000);
    idleCpuMsPerS = (cpuSeconds(serverPids()) - idle0) * 1000 / 3;
    cpuBefore = cpuSeconds(serverPids());
    cpuT0 = performance.now();
    for (let i = 0; i < CALLS; i++) {
      try {
        const c = await placeCall(ua, `sip:${1000 + i}@${DOMAIN}`);
        measured.push(c.callId);
        if (MEDIA_MS > 0) {
          mediaConnected.push(await waitConnected(c.pc, 5000));
          await sendAudio(c.pc, MEDIA_MS);
        } else {
          await sleep(HOLD_MS);
        }
        await hangUp(c.session);
      } catch (err) {
        failures.push(String(err.message ?? err));
      }
      await sleep(100);
    }
    await sleep(1000);
    cpuAfter = cpuSeconds(serverPids());
    cpuSeconds_ = (performance.now() - cpuT0) / 1000;
  } finally {
    await sleep(500);
    await stopUa(ua);
    await capture.stop();
  }
  const ids = new Set(measured);
  const wire = setupTimes(await readSip(pcap, { wsPort, sippPort })).filter((w) => ids.has(w.callId));
  const client = measured.map((id) => clientTimes.get(id)).filter((t) => t?.okAt !== undefined).map((t) => t.okAt - t.inviteSentAt);
  return {
    attempted: CALLS, answered: measured.length, failures: failures.slice(0, 5), failureCount: failures.length,
    ...(MEDIA_MS > 0 ? { mediaConnected: mediaConnected.filter(Boolean).length } : {}),
    serverInviteTo200: stats(wire.filter((w) => w.ok).map((w) => w.setupMs)),
    gatewayToTrunk: stats(wire.map((w) => w.toTrunkMs)),
    trunkAnswer: stats(wire.map((w) => w.trunkMs)),
    trunk200ToBrowser200: stats(wire.map((w) => w.toBrowserMs)),
    wireCalls: wire.length,
    // Whole calls (INVITE .. BYE and its 200), server processes only (not SIPp, not the client).
    // CPU clock ticks are 10 ms: over 100 calls the resolution is 0.1 ms per call.
    serverCpuMsPerCall: ((cpuAfter - cpuBefore) * 1000) / Math.max(1, measured.length),
    serverIdleCpuMsPerS: idleCpuMsPerS,
    serverCpuMsPerCallMinusIdle: ((cpuAfter - cpuBefore) * 1000 - idleCpuMsPerS * cpuSeconds_) / Math.max(1, measured.length),
    clientInviteTo200: stats(client),
  };
}

function gatewayConfig({ wsPort, udpPort, httpPort, sippPort }) {
  return {
    domain: DOMAIN,
    listeners: [{ protocol: 'ws', address: '127.0.0.1', port: wsPort }, { protocol: 'udp', address: '127.0.0.1', port: udpPort }],
    http: { address: '127.0.0.1', port: httpPort, demo: false },
    media: { address: '127.0.0.1', portMin: GATEWAY_MEDIA.min, portMax: GATEWAY_MEDIA.max },
    trunks: [{ name: 'sipp', address: '127.0.0.1', port: sippPort, codecs: ['PCMU', 'PCMA', 'telephone-event/8000'], answerTimeout: 20 }],
    routes: [{ match: '^\\d+$', trunk: 'sipp' }],
    auth: { required: opt.auth },
    // One user places every call from loopback: a bench of call setup, not of the toll-fraud
    // and flood guards (issue 8), which would refuse it after a few calls.
    users: [{ username: CALLER.user, password: CALLER.password, maxCalls: 100_000, callsPerMinute: 10_000_000 }],
    security: { rateLimit: { exempt: ['127.0.0.0/8'] } },
    websocket: { exempt: ['127.0.0.0/8'] },
    logging: { level: 'info' },
  };
}

function ask(child, type) {
  return new Promise((resolve, reject) => {
    const id = Math.random();
    const t = setTimeout(() => reject(new Error(`gateway did not answer ${type}`)), 10000);
    const on = (m) => { if (m?.id === id) { clearTimeout(t); child.off('message', on); resolve(m); } };
    child.on('message', on);
    child.send({ type, id });
  });
}

/** Median of three readings (each after a forced GC): RSS moves as V8 returns pages lazily. */
async function memoryAt(gw, n) {
  const reads = [];
  for (let i = 0; i < 3; i++) {
    const m = await ask(gw, 'memory');
    const vmRss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gw.pid}/status`, 'utf8'))[1]) * 1024;
    reads.push({ ...m, rss: vmRss });
    await sleep(500);
  }
  const med = (k) => reads.map((r) => r[k]).sort((a, b) => a - b)[1];
  const last = reads.at(-1);
  return {
    calls: n, liveCalls: last.counters.liveCalls, portsInUse: last.counters.portsInUse, transactions: last.counters.transactions,
    rss: med('rss'), heapUsed: med('heapUsed'), external: med('external'), arrayBuffers: med('arrayBuffers'),
    rssReads: reads.map((r) => r.rss),
  };
}

function pcStates(live) {
  const h = {};
  for (const c of live) { const k = `${c.pc.iceConnectionState}/${c.pc.connectionState}`; h[k] = (h[k] ?? 0) + 1; }
  return h;
}

/**
 * Holds 0, then each level of concurrent calls and reads the gateway's memory after a
 * forced GC. Calls are added in batches of 5, each batch waited for until its DTLS is
 * connected (SRTP contexts exist). Samples are taken SETTLE_S after the last call
 * setup, when the setup transactions (Timer M/J/K, up to 32 s at T1 = 500 ms) are gone
 * and only the live calls remain.
 */
async function memoryPerCall(gw, wsUrl) {
  const ua = await startUa({ wsUrl, domain: DOMAIN, user: CALLER.user, ...(opt.auth ? { password: CALLER.password } : {}) });
  const live = [];
  const samples = [];
  const connectMs = [];
  try {
    for (let i = 0; i < WARMUP; i++) {
      const c = await placeCall(ua, `sip:4000@${DOMAIN}`);
      await waitConnected(c.pc, 10000);
      await hangUp(c.session);
    }
    await sleep(SETTLE_S * 1000);
    samples.push(await memoryAt(gw, 0));
    for (const level of MEMORY_LEVELS) {
      while (live.length < level) {
        const batch = Math.min(5, level - live.length);
        const t0 = performance.now();
        const placed = await Promise.allSettled(Array.from({ length: batch }, (_, i) => placeCall(ua, `sip:${5000 + live.length + i}@${DOMAIN}`)));
        const ok = placed.filter((p) => p.status === 'fulfilled').map((p) => p.value);
        live.push(...ok);
        if (ok.length < batch) throw new Error(`call failed while filling to ${level}: ${placed.find((p) => p.status === 'rejected').reason}`);
        await Promise.all(ok.map(async (c) => { if (await waitConnected(c.pc, 10000)) connectMs.push(performance.now() - t0); }));
      }
      await sleep(SETTLE_S * 1000);
      samples.push({ ...(await memoryAt(gw, level)), peerConnections: pcStates(live) });
    }
    await Promise.allSettled(live.map((c) => hangUp(c.session)));
    live.length = 0;
    await sleep(SETTLE_S * 1000);
    samples.push({ ...(await memoryAt(gw, 0)), after: 'all hung up' });
  } finally {
    await Promise.allSettled(live.map((c) => hangUp(c.session)));
    await stopUa(ua);
  }
  const base = samples[0];
  return {
    samples: samples.map((s) => ({
      ...s,
      ...(s.calls > 0 ? { rssPerCallKiB: (s.rss - base.rss) / s.calls / 1024, heapPerCallKiB: (s.heapUsed - base.heapUsed) / s.calls / 1024 } : {}),
    })),
    // From placing a batch of 5 calls to each call's peer connection reaching 'connected'.
    batchToConnectedMs: stats(connectMs),
  };
}

/** A fresh gateway process (gateway-proc.mjs) in front of a fresh SIPp trunk. */
async function startTrapezoid(tag) {
  const [wsPort, udpPort, httpPort, sippPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sipp = await startSipp(sippPort);
  const cfg = join(work, `gateway-${tag}.yaml`);
  writeFileSync(cfg, JSON.stringify(gatewayConfig({ wsPort, udpPort, httpPort, sippPort }), null, 2));
  const logFile = join(work, `gateway-${tag}.log`);
  const logFd = openSync(logFile, 'w');
  const gw = startNode('gateway', join(HERE, 'gateway-proc.mjs'), [cfg], { execArgv: ['--expose-gc', ...(process.env.GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [])], stdio: ['ignore', logFd, logFd, 'ipc'] });
  closeSync(logFd);
  const stopBoth = async () => {
    if (gw.connected) gw.send({ type: 'stop' });
    // A profiled gateway (GATEWAY_NODE_ARGS=--cpu-prof) needs time to write its profiles.
    await stop(gw, process.env.GATEWAY_NODE_ARGS ? 30000 : 5000);
    await stop(sipp);
  };
  try {
    await new Promise((resolve, reject) => {
      gw.once('message', (m) => (m?.type === 'ready' ? resolve() : reject(new Error('unexpected message'))));
      gw.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${readFileSync(logFile, 'utf8').slice(-2000)}`)));
    });
  } catch (err) {
    await stopBoth();
    throw err;
  }
  return { gw, sipp, wsPort, sippPort, logFile, wsUrl: `ws://127.0.0.1:${wsPort}`, stop: stopBoth };
}

async function runTrapezoid() {
  const t = await startTrapezoid('timing');
  try {
    const r = await sequentialCalls('trapezoid', t.wsUrl, t.sippPort, t.wsPort, () => [t.gw.pid]);
    r.logSetup = logTimes(readFileSync(t.logFile, 'utf8'));
    await sleep(1000);
    r.countersAfterSequential = (await ask(t.gw, 'counters')).counters;
    return r;
  } finally {
    await t.stop();
  }
}

/** Memory per live call, in a gateway process of its own that ran only the warm-up calls. */
async function runTrapezoidMemory() {
  const t = await startTrapezoid('memory');
  try {
    const memory = await memoryPerCall(t.gw, t.wsUrl);
    return { memory, finalCounters: (await ask(t.gw, 'counters')).counters };
  } finally {
    await t.stop();
  }
}

/** The gateway's own log: call-started -> call-answered (after the ACK), in ms (log resolution 1 ms). */
function logTimes(text) {
  const started = new Map();
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let e;
    try { e = JSON.parse(line); } catch { continue; }
    if (e.event === 'call-started') started.set(e.callId, Date.parse(e.timestamp));
    else if (e.event === 'call-answered' && started.has(e.callId)) out.push(Date.parse(e.timestamp) - started.get(e.callId));
  }
  return { startedToAnsweredMs: stats(out) };
}

async function runKamailio() {
  const [wsPort, udpPort, sippPort, ngPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sipp = await startSipp(sippPort);
  let rtpengine = null;
  let kamailio = null;
  try {
    rtpengine = await startRtpengine({ ngPort, portMin: RTPENGINE_MEDIA.min, portMax: RTPENGINE_MEDIA.max, threads: 2 });
    adopt(rtpengine.child, 'rtpengine');
    const cfg = readFileSync(join(HERE, 'kamailio.cfg.tpl'), 'utf8')
      .replaceAll('@UDP_PORT@', String(udpPort)).replaceAll('@WS_PORT@', String(wsPort))
      .replaceAll('@NG_PORT@', String(ngPort)).replaceAll('@SIPP_PORT@', String(sippPort));
    const cfgFile = join(work, 'kamailio.cfg');
    writeFileSync(cfgFile, cfg);
    mkdirSync(join(work, 'kamailio-run'));
    kamailio = start('kamailio', 'kamailio', ['-DD', '-E', '-f', cfgFile, '-Y', join(work, 'kamailio-run'), '-P', join(work, 'kamailio.pid'), '-w', work, '-m', '64', '-M', '8'], { group: true });
    await waitFor(async () => kamailio.exitCode === null && await tcpOpen(wsPort), 10000, `kamailio on ${wsPort}`).catch((err) => {
      throw new Error(`${err.message}: ${kamailio.output.slice(-3000)}`);
    });
    const r = await sequentialCalls('kamailio', `ws://127.0.0.1:${wsPort}`, sippPort, wsPort, () => [...groupPids(kamailio.pid), rtpengine.child.pid]);
    r.kamailioLog = kamailio.output.split('\n').filter((l) => /ERROR|CRITICAL/.test(l)).slice(-10);
    return r;
  } finally {
    await stop(kamailio);
    if (rtpengine) { rtpengine.ng.close(); await stop(rtpengine.child); }
    await stop(sipp);
  }
}

try {
  results.loadavgBefore = loadavg();
  for (const system of opt.systems.split(',')) {
    const t0 = Date.now();
    try {
      results.systems[system] = system === 'trapezoid' ? await runTrapezoid()
        : system === 'trapezoid-memory' ? await runTrapezoidMemory() : await runKamailio();
    } catch (err) {
      results.systems[system] = { error: String(err.stack ?? err) };
    }
    results.systems[system].seconds = (Date.now() - t0) / 1000;
    results.systems[system].loadavgAfter = loadavg();
  }
  mkdirSync(dirname(opt.out), { recursive: true });
  writeFileSync(opt.out, JSON.stringify(results, null, 2));
  console.log(JSON.stringify(results, null, 2));
} finally {
  await stopAll();
  if (!process.env.KEEP_WORK) rmSync(work, { recursive: true, force: true });
  else console.error(`work dir kept: ${work}`);
  process.exit(0);
}
