// Per-packet allocation of the media worker, isolated: one MediaEngine worker bridges
// plain RTP for a few calls while a child process sends a paced stream for a fixed time;
// the worker's heapUsed grows by what it allocates (no GC runs in between: checked). The
// same run without packets gives what the worker allocates per unit of time anyway
// (timers, the control channel); the difference divided by the packets is the per-packet
// figure. Usage: node bench/media/alloc.mjs [--pps 20000] [--seconds 3] [--calls 8] [--native false]
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { MediaEngine } from '../../libs/media/dist/index.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? dflt : argv[i + 1];
};

const SOURCE_PORT = 31999;

if (argv[0] === 'child') {
  // The sender: `pps` packets per second spread over the legs' ports, for `ms`, always
  // from the same source port (the legs latch to it: a new source would be dropped).
  const [pps, ms, ...ports] = argv.slice(1).map(Number);
  const s = createSocket('udp4');
  await new Promise((r) => s.bind(SOURCE_PORT, '127.0.0.1', r));
  const bufs = ports.map((_, i) => {
    const b = Buffer.alloc(172, 0xd5);
    b[0] = 0x80; b[1] = 0;
    b.writeUInt32BE(0x10000 + i, 8);
    return b;
  });
  const seq = ports.map(() => 0);
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) / 1000) * pps);
    for (; sent < due; sent++) {
      const k = sent % ports.length;
      const b = bufs[k];
      seq[k] = (seq[k] + 1) & 0xffff;
      b.writeUInt16BE(seq[k], 2);
      b.writeUInt32BE(seq[k] * 160, 4);
      s.send(b, ports[k], '127.0.0.1');
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  s.close();
  process.exit(0);
}

const PPS = Number(opt('pps', 20000));
const SECONDS = Number(opt('seconds', 3));
const CALLS = Number(opt('calls', 8));
const NATIVE = opt('native', 'true') !== 'false';

async function run(pps) {
  const engine = await MediaEngine.start({ workers: 1, portMin: 30000, portMax: 30999, address: '127.0.0.1', native: NATIVE });
  try {
    const ports = [];
    for (let i = 0; i < CALLS; i++) {
      // The far side is the discard port: nothing listens, the send still happens.
      const d = await engine.createBridge({ legs: [{ kind: 'rtp', remote: { address: '127.0.0.1', port: 9 } }, { kind: 'rtp', remote: { address: '127.0.0.1', port: 9 } }] });
      ports.push(d.legs[0].port);
    }
    // Warm-up: a short stream installs the routes (the first packets go through JS).
    await send(2000, 500, ports);
    const u0 = (await engine.usage(true))[0];
    await send(pps, SECONDS * 1000, ports);
    const u1 = (await engine.usage(false))[0];
    return { packets: u1.packetsIn - u0.packetsIn, heapGrowth: u1.heapUsed - u0.heapUsed, gcs: u1.gcMinor + u1.gcMajor - u0.gcMinor - u0.gcMajor };
  } finally {
    await engine.close();
  }
}

function send(pps, ms, ports) {
  const c = fork(new URL(import.meta.url).pathname, ['child', String(pps), String(ms), ...ports.map(String)]);
  return new Promise((r) => c.on('exit', r));
}

const rows = [];
for (let rep = 0; rep < 2; rep++) {
  rows.push({ pps: 0, ...(await run(0)) });
  rows.push({ pps: PPS, ...(await run(PPS)) });
}
console.log(`media worker heap growth, ${SECONDS} s per run, ${CALLS} calls, ${NATIVE ? 'native fast path' : 'TypeScript path'} (node ${process.version})\n`);
console.log('| offered pps | packets relayed | worker heap growth (bytes) | GCs during the run |\n| ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.pps} | ${r.packets} | ${r.heapGrowth} | ${r.gcs} |`);
const idle = rows.filter((r) => r.pps === 0);
const busy = rows.filter((r) => r.pps > 0);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const perPkt = (mean(busy.map((r) => r.heapGrowth)) - mean(idle.map((r) => r.heapGrowth))) / mean(busy.map((r) => r.packets));
const clean = rows.every((r) => r.gcs === 0);
console.log(`\nper packet: ${perPkt.toFixed(2)} bytes ((busy - idle) / packets)${clean ? '' : ' — a GC ran during a run: the figure is a lower bound'}`);
