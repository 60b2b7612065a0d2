// Media relay benchmark: one invocation, all cases alternating at each rate step.
//   node bench/media/run.mjs [--calls 64] [--duration 3000] [--rates 50,100,...]
//        [--cases a,b-cm,b-gcm,c-cm,c-gcm,d,d-cm,d-gcm] [--w2] [--mem 1000] [--json FILE]
// Cases: n = bare Node dgram relay (the floor, no bridge logic); a = our RTP<->RTP bridge; b-* = our SDES-SRTP<->RTP bridge; c-* = the same
// bridge on werift's SRTP session classes; d* = rtpengine (userspace) for the same;
// --reps N repeats each rate N times (alternating cases) and takes medians;
// --steady S measures retained heap over S seconds; --mem N measures RSS per call.
// -cm = AES_CM_128_HMAC_SHA1_80, -gcm = AEAD_AES_128_GCM; --w2 adds a-w2/b-cm-w2 on
// a 2-worker engine. A "-ts" suffix (a-ts, b-cm-ts, b-gcm-ts) runs our engine with the
// native fast path off (TRAPEZOID_MEDIA__NATIVE=false): the TypeScript path. Rates are packets/s per stream; each call has two streams (one
// per direction), so offered pps = rate * 2 * calls.
import { fork, execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startRtpengine, ngBridge } from './rtpengine.mjs';

const here = new URL('.', import.meta.url).pathname;
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? dflt : argv[i + 1];
};
const CALLS = Number(opt('calls', 64));
const DURATION = Number(opt('duration', 3000));
const RATES = opt('rates', '50,100,200,300,400,500,600,800,1000,1200,1500').split(',').map(Number);
const CASES = opt('cases', 'a,b-cm,b-gcm,c-cm,c-gcm,d,d-cm,d-gcm').split(',');
if (argv.includes('--w2')) CASES.push('a-w2', 'b-cm-w2');
const MEM = Number(opt('mem', 0));
const STEADY = Number(opt('steady', 0));
const REPS = Number(opt('reps', 1));
const JSON_OUT = opt('json', null);
const LOSS_MAX = 0.001;
const TCK = Number(execSync('getconf CLK_TCK').toString().trim());

function rpcChild(child) {
  let next = 0;
  const pending = new Map();
  child.on('message', (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  });
  return (cmd, args = {}) => new Promise((resolve, reject) => {
    const id = ++next;
    pending.set(id, { resolve, reject });
    child.send({ id, cmd, ...args });
  });
}

/** utime + stime of a whole process (all threads), in microseconds. */
function cpuUs(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / TCK;
}
function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

/** Sums bytes collected by every GC that --trace-gc printed (main thread and workers). */
class GcTrace {
  constructor(stream) {
    this.freedMb = 0;
    this.count = 0;
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /(Scavenge|Mark-Compact|Mark-sweep|Minor Mark)\S*\s+([\d.]+) \(([\d.]+)\) -> ([\d.]+)/.exec(line);
        if (m) { this.count++; this.freedMb += Number(m[2]) - Number(m[4]); }
      }
    });
  }
}

