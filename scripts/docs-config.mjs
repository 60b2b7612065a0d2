// npm run docs:config: rewrites the generated reference part of docs/configuration.md
// from the configuration schema (apps/gateway/src/config/schema.ts). Run it after
// adding or changing a key; the config reference test fails until you do.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigReference, spliceReference } from '@trapezoid/gateway';

const path = new URL('../docs/configuration.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = spliceReference(before, renderConfigReference());
if (after === before) {
  console.log('docs/configuration.md is up to date');
} else {
  writeFileSync(path, after);
  console.log('docs/configuration.md: reference regenerated');
}
