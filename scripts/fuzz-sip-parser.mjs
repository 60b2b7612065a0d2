#!/usr/bin/env node
// Long fuzz run of the SIP parsers (the CI test runs 20,000 iterations of the same).
// Usage: npx tsc -b libs/sip && node scripts/fuzz-sip-parser.mjs [iterations=1000000] [seed=1]
// Seeds: RFC 4475 messages from libs/sip/testdata/rfc4475, the saved crashers and libs/sip's
// corpus. Exits 1 on the first input that makes a parser throw anything but SipParseError,
// fail to re-parse its own serialization, or take over 50 ms (timed again to rule out GC);
// that input is saved in libs/sip/testdata/fuzz-crashers/, which fuzz.test.ts replays.

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { CORPUS } from '../libs/sip/dist/parser/corpus.js';
import { FuzzFailure, fuzzParsers } from '../libs/sip/dist/parser/fuzz.js';
import { FUZZ_CRASHERS_DIR, fuzzCrashers, tortureMessages } from '../libs/sip/dist/test-support/testdata.js';

const iterations = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isInteger(iterations) || iterations <= 0 || !Number.isInteger(seed)) {
  console.error('usage: node scripts/fuzz-sip-parser.mjs [iterations] [seed]');
  process.exit(2);
}
const seeds = [
  ...tortureMessages().values(),
  ...fuzzCrashers().values(),
  ...Object.values(CORPUS).map((t) => Buffer.from(t, 'utf8')),
];

const BATCH = 10_000;
const stats = { iterations: 0, calls: 0, parsed: 0, rejected: 0, slowestMs: 0, slowestWhat: '' };
const t0 = performance.now();
try {
  // Batches with derived seeds, so progress shows and a failure names a reproducible (seed, batch).
  for (let done = 0, batch = 0; done < iterations; done += BATCH, batch++) {
    fuzzParsers(seeds, Math.min(BATCH, iterations - done), seed * 1_000_003 + batch, stats);
    if (stats.slowestMs > 50) throw new FuzzFailure(`slow call: ${stats.slowestMs.toFixed(2)} ms in ${stats.slowestWhat}`, stats.slowestInput);
    if (batch % 10 === 9) console.log(`${stats.iterations} iterations, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
} catch (e) {
  if (!(e instanceof FuzzFailure)) throw e;
  mkdirSync(FUZZ_CRASHERS_DIR, { recursive: true });
  const file = `${FUZZ_CRASHERS_DIR}parser-${createHash('sha256').update(e.input).digest('hex').slice(0, 16)}.bin`;
  writeFileSync(file, e.input);
  console.error(`FAIL after ${stats.iterations} iterations: ${e.message}\ninput written to ${file}`);
  if (e.cause) console.error(e.cause);
  process.exit(1);
}
const secs = (performance.now() - t0) / 1000;
const { slowestInput: _input, ...summary } = stats;
console.log(JSON.stringify({ ...summary, slowestMs: Number(stats.slowestMs.toFixed(3)), seconds: Number(secs.toFixed(1)) }));