function forkRelay(script, args, execArgv = [], env = {}) {
  const child = fork(`${here}${script}`, args, { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const gc = new GcTrace(child.stdout);
  return { child, call: rpcChild(child), gc, pid: child.pid };
}
function waitReady(child) {
  return new Promise((resolve) => child.once('message', resolve));
}

const key = (profile) => randomBytes(profile === 'AEAD_AES_128_GCM' ? 28 : 30).toString('base64');
const PROFILE = { cm: 'AES_CM_128_HMAC_SHA1_80', gcm: 'AEAD_AES_128_GCM' };

async function main() {
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const gen = fork(`${here}gen.mjs`, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const g = rpcChild(gen);
  const relays = {};
  const cleanup = [() => gen.kill('SIGKILL')];
  try {
    const needOurs = CASES.some((c) => /^[ab]/.test(c) && !c.endsWith('-w2') && !c.endsWith('-main') && !c.endsWith('-ts'));
    const needTs = CASES.some((c) => c.endsWith('-ts'));
    const needW2 = CASES.some((c) => c.endsWith('-w2'));
    const needWerift = CASES.some((c) => c.startsWith('c'));
    const needBare = CASES.includes('n');
    const needDirect = CASES.some((c) => c.endsWith('-main'));
    const needRe = CASES.some((c) => c.startsWith('d'));
    if (needOurs) {
      relays.ours = forkRelay('relay-engine.mjs', ['1', '30000', '33999'], ['--expose-gc', '--trace-gc']);
      cleanup.push(() => relays.ours.child.kill('SIGKILL'));
      await waitReady(relays.ours.child);
    }
    if (needTs) {
      relays.ts = forkRelay('relay-engine.mjs', ['1', '54000', '57999'], ['--expose-gc', '--trace-gc'], { TRAPEZOID_MEDIA__NATIVE: 'false' });
      cleanup.push(() => relays.ts.child.kill('SIGKILL'));
      await waitReady(relays.ts.child);
    }
    if (needW2) {
      relays.w2 = forkRelay('relay-engine.mjs', ['2', '34000', '37999'], ['--expose-gc', '--trace-gc']);
      cleanup.push(() => relays.w2.child.kill('SIGKILL'));
      await waitReady(relays.w2.child);
    }
    if (needWerift) {
      relays.werift = forkRelay('relay-werift.mjs', [], ['--trace-gc']);
      cleanup.push(() => relays.werift.child.kill('SIGKILL'));
    }
    if (needDirect) {
      relays.direct = forkRelay('relay-direct.mjs', [], ['--trace-gc']);
      cleanup.push(() => relays.direct.child.kill('SIGKILL'));
      await waitReady(relays.direct.child);
    }
    if (needBare) {
      relays.bare = forkRelay('relay-bare.mjs', [], ['--trace-gc']);
      cleanup.push(() => relays.bare.child.kill('SIGKILL'));
    }
    if (needRe) {
      relays.re = await startRtpengine({ ngPort: 22299, portMin: 40000, portMax: 49999 });
      cleanup.push(() => relays.re.stop());
    }

    // Set up every case's calls before any traffic.
    const cases = [];
    for (const name of CASES) {
      const { ports } = await g('alloc', { group: name, n: CALLS });
      const prof = PROFILE[name.split('-')[1]];
      let targets;
      let relay;
      if (name.startsWith('a') || name.startsWith('b')) {
        relay = name.endsWith('-w2') ? relays.w2 : name.endsWith('-main') ? relays.direct : name.endsWith('-ts') ? relays.ts : relays.ours;
        const keys = ports.map(() => ({ relay: key(prof), gen: key(prof) }));
        const specs = ports.map((p, i) => ({
          legs: [
            name.startsWith('b')
              ? { kind: 'sdes', profile: prof, localKey: keys[i].relay, remoteKey: keys[i].gen, remote: { address: '127.0.0.1', port: p.a } }
              : { kind: 'rtp', remote: { address: '127.0.0.1', port: p.a } },
            { kind: 'rtp', remote: { address: '127.0.0.1', port: p.b } },
          ],
        }));
        const descs = await relay.call('create', { specs });
        targets = descs.map((d, i) => ({
          aSendTo: d.legs[0].port, bSendTo: d.legs[1].port,
          aSrtp: name.startsWith('b') ? { profile: prof, txKey: keys[i].gen, rxKey: keys[i].relay } : null,
        }));
      } else if (name === 'n') {
        relay = relays.bare;
        const made = await relay.call('create', { specs: ports.map((p) => ({ aRemote: p.a, bRemote: p.b })) });
        targets = made.map((m) => ({ aSendTo: m.aPort, bSendTo: m.bPort, aSrtp: null }));
      } else if (name.startsWith('c')) {
        relay = relays.werift;
        const keys = ports.map(() => ({ relay: key(prof), gen: key(prof) }));
        const made = await relay.call('create', {
          specs: ports.map((p, i) => ({ profile: prof, localKey: keys[i].relay, remoteKey: keys[i].gen, aRemote: p.a, bRemote: p.b })),
        });
        targets = made.map((m, i) => ({ aSendTo: m.aPort, bSendTo: m.bPort, aSrtp: { profile: prof, txKey: keys[i].gen, rxKey: keys[i].relay } }));
      } else {
        relay = relays.re;
        targets = [];
        for (let i = 0; i < ports.length; i++) {
          const genKey = prof ? key(prof) : null;
          const r = await ngBridge(relay.ng, {
            callId: `${name}-${i}`, aPort: ports[i].a, bPort: ports[i].b, srtp: prof ? { profile: prof, aKey: genKey } : undefined,
          });
          targets.push({ aSendTo: r.aSendTo, bSendTo: r.bSendTo, aSrtp: prof ? { profile: prof, txKey: genKey, rxKey: r.engineKeyToA.key } : null });
        }
      }
      await g('connect', { group: name, targets });
      cases.push({ name, relay, steps: [], done: false });
    }

    // Warm-up (JIT, latching, rtpengine learning) at the lowest rate.
    for (const c of cases) await g('run', { group: c.name, ratePerStream: RATES[0], durationMs: 1000 });

    for (const rate of RATES) {
      for (let rep = 0; rep < REPS; rep++) for (const c of cases) {
        if (c.done) continue;
        let step = await measure(g, c, rate);
        if (step.lossRatio > LOSS_MAX) step = await measure(g, c, rate); // one retry against noise
        c.steps.push(step);
        if (step.lossRatio > LOSS_MAX || step.bad > 0) c.done = true;
        console.error(`${c.name.padEnd(8)} rate ${String(rate).padStart(5)}/stream  offered ${step.offeredPps.toFixed(0).padStart(6)} pps  ` +
          `loss ${(step.lossRatio * 100).toFixed(3)}%  cpu ${step.cpuUsPerPkt.toFixed(2)} us/pkt  relay cpu ${(step.cpuShare * 100).toFixed(0)}%` +
          (step.allocBytesPerPkt !== undefined ? `  alloc ${step.allocBytesPerPkt.toFixed(0)} B/pkt  gc ${step.gcs}` : '') +
          (step.bad ? `  BAD PAYLOADS ${step.bad}` : ''));
      }
      if (cases.every((c) => c.done)) break;
    }

    const summary = cases.map(summarize);
    const steady = STEADY > 0 ? await steadyState(g, cases.filter((c) => /^[ab]/.test(c.name) && !c.name.endsWith('-main'))) : null;
    const out = {
      steady,
      date: new Date().toISOString(), node: process.version, calls: CALLS, durationMs: DURATION,
      loadBefore: load0, loadAfter: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      cpu: readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1], summary, mem: null,
      steps: Object.fromEntries(cases.map((c) => [c.name, c.steps])),
    };
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(out, null, 2));
    printTable(out);
    printPerRate(out);
    if (steady) printSteady(steady);
    if (MEM > 0) {
      for (const f of cleanup.splice(1).reverse()) f(); // relays of the ramp are done
      out.mem = await memory(MEM);
      if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(out, null, 2));
      printMem(out.mem);
    }
  } finally {
    for (const f of cleanup.reverse()) f();
  }
}

