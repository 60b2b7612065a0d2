// Bounded fuzz run in CI: 20,000 seeded mutations of RFC 4475 and our corpus.
// Only SipParseError may escape a parser, and no single call may be slow. The inputs
// a long run (scripts/fuzz-sip-parser.mjs) once failed on are replayed first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CORPUS } from './corpus.js';
import { FuzzFailure, fuzzParsers } from './fuzz.js';
import { fuzzCrashers, tortureMessages } from '../test-support/testdata.js';

function explain(e: unknown): never {
  if (e instanceof FuzzFailure) assert.fail(e.message + '\ninput: ' + JSON.stringify(e.input.toString('latin1').slice(0, 2000)));
  throw e;
}

test('fuzz: every saved crasher (libs/sip/testdata/fuzz-crashers) now passes the parser properties', () => {
  for (const [name, input] of fuzzCrashers()) {
    try {
      // One unmutated pass: the crasher itself through every entry point.
      fuzzParsers([input], 1, 1, undefined, { mutations: 0 });
    } catch (e) {
      assert.fail(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
});

test('fuzz: 20,000 mutations, only SipParseError escapes, slowest call under 50 ms', { timeout: 60_000 }, () => {
  const seeds = [
    ...tortureMessages().values(),
    ...fuzzCrashers().values(),
    ...Object.values(CORPUS).map((t) => Buffer.from(t, 'utf8')),
  ];
  try {
    const st = fuzzParsers(seeds, 20_000, 0x5eed);
    assert.equal(st.iterations, 20_000);
    assert.ok(st.parsed > 1000, 'enough mutants still parse to exercise the rest: ' + st.parsed);
    assert.ok(st.slowestMs < 50, `slowest call ${st.slowestMs.toFixed(2)} ms in ${st.slowestWhat}`);
  } catch (e) {
    explain(e);
  }
});
