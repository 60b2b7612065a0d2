// npm test: install missing peers, type-check and build, lint, then run every test
// file with Node's built-in runner. Test files are the compiled *.test.js under
// libs/*/dist, apps/*/dist and test/dist.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
function run(cmd, args, timeoutMs) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...(timeoutMs ? { timeout: timeoutMs, killSignal: 'SIGKILL' } : {}) });
  if (r.error) console.error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}
function findTests(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

run('bash', ['scripts/install-test-deps.sh']);
// The native media fast path must build here: the suite tests it (the TypeScript path too).
run(process.execPath, ['scripts/build-native.mjs', '--strict']);
run('npx', ['tsc', '-b']);
run(process.execPath, ['scripts/bundle-jssip.mjs']);
run('npx', ['eslint', '.']);
const filter = process.argv[2];
const files = [];
for (const group of ['libs', 'apps']) {
  const base = join(root, group);
  if (!existsSync(base)) continue;
  for (const pkg of readdirSync(base)) findTests(join(base, pkg, 'dist'), files);
}
findTests(join(root, 'test', 'dist'), files);
const chosen = filter ? files.filter((f) => f.includes(filter)) : files;
if (chosen.length === 0) { console.error('no test files found'); process.exit(1); }
// A test that hangs fails after 3 minutes, and a run that hangs (a leaked handle keeps a
// test process alive) is killed after 30: CI should fail, not wait out its 90 minutes.
run(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=180000', '--test-reporter=spec', ...chosen], 30 * 60 * 1000);