async function measure(g, c, rate) {
  const pid = c.relay.pid;
  const ours = /^[ab]/.test(c.name) && !c.name.endsWith('-main');
  const gcStart = c.relay.gc ? { mb: c.relay.gc.freedMb, n: c.relay.gc.count } : null;
  const u0 = ours ? await c.relay.call('usage', { gc: false }) : null;
  const t0 = performance.now();
  const cpu0 = cpuUs(pid);
  const r = await g('run', { group: c.name, ratePerStream: rate, durationMs: DURATION });
  const cpu1 = cpuUs(pid);
  const wall = performance.now() - t0;
  const step = {
    rate, offeredPps: r.offeredPps, received: r.received, sent: r.sent, lossRatio: r.lossRatio, bad: r.bad,
    cpuUsPerPkt: (cpu1 - cpu0) / Math.max(1, r.received), cpuShare: (cpu1 - cpu0) / 1000 / wall,
    aToB: r.aToB, bToA: r.bToA,
  };
  if (gcStart) {
    const u1 = ours ? await c.relay.call('usage', { gc: false }) : null;
    const heapDelta = u1 ? u1.reduce((s, u) => s + u.heapUsed, 0) - u0.reduce((s, u) => s + u.heapUsed, 0) : 0;
    step.gcs = c.relay.gc.count - gcStart.n;
    step.allocBytesPerPkt = (((c.relay.gc.freedMb - gcStart.mb) * 1048576) + heapDelta) / Math.max(1, r.received);
  }
  return step;
}

