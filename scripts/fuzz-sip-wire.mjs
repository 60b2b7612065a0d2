#!/usr/bin/env node
// Long fuzz run of the gateway's whole receive path over the wire (the CI test,
// test/src/gateway/fuzz-wire.test.ts, runs 1,500 mutants per phase of the same): mutated
// SIP over UDP and WebSocket from a stranger and over UDP from the trunk's address, at a
// running gateway with a registered agent answering calls. See test/src/gateway/wire-fuzz.ts.
// Usage: npx tsc -b && node scripts/fuzz-sip-wire.mjs [mutants per phase=100000] [seed=1]
// Run it in a network namespace with 127.0.0.0/8 on lo (it binds 127.0.0.3:5060 and
// 127.0.0.4), e.g. /work/tools/nsrun; it uses media ports 10420-10499.
// Exits 1 when an invariant broke: a reply that does not parse or validate, an error
// logged by the gateway, or a transaction, dialog, call or port left once the timers ran.
// The input sent just before each failure (the last few, after a crash) is saved in
// libs/sip/testdata/fuzz-crashers/ (wire-<hash>.bin), which the CI test replays first.

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { FUZZ_CRASHERS_DIR } from '../libs/sip/dist/test-support/testdata.js';
import { runWireFuzz } from '../test/dist/gateway/wire-fuzz.js';

const iterations = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isInteger(iterations) || iterations <= 0 || !Number.isInteger(seed)) {
  console.error('usage: node scripts/fuzz-sip-wire.mjs [mutants per phase] [seed]');
  process.exit(2);
}
/** Saves each input as wire-<hash>.bin in the crashers directory; returns the paths. */
function save(inputs) {
  mkdirSync(FUZZ_CRASHERS_DIR, { recursive: true });
  return inputs.map((input) => {
    const file = `${FUZZ_CRASHERS_DIR}wire-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`;
    writeFileSync(file, input);
    return file;
  });
}

// The gateway runs in this process: an exception nothing caught takes it down. The inputs
// sent just before are the suspects; all of them are kept (the culprit is among them).
const recent = [];
process.on('uncaughtException', (err) => {
  console.error(`CRASH: ${err?.stack ?? err}`);
  for (const f of save(recent)) console.error(`  recent input saved to ${f}`);
  process.exit(1);
});

const t0 = performance.now();
const report = await runWireFuzz({
  iterations, seed, recent, ports: { min: 10420, max: 10499 },
  progress: (phase, done) => {
    if (done % 10_000 === 0) console.log(`${phase}: ${done} mutants, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  },
});
const leaked = Object.values(report.left).some((n) => n !== 0);
for (const f of report.failures) {
  console.error(`FAIL ${f.what}: ${f.detail.slice(0, 500)}`);
  const input = f.recent.at(-1);
  if (input) console.error(`  last input saved to ${save([input])[0]}`);
}
if (leaked) console.error(`LEAK: left after the timers ran: ${JSON.stringify(report.left)}`);
const { failures, ...summary } = report;
console.log(JSON.stringify({ ...summary, failures: failures.length, seconds: Number(report.seconds.toFixed(1)) }));
process.exit(report.failures.length > 0 || leaked ? 1 : 0);
