import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../config/index.js';
import { exposureWarnings, isLoopback, mayServeDemoPassword } from './exposure.js';

test('loopback addresses', () => {
  for (const a of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
  for (const a of ['0.0.0.0', '::', '10.0.0.1', '192.0.2.1', '::ffff:10.0.0.1']) assert.equal(isLoopback(a), false, a);
});

test('the demo password is served only by a loopback HTTP listener with the demo on', () => {
  const loop = configSchema.parse({ http: { demo: true } });
  assert.equal(mayServeDemoPassword(loop), true);
  assert.equal(mayServeDemoPassword(configSchema.parse({ http: { demo: true, address: '0.0.0.0' } })), false);
  assert.equal(mayServeDemoPassword(configSchema.parse({ http: { demo: false } })), false);
});

test('demo and echo reachable beyond loopback are warned about; the loopback demo is quiet', () => {
  const quiet = configSchema.parse({ http: { demo: true }, routes: [{ match: '^echo$', internal: 'echo' }], users: [{ username: 'u', password: 'p' }] });
  assert.deepEqual(exposureWarnings(quiet), []);
  const open = configSchema.parse({
    listeners: [{ protocol: 'ws', address: '0.0.0.0', port: 8088 }], http: { demo: true },
    routes: [{ match: '^echo$', internal: 'echo' }], users: [{ username: 'u', password: 'p' }],
  });
  const events = exposureWarnings(open).map((w) => w.meta.event);
  assert.deepEqual(events, ['demo-exposed', 'echo-exposed']);
  assert.deepEqual(exposureWarnings(open)[0]!.meta.listeners, ['ws 0.0.0.0:8088']);
});