const median = (xs) => { const v = [...xs].sort((x, y) => x - y); return v.length ? v[Math.floor(v.length / 2)] : NaN; };

function summarize(c) {
  const ok = c.steps.filter((s) => s.lossRatio <= LOSS_MAX && !s.bad);
  const best = ok.at(-1);
  const med = median(ok.map((s) => s.cpuUsPerPkt));
  // Per-rate medians over the repetitions: the figure to compare cases at equal load.
  const byRate = {};
  for (const s of c.steps) (byRate[s.rate] ??= []).push(s);
  const perRate = Object.fromEntries(Object.entries(byRate).map(([r, ss]) => [r, {
    cpuUsPerPkt: median(ss.map((s) => s.cpuUsPerPkt)), maxLoss: Math.max(...ss.map((s) => s.lossRatio)),
  }]));
  const failed = c.steps.find((s) => s.lossRatio > LOSS_MAX || s.bad);
  return {
    case: c.name, maxPps: best ? best.received / (DURATION / 1000) : 0, maxRatePerStream: best?.rate ?? 0,
    cpuUsPerPktMedian: med, cpuUsPerPktAtMax: best ? perRate[best.rate].cpuUsPerPkt : NaN, perRate,
    callsPerCore: best ? 1e6 / (100 * perRate[best.rate].cpuUsPerPkt) : NaN, allocBytesPerPkt: best?.allocBytesPerPkt,
    firstFailingRate: failed?.rate ?? null, lossAtFailure: failed?.lossRatio ?? null,
  };
}

/** RSS per bridged call: fresh relay processes, MEM idle bridges each (SRTP<->RTP). */
async function memory(n) {
  const res = {};
  const prof = PROFILE.cm;
  const remote = { address: '127.0.0.1', port: 9 };
  for (const [label, first] of [['ours (SDES-SRTP<->RTP)', 'sdes'], ['ours (RTP<->RTP)', 'rtp']]) {
    const r = forkRelay('relay-engine.mjs', ['1', '20000', '29999'], ['--expose-gc']);
    await waitReady(r.child);
    const before = (await r.call('mem')).rss;
    await r.call('create', { specs: Array.from({ length: n }, () => ({ legs: [
      first === 'sdes' ? { kind: 'sdes', profile: prof, localKey: key(prof), remoteKey: key(prof), remote } : { kind: 'rtp', remote },
      { kind: 'rtp', remote }] })) });
    const after = await r.call('mem');
    res[label] = { bridges: after.bridges, ports: after.ports, rssDeltaBytes: after.rss - before, perBridgeKiB: (after.rss - before) / n / 1024 };
    r.child.kill('SIGKILL');
  }
  {
    const r = forkRelay('relay-werift.mjs', [], ['--expose-gc']);
    const before = (await r.call('mem')).rss;
    await r.call('create', { specs: Array.from({ length: n }, () => ({ profile: prof, localKey: key(prof), remoteKey: key(prof), aRemote: 9, bRemote: 9 })) });
    const after = await r.call('mem');
    res['werift SrtpSession (SDES-SRTP<->RTP, no PC)'] = { bridges: after.bridges, rssDeltaBytes: after.rss - before, perBridgeKiB: (after.rss - before) / n / 1024 };
    r.child.kill('SIGKILL');
  }
  {
    const re = await startRtpengine({ ngPort: 22298, portMin: 50000, portMax: 59999 });
    try {
      const before = rssBytes(re.pid);
      for (let i = 0; i < n; i++) {
        await ngBridge(re.ng, { callId: `m${i}`, aPort: 9000 + 2 * (i % 500), bPort: 10000 + 2 * (i % 500), srtp: { profile: prof, aKey: key(prof) } });
      }
      const after = rssBytes(re.pid);
      res['rtpengine (SDES-SRTP<->RTP)'] = { bridges: n, rssDeltaBytes: after - before, perBridgeKiB: (after - before) / n / 1024 };
    } finally {
      re.stop();
    }
  }
  return res;
}

