import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, configPathFrom, ConfigError } from './index.js';

function withFile(text: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'trapezoid-config-'));
  const path = join(dir, 'gateway.yaml');
  writeFileSync(path, text);
  try { fn(path); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('no file gives the embedded demo: a ws listener, the echo route and a demo user', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.listeners[0]!.protocol, 'ws');
  assert.equal(c.routes[0]!.internal, 'echo');
  assert.equal(c.users[0]!.username, 'demo');
  assert.equal(c.http.demo, true);
  assert.ok(c.media.portMin < c.media.portMax);
});

test('a configuration file starts from safe defaults: no demo page, no echo route, no demo user (issue 8)', () => {
  withFile('domain: sip.example.com\n', (path) => {
    const c = loadConfig({ path, env: {} });
    assert.equal(c.http.demo, false);
    assert.deepEqual(c.routes, []);
    assert.deepEqual(c.users, []);
  });
  withFile('http: { demo: true }\nroutes: [{ match: "^echo$", internal: echo }]\n', (path) => {
    const c = loadConfig({ path, env: {} });
    assert.equal(c.http.demo, true, 'configured explicitly');
    assert.equal(c.routes[0]!.internal, 'echo');
  });
});

test('a wrong type names the key and the file', () => {
  withFile('media:\n  portMin: "low"\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: media\\.portMin: .*number`));
      return true;
    });
  });
});

test('an unknown key is refused by name', () => {
  withFile('listeners:\n  - protocol: ws\n    port: 8088\n    prot: 1\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), /listeners\.0: .*prot/);
  });
});

test('a route to an undefined trunk is refused', () => {
  withFile('routes:\n  - match: "^9"\n    trunk: nowhere\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), /routes\.0\.trunk: no trunk named "nowhere"/);
  });
});

test('a trunk codec that libs/sdp cannot read is refused by name at startup', () => {
  withFile('trunks:\n  - name: t\n    address: 127.0.0.1\n    codecs: [PCMU, "PCMA/8k"]\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), /trunks\.0\.codecs: codec policy entry "PCMA\/8k" is not name\[\/clock\[\/channels\]\]/);
  });
});

test('a wss listener without certificates is refused', () => {
  withFile('listeners:\n  - protocol: wss\n    port: 8443\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), /listeners\.0\.tls: tls and wss listeners need/);
  });
});

test('environment overrides reach nested keys and list items, and are named in errors', () => {
  withFile('trunks:\n  - name: carrier\n    address: 127.0.0.1\n', (path) => {
    const c = loadConfig({ path, env: { TRAPEZOID_MEDIA__PORT_MIN: '21000', TRAPEZOID_TRUNKS__0__PORT: '5070' } });
    assert.equal(c.media.portMin, 21000);
    assert.equal(c.trunks[0]!.port, 5070);
    assert.equal(c.media.native, true, 'the native media fast path is on by default');
    // The same variable switches the media library's fast path off outside the gateway.
    assert.equal(loadConfig({ path, env: { TRAPEZOID_MEDIA__NATIVE: 'false' } }).media.native, false);
    assert.throws(() => loadConfig({ path, env: { TRAPEZOID_TRUNKS__0__PORT: 'x' } }), /TRAPEZOID_TRUNKS__0__PORT \(environment\): trunks\.0\.port/);
  });
});

test('broken YAML and a missing file are reported with the path', () => {
  withFile('media: [\n', (path) => assert.throws(() => loadConfig({ path, env: {} }), /invalid YAML at line/));
  assert.throws(() => loadConfig({ path: '/nonexistent/trapezoid.yaml', env: {} }), /cannot read config file \/nonexistent\/trapezoid.yaml: ENOENT/);
});

test('--config wins over TRAPEZOID_CONFIG', () => {
  assert.equal(configPathFrom(['--config', 'a.yaml'], { TRAPEZOID_CONFIG: 'b.yaml' }), 'a.yaml');
  assert.equal(configPathFrom(['--config=c.yaml'], {}), 'c.yaml');
  assert.equal(configPathFrom([], { TRAPEZOID_CONFIG: 'b.yaml' }), 'b.yaml');
});

test('the example in docs/configuration.md is a valid configuration', () => {
  const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
  withFile(yaml, (path) => {
    const c = loadConfig({ path, env: {} });
    assert.equal(c.trunks[0]!.name, 'carrier');
    assert.equal(c.routes.length, 3);
    assert.equal(c.listeners[0]!.protocol, 'wss');
  });
});

test('edge auth keys: a bad JWK Set, a missing JWT key and a bad exemption name the key and the file', () => {
  withFile('auth:\n  jwt: { jwks: /nonexistent/jwks.json }\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), (err: unknown) =>
      err instanceof ConfigError && err.message.includes(`${path}: auth.jwt.jwks: /nonexistent/jwks.json: ENOENT`));
  });
  withFile('auth:\n  jwt: { userClaim: sub }\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), /auth\.jwt: a JWT check needs secrets or jwks/);
  });
  withFile('websocket:\n  exempt: [10.0.0.0/33]\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), /websocket\.exempt\.0: .*prefix length/);
  });
  withFile('auth:\n  ephemeral: { secrets: [short] }\n', (path) => {
    assert.throws(() => loadConfig({ path, env: {} }), /auth\.ephemeral\.secrets\.0/);
  });
  const dir = mkdtempSync(join(tmpdir(), 'trapezoid-jwks-'));
  try {
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b', kid: 'big' }] }));
    withFile(`auth:\n  jwt: { jwks: ${jwks} }\n`, (path) => {
      assert.throws(() => loadConfig({ path, env: {} }), /auth\.jwt\.jwks: .*key big: kty EC P-384 is not RSA, EC P-256 or oct/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
