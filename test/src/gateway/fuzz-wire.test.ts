// Issue 8: a bounded fuzz run through the gateway's whole receive path, over UDP and
// WebSocket from a stranger and over UDP from the trunk's address (wire-fuzz.ts says
// what is sent and checked). The long run is scripts/fuzz-sip-wire.mjs; its results
// are in docs/fuzzing.md, and the inputs it failed on are replayed as seeds here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWireFuzz } from './wire-fuzz.js';

test('fuzz over the wire: 1,500 mutants each over UDP, WebSocket and from the trunk; no crash, no bad reply, no error, nothing left', { timeout: 120_000 }, async () => {
  const r = await runWireFuzz({ iterations: 1500, seed: 0x8e7, ports: { min: 10420, max: 10499 } });
  console.log(`# wire fuzz: ${JSON.stringify({ ...r, failures: r.failures.length })}`);
  assert.deepEqual(r.failures.map((f) => `${f.what}: ${f.detail}\n  after: ${JSON.stringify(f.recent.at(-1)?.toString('latin1').slice(0, 600))}`), []);
  assert.deepEqual(r.left, { transactions: 0, dialogs: 0, liveCalls: 0, portsInUse: 0 }, 'every transaction, dialog, call and port released once the timers ran');
  assert.deepEqual(r.sent, { udp: 1500, ws: 1500, trunk: 1500 });
  assert.ok(r.replies > 1000, `the gateway answered what it could: ${r.replies} replies`);
  assert.ok(r.callsStarted > 10, `mutants reached call setup: ${r.callsStarted} calls`);
});