function printTable(out) {
  console.log(`\n${out.date}  node ${out.node}  ${out.cpu}  load before ${out.loadBefore}, after ${out.loadAfter}`);
  console.log(`${out.calls} calls per case, ${out.durationMs} ms per step, loss limit ${LOSS_MAX * 100}%\n`);
  console.log('| case | max pps at <0.1% loss | CPU µs/pkt (median, all passing steps) | CPU µs/pkt at max | G.711 calls/core (at max) | alloc B/pkt | first failing rate/stream |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of out.summary) {
    console.log(`| ${s.case} | ${s.maxPps.toFixed(0)} | ${s.cpuUsPerPktMedian.toFixed(2)} | ${s.cpuUsPerPktAtMax.toFixed(2)} | ` +
      `${s.callsPerCore.toFixed(0)} | ${s.allocBytesPerPkt === undefined ? '-' : s.allocBytesPerPkt.toFixed(0)} | ` +
      `${s.firstFailingRate ?? 'none'}${s.lossAtFailure !== null ? ` (${(s.lossAtFailure * 100).toFixed(2)}%)` : ''} |`);
  }
}

/**
 * Retained heap and GC work in the worker over a long steady run: heapUsed after a
 * forced full GC before and after (what stays allocated), and GCs per million packets.
 */
async function steadyState(g, ours) {
  const res = {};
  for (const c of ours) {
    const u0 = await c.relay.call('usage', { gc: true });
    const gc0 = { mb: c.relay.gc.freedMb, n: c.relay.gc.count };
    const r = await g('run', { group: c.name, ratePerStream: 100, durationMs: STEADY * 1000 });
    const freedMb = c.relay.gc.freedMb - gc0.mb;
    const gcs = c.relay.gc.count - gc0.n;
    const u1 = await c.relay.call('usage', { gc: true });
    const sum = (u, f) => u.reduce((x, w) => x + w[f], 0);
    const mpkts = r.received / 1e6;
    res[c.name] = {
      packets: r.received, lossRatio: r.lossRatio,
      retainedHeapGrowthBytesPerMpkt: (sum(u1, 'heapUsed') - sum(u0, 'heapUsed')) / mpkts,
      minorGcsPerMpkt: (sum(u1, 'gcMinor') - sum(u0, 'gcMinor')) / mpkts,
      allocatedBytesPerPkt: (freedMb * 1048576) / r.received, gcs,
    };
  }
  return res;
}

function printPerRate(out) {
  const rates = [...new Set(out.summary.flatMap((s) => Object.keys(s.perRate)))].sort((a, b) => a - b);
  console.log(`\nCPU µs per relayed packet, median of repetitions, by rate per stream (offered pps = rate * 2 * ${out.calls}); * = loss above 0.1%`);
  console.log(`| case | ${rates.join(' | ')} |\n| --- |${rates.map(() => ' ---: |').join('')}`);
  for (const s of out.summary) {
    console.log(`| ${s.case} | ${rates.map((r) => s.perRate[r] ? s.perRate[r].cpuUsPerPkt.toFixed(1) + (s.perRate[r].maxLoss > LOSS_MAX ? '*' : '') : '').join(' | ')} |`);
  }
}

function printSteady(st) {
  console.log('\n| case | packets | retained heap growth per 10^6 pkts (bytes) | minor GCs per 10^6 pkts | allocated B/pkt (--trace-gc) |\n| --- | ---: | ---: | ---: | ---: |');
  for (const [k, v] of Object.entries(st)) {
    console.log(`| ${k} | ${v.packets} | ${v.retainedHeapGrowthBytesPerMpkt.toFixed(0)} | ${v.minorGcsPerMpkt.toFixed(1)} | ${v.allocatedBytesPerPkt.toFixed(0)} |`);
  }
}

function printMem(mem) {
  console.log('\n| relay | bridges | RSS per bridged call (KiB) |\n| --- | ---: | ---: |');
  for (const [k, v] of Object.entries(mem)) console.log(`| ${k} | ${v.bridges} | ${v.perBridgeKiB.toFixed(1)} |`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
