import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configReferenceRows, renderConfigReference, spliceReference } from './reference.js';

const DOC = new URL('../../../../docs/configuration.md', import.meta.url);

test('docs/configuration.md carries the reference generated from the current schema', () => {
  const doc = readFileSync(DOC, 'utf8');
  const fresh = spliceReference(doc, renderConfigReference());
  assert.ok(fresh === doc, 'docs/configuration.md is stale: run `npm run docs:config` and commit the result');
});

test('every configuration key has a description (.describe() in schema.ts)', () => {
  const missing = configReferenceRows().filter((r) => r.description.trim() === '').map((r) => r.key);
  assert.deepEqual(missing, [], `add .describe() to these keys in apps/gateway/src/config/schema.ts, then run \`npm run docs:config\`: ${missing.join(', ')}`);
});

test('the reference names each key with its type and default', () => {
  const rows = new Map(configReferenceRows().map((r) => [r.key, r]));
  assert.equal(rows.get('media.portMin')?.default, '`20000`');
  assert.equal(rows.get('media.portMin')?.type, 'integer 0–65535');
  assert.equal(rows.get('trunks[].name')?.default, 'required');
  assert.equal(rows.get('listeners[].protocol')?.type, '`udp` \\| `tcp` \\| `tls` \\| `ws` \\| `wss`');
});

test('regenerating keeps the prose around the generated part', () => {
  const doc = 'intro\n\n' + renderConfigReference() + '\n\noutro\n';
  assert.equal(spliceReference(doc, 'X'), 'intro\n\nX\n\noutro\n');
  assert.equal(spliceReference('no markers\n', 'X'), 'no markers\n\nX\n');
});
