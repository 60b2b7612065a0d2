#!/usr/bin/env node
// Calls per second the libs/sip UAS example sustains against SIPp's built-in uac over
// UDP on loopback: one UAS process pinned to one core, SIPp on the other; for each
// rate, SIPp places `seconds` worth of calls (INVITE / 200 / ACK / BYE / 200, no hold)
// and we record successful and failed calls, retransmissions, and the UAS's CPU time.
// The answer is the highest rate with 0 failed calls at (nearly) the rate asked. Writes bench/results/sip-call-rate.md.
//
// Usage: npx tsc -b libs/sip && node bench/sip-call-rate.mjs [seconds=6] [rates=250,500,1000,1500,2000,3000,4000,5000]
// Not part of npm test.

import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const uasJs = root + 'libs/sip/dist/examples/uas.js';
const seconds = Number(process.argv[2] ?? 6);
const rates = (process.argv[3] ?? '250,500,1000,1500,2000,3000,4000,5000').split(',').map(Number);
if (!existsSync(uasJs)) { console.error('build first: npx tsc -b libs/sip'); process.exit(2); }
const haveTaskset = spawnSync('taskset', ['-V']).status === 0 && os.cpus().length >= 2;
const pin = (core, cmd, args) => (haveTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);

// ---- the UAS example, on core 1
const [uasCmd, uasArgs] = pin(1, process.execPath, [uasJs, '--udp', '0']);
const uas = spawn(uasCmd, uasArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: uas.stdout });
const waiting = [];
lines.on('line', (l) => { try { waiting.shift()?.(JSON.parse(l)); } catch { /* not ours */ } });
const nextLine = () => new Promise((resolve) => waiting.push(resolve));
const listening = await nextLine();
const port = listening.points[0].port;
const stats = async () => { const p = nextLine(); uas.stdin.write('stats\n'); return p; };

function parseSipp(stdout) {
  const lastStats = stdout.lastIndexOf('Statistics Screen');
  const s = stdout.slice(lastStats);
  const cum = (label) => Number(new RegExp(label + '\\s*\\|[^|]*\\|\\s*([\\d.]+)').exec(s)?.[1] ?? NaN);
  const head = stdout.slice(0, lastStats);
  const screen = head.slice(head.lastIndexOf('Messages  Retrans'));
  let retrans = 0;
  for (const line of screen.split('\n')) {
    if (!/-{10}/.test(line)) continue;
    const nums = line.replace(/<?-{10}>?/g, ' ').trim().split(/\s+/).slice(1).filter((t) => /^\d+$/.test(t)).map(Number);
    retrans += nums[1] ?? 0;
  }
  return { successful: cum('Successful call'), failed: cum('Failed call'), callRate: cum('Call Rate'), retrans };
}

/** A free UDP port on loopback (SIPp's -p 0 means its default 5060, not "any"). */
function freeUdpPort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function runSipp(rate, secs = seconds) {
  const calls = rate * secs;
  const sipPort = await freeUdpPort();
  const mediaPort = (await freeUdpPort()) & ~1;
  const args = ['-sn', 'uac', '-i', '127.0.0.1', '-p', String(sipPort), '-mp', String(mediaPort), '-t', 'u1', '-nostdin',
    '-r', String(rate), '-m', String(calls), '-l', String(Math.max(1000, rate * 5)),
    '-timeout', `${seconds + 40}s`, '-timeout_error', `127.0.0.1:${port}`];
  const [cmd, cmdArgs] = pin(0, 'sipp', args);
  return new Promise((resolve) => {
    const p = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    p.stderr.resume();
    p.once('exit', (code) => resolve({ code, calls, ...parseSipp(out) }));
  });
}

// Warm-up (JIT), not reported.
await runSipp(200, 2);
/** Datagrams the kernel dropped because a socket's receive buffer was full (either side). */
function udpRcvbufErrors() {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0].split(/\s+/);
    return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
  } catch {
    return NaN;
  }
}

