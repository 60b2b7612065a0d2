#!/usr/bin/env node
// Builds the native media fast path (libs/media/native, a C N-API addon) with the
// node-gyp that ships with npm. Usage: node scripts/build-native.mjs [--strict]
// Skips the build when the .node is newer than every source. Without --strict a failure
// prints one warning line and exits 0, so an install on a machine without a compiler
// still works: libs/media then uses its TypeScript path.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const strict = process.argv.includes('--strict');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'libs', 'media', 'native');
const output = join(nativeDir, 'build', 'Release', 'trapezoid_media.node');

function fail(reason, detail = '') {
  if (strict) {
    if (detail) process.stderr.write(detail.endsWith('\n') ? detail : `${detail}\n`);
    console.error(`native media fast path not built: ${reason}`);
    process.exit(1);
  }
  console.warn(`native media fast path not built: ${reason}; using the TypeScript path`);
  process.exit(0);
}

function newestSource() {
  let newest = statSync(join(nativeDir, 'binding.gyp')).mtimeMs;
  const src = join(nativeDir, 'src');
  for (const name of readdirSync(src)) newest = Math.max(newest, statSync(join(src, name)).mtimeMs);
  return newest;
}

if (existsSync(output) && statSync(output).mtimeMs > newestSource()) {
  console.log('native media fast path up to date');
  process.exit(0);
}

const nodeGyp = process.env.npm_config_node_gyp
  || join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
if (!existsSync(nodeGyp)) fail(`node-gyp not found at ${nodeGyp}`);

// Headers of the running node when they are installed beside it (offline build);
// otherwise node-gyp fetches them.
const prefix = join(dirname(process.execPath), '..');
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];

function run(args) {
  const r = spawnSync(process.execPath, [nodeGyp, ...args, ...nodedir], { cwd: nativeDir, encoding: 'utf8' });
  if (r.error) fail(`node-gyp ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const first = out.split('\n').find((l) => /error/i.test(l)) ?? `exit code ${r.status}`;
    fail(`node-gyp ${args[0]} failed: ${first.trim()}`, out);
  }
}

if (!existsSync(join(nativeDir, 'build', 'Makefile'))) run(['configure']);
run(['build']);
if (!existsSync(output)) fail(`node-gyp build produced no ${output}`);
console.log(`native media fast path built: ${output.slice(root.length + 1)}`);
