// The cluster keys (issue 10 item 8): no Redis means one node in memory and `npm start`
// works; with cluster.redis the node joins (tested by the drills); every mistake is an
// error naming the key and the file, and a Redis that is not there names cluster.redis.url.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/index.js';
import { Gateway } from '../gateway.js';
import { createLogger } from '../logging.js';

function withFile(text: string, body: (path: string) => void | Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cluster-config-'));
  const path = join(dir, 'trapezoid.yaml');
  writeFileSync(path, text);
  return Promise.resolve(body(path)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('no cluster keys: one node, memory store, the defaults', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.cluster.redis, undefined);
  assert.deepEqual([c.cluster.lease.ttl, c.cluster.lease.renew, c.cluster.checkpointInterval], [3, 1, 5]);
});

test('a cluster mistake names the key and the file', () => withFile('cluster:\n  redis:\n    url: http://redis:6379\n  lease:\n    ttl: 1\n    renew: 2\n', (path) => {
  assert.throws(() => loadConfig({ path, env: {} }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cluster\\.redis\\.url: a redis:// or rediss:// URL`));
    assert.match(err.message, /cluster\.lease\.renew: renew must be shorter than ttl/);
    return true;
  });
}));

test('a Redis that is not there: the gateway does not start, and says which key', { timeout: 20_000 }, () => withFile(
  'listeners: [{ protocol: udp, address: 127.0.0.1, port: 0 }]\nhttp: { port: 0 }\nadmin: { enabled: false }\ncluster:\n  redis: { url: "redis://127.0.0.1:1", connectTimeout: 0.5 }\n',
  async (path) => {
    const config = loadConfig({ path, env: {} });
    await assert.rejects(Gateway.start(config, { log: createLogger('error', true) }), /^Error: cluster\.redis\.url: no connection to Redis at redis:\/\/127\.0\.0\.1:1/);
  },
));
