#!/usr/bin/env node
// SIP parse/serialize throughput on one core: a ~2 KB JsSIP/Chromium WebRTC INVITE
// with SDP (libs/sip corpus 'jssip-invite').
// Usage: npx tsc -b libs/sip && node bench/sip-parse.mjs [rounds=7] [msPerRound=1000]
// Reports, over the rounds, the median and best messages/s (wall clock) and the median
// messages per CPU-second of this process (less sensitive to a busy machine) for: parse, serialize, parse+serialize,
// and parse + the lazy structured views a B2BUA reads on every request
// (top Via, CSeq, From/To tags, Call-ID).

import os from 'node:os';
import { CORPUS } from '../libs/sip/dist/parser/corpus.js';
import { parseMessage, parseVia, parseCSeq, tagOf } from '../libs/sip/dist/index.js';

const rounds = Number(process.argv[2] ?? 7);
const msPerRound = Number(process.argv[3] ?? 1000);
const wire = Buffer.from(CORPUS['jssip-invite'], 'utf8');
const parsed = parseMessage(wire);

let sink = 0;
const cases = {
  'parse': () => { sink += parseMessage(wire).headers.size; },
  'serialize': () => { sink += parsed.toBuffer().length; },
  'parse + serialize': () => { sink += parseMessage(wire).toBuffer().length; },
  'parse + Via/CSeq/tags': () => {
    const m = parseMessage(wire);
    const h = m.headers;
    sink += parseVia(h.get('via')).branch.length + parseCSeq(h.get('cseq')).seq +
      (tagOf(h.get('from'))?.length ?? 0) + (tagOf(h.get('to'))?.length ?? 0) + m.callId.length;
  },
};

/** One timed round: messages per wall-clock second and per CPU second of this process. */
function round(fn, ms) {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  let now;
  // Check the clock every 256 iterations so timing costs nothing measurable.
  do {
    for (let i = 0; i < 256; i++) fn();
    n += 256;
    now = performance.now();
  } while (now < end);
  const cpu = process.cpuUsage(cpu0);
  return { wall: n / ((now - t0) / 1000), cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const k = (x) => Math.round(x).toLocaleString('en-US');
console.log(`message: ${wire.length} bytes (${parsed.body.length} bytes SDP, ${parsed.headers.size} header fields)`);
console.log(`node ${process.version}, ${os.cpus()[0].model}, nproc ${os.availableParallelism()}, load average ${os.loadavg()[0].toFixed(2)}, ${rounds} rounds x ${msPerRound} ms`);
console.log('case                     median msg/s   best round   median per CPU-second   µs/msg (median)');
for (const [name, fn] of Object.entries(cases)) {
  round(fn, 500); // warm-up: let the JIT settle
  const rates = [];
  for (let r = 0; r < rounds; r++) rates.push(round(fn, msPerRound));
  const wall = median(rates.map((x) => x.wall));
  const best = Math.max(...rates.map((x) => x.wall));
  const cpu = median(rates.map((x) => x.cpu));
  console.log(`${name.padEnd(24)} ${k(wall).padStart(12)} ${k(best).padStart(12)} ${k(cpu).padStart(23)} ${(1e6 / wall).toFixed(2).padStart(17)}`);
}
console.log(`load average after: ${os.loadavg()[0].toFixed(2)}`);
if (sink === 0) console.log('unreachable');
