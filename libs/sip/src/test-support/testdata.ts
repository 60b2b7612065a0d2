// Where libs/sip's test data lives (libs/sip/testdata), for tests and scripts that run
// from the compiled dist/ tree: the RFC 4475 torture corpus with its index, and the
// inputs the long fuzz run found (replayed by fuzz.test.ts).

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** libs/sip/testdata/ (this file runs from libs/sip/dist/test-support/). */
export const TESTDATA_DIR = fileURLToPath(new URL('../../testdata/', import.meta.url));
export const RFC4475_DIR = TESTDATA_DIR + 'rfc4475/';
/** Inputs a fuzz run once failed on, one file each (scripts/fuzz-sip.mjs writes them). */
export const FUZZ_CRASHERS_DIR = TESTDATA_DIR + 'fuzz-crashers/';

/** One entry of rfc4475/index.json (see rfc4475/SOURCE.md). */
export interface TortureEntry {
  file: string;
  section: string;
  title: string;
  kind: 'valid' | 'invalid' | 'valid-but-unusual' | null;
  rfc_says: string;
  notes?: string;
}

export function tortureIndex(): TortureEntry[] {
  return JSON.parse(readFileSync(RFC4475_DIR + 'index.json', 'utf8')) as TortureEntry[];
}

/** Every RFC 4475 message, by file name. */
export function tortureMessages(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of readdirSync(RFC4475_DIR).filter((n) => n.endsWith('.dat')).sort()) out.set(f, readFileSync(RFC4475_DIR + f));
  return out;
}

/** The saved fuzz crashers, by file name (none is fine). */
export function fuzzCrashers(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let names: string[] = [];
  try {
    names = readdirSync(FUZZ_CRASHERS_DIR);
  } catch {
    return out;
  }
  for (const f of names.filter((n) => n.endsWith('.bin')).sort()) out.set(f, readFileSync(FUZZ_CRASHERS_DIR + f));
  return out;
}
