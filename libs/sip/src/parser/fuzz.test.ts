// Bounded fuzz run in CI: 20,000 seeded mutations of RFC 4475 and our corpus.
// Only SipParseError may escape a parser, and no single call may be slow.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CORPUS } from './corpus.js';
import { FuzzFailure, fuzzParsers } from './fuzz.js';

const DIR = fileURLToPath(new URL('../../../../../shared/testdata/rfc4475/', import.meta.url));

test('fuzz: 20,000 mutations, only SipParseError escapes, slowest call under 50 ms', { timeout: 60_000 }, () => {
  const seeds = [
    ...readdirSync(DIR).filter((f) => f.endsWith('.dat')).map((f) => readFileSync(DIR + f)),
    ...Object.values(CORPUS).map((t) => Buffer.from(t, 'utf8')),
  ];
  try {
    const st = fuzzParsers(seeds, 20_000, 0x5eed);
    assert.equal(st.iterations, 20_000);
    assert.ok(st.parsed > 1000, 'enough mutants still parse to exercise the rest: ' + st.parsed);
    assert.ok(st.slowestMs < 50, `slowest call ${st.slowestMs.toFixed(2)} ms in ${st.slowestWhat}`);
  } catch (e) {
    if (e instanceof FuzzFailure) assert.fail(e.message + '\ninput: ' + JSON.stringify(e.input.toString('latin1').slice(0, 2000)));
    throw e;
  }
});