const rows = [];
let best = 0;
let failuresInARow = 0;
for (const rate of rates) {
  const before = await stats();
  const drops0 = udpRcvbufErrors();
  const t0 = performance.now();
  const r = await runSipp(rate);
  const wallMs = performance.now() - t0;
  const after = await stats();
  const drops = udpRcvbufErrors() - drops0;
  const cpuMs = (after.cpuUs.user + after.cpuUs.system - before.cpuUs.user - before.cpuUs.system) / 1000;
  const row = {
    rate, calls: r.calls, successful: r.successful, failed: r.failed, retrans: r.retrans,
    achieved: r.callRate, wallS: wallMs / 1000, uasCpuS: cpuMs / 1000, uasCpuPct: (100 * cpuMs) / wallMs,
    cpuUsPerCall: (cpuMs * 1000) / Math.max(1, r.successful), exit: r.code,
    loopDelayMaxMs: after.loopDelayMs.max, loopDelayP99Ms: after.loopDelayMs.p99, heapMB: after.heapUsedMB,
    liveTransactions: after.ua.transactions, udpDrops: drops,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
  // Sustained: every call succeeded and SIPp really placed them at (nearly) the rate asked.
  if (r.failed === 0 && r.successful === r.calls && r.callRate >= 0.95 * rate) { best = rate; failuresInARow = 0; } else if (++failuresInARow >= 2) break;
  await new Promise((res) => setTimeout(res, 2000)); // let retransmission timers settle
}
uas.stdin.end();
const killLater = setTimeout(() => uas.kill('SIGKILL'), 5000);
await new Promise((res) => uas.once('exit', res));
clearTimeout(killLater);

const sippVersion = spawnSync('sipp', ['-v']).stdout.toString().match(/SIPp v[\S]+/)?.[0] ?? 'sipp';
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const md = `# SIP call rate: libs/sip UAS example vs SIPp uac (UDP, loopback)

Command: \`node bench/sip-call-rate.mjs ${seconds} ${rates.join(',')}\` (after \`npx tsc -b libs/sip\`)

Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, ${sippVersion}, ${new Date().toISOString().slice(0, 10)}.
${haveTaskset ? 'UAS pinned to core 1 and SIPp to core 0 with taskset.' : 'No pinning (taskset missing or one core).'}
Each call is SIPp's built-in uac scenario: INVITE, 200 (with SDP), ACK, BYE, 200, no hold time;
${seconds} s worth of calls per rate. The UAS is \`libs/sip/dist/examples/uas.js --udp 0\`
(default timers, T1 = 500 ms, so server transactions linger 32 s after each call as RFC 3261 says).
The machine is shared with other work; rerun for quiet-machine figures.

| target calls/s | calls | successful | failed | SIPp retrans | UDP rcvbuf drops | achieved calls/s | UAS CPU s | UAS CPU % of one core | UAS CPU µs/call | UAS loop delay p99 / max ms | UAS heap MB | live transactions |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map((r) => `| ${r.rate} | ${r.calls} | ${r.successful} | ${r.failed} | ${r.retrans} | ${fmt(r.udpDrops)} | ${fmt(r.achieved, 0)} | ${fmt(r.uasCpuS, 2)} | ${fmt(r.uasCpuPct, 0)} | ${fmt(r.cpuUsPerCall, 0)} | ${r.loopDelayP99Ms} / ${r.loopDelayMaxMs} | ${r.heapMB} | ${r.liveTransactions} |`).join('\n')}

Highest rate sustained (0 failed calls and an achieved rate within 5 % of the target):
**${best} calls/s** (target: 2,000 calls/s on one core). SIPp retransmissions (its T1 is
500 ms) mean a message was lost or late: "UDP rcvbuf drops" counts datagrams the kernel
dropped machine-wide (either peer's socket buffer full; other work on the machine counts
too), "UAS loop delay" shows whether the UAS itself stalled.
`;
mkdirSync(root + 'bench/results', { recursive: true });
writeFileSync(root + 'bench/results/sip-call-rate.md', md);
console.log(md);
