// The shared store suite against a real redis-server (started here on loopback, port
// 13900 of this file's range), then what only a server can show: the store tells when
// Redis is gone and back, a password is required when set, and the writer and the lease
// catch up after Redis was killed and restarted with nothing in it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { RedisServerProcess } from './redis-server.js';
import { RedisStore } from './redis-store.js';
import { LeaseKeeper } from './lease.js';
import { RecordWriter } from './writer.js';
import { nodeInfo, sampleRecord, sleep, storeSuite } from './store-suite.js';

const server = new RedisServerProcess({ port: 13900, password: 'store-suite-secret' });
before(() => server.start());
after(() => server.kill());

const open = (prefix: string): Promise<RedisStore> => RedisStore.connect({ url: server.url, prefix, commandTimeoutMs: 500, reconnectMs: 100 });

storeSuite('redis', {
  fresh: () => {
    const prefix = `suite-${randomBytes(4).toString('hex')}:`;
    return Promise.resolve({ node: () => open(prefix), close: () => Promise.resolve() });
  },
});

describe('Redis store with a real server', { timeout: 60_000 }, () => {
  it('TLS with a password (records hold SRTP keys): the store works over rediss://, and refuses a server it cannot verify', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fo-redis-tls-'));
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', '2', '-subj', '/CN=redis.test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tlsServer = new RedisServerProcess({ port: 13905, password: 'tls-secret', tls: { certFile, keyFile } });
    await tlsServer.start();
    try {
      assert.match(tlsServer.url, /^rediss:\/\//);
      const s = await RedisStore.connect({ url: tlsServer.url, tls: { ca: readFileSync(certFile) }, prefix: 'tls:' });
      const lease = await s.acquireLease(nodeInfo('a'), 5000);
      assert.deepEqual(await s.put(sampleRecord('c1', lease.owner), lease, 1000), { ok: true });
      assert.equal((await s.get('c1'))?.id, 'c1');
      await s.close();
      // Without the server's certificate as a trust anchor the connection is refused.
      await assert.rejects(RedisStore.connect({ url: tlsServer.url, commandTimeoutMs: 500 }, 1500), /Redis/);
    } finally {
      await tlsServer.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a wrong password is a clear error at connect', async () => {
    const t0 = Date.now();
    await assert.rejects(RedisStore.connect({ url: server.url.replace('store-suite-secret', 'wrong'), commandTimeoutMs: 500 }, 5000),
      (err: Error) => /refused the credentials/.test(err.message) && !err.message.includes('wrong'));
    assert.ok(Date.now() - t0 < 2000, 'refused at once, not after the connect timeout');
  });

  it('Redis killed and restarted empty: writes wait (never blocking), the lease is taken again, every live record is rewritten', async () => {
    const s = await open(`restart-${randomBytes(4).toString('hex')}:`);
    const keeper = new LeaseKeeper(s, nodeInfo('a'), { ttlMs: 600, renewMs: 150 });
    await keeper.start();
    const writer = new RecordWriter(s, { lease: () => keeper.lease, endedTtlMs: 1000 });
    keeper.on('reacquired', () => writer.catchUp());
    let suspended = 0;
    keeper.on('suspended', () => suspended++);
    writer.write(sampleRecord('c1', keeper.owner));
    await writer.idle();

    const down = once(s, 'down');
    await server.kill();
    await down;
    assert.equal(s.connected, false);
    const t0 = performance.now();
    writer.write({ ...sampleRecord('c2', keeper.owner), to: 'set up while Redis was down' });
    writer.write({ ...sampleRecord('c1', keeper.owner), endReason: 'changed while Redis was down' });
    assert.ok(performance.now() - t0 < 5, 'write() returns at once');
    await sleep(900);
    assert.equal(suspended, 0, 'Redis refusing connections is no reason to stop the calls');
    assert.deepEqual(writer.waiting.sort(), ['c1', 'c2']);

    const up = once(s, 'up');
    const reacquired = once(keeper, 'reacquired');
    await server.start();
    await up;
    await reacquired;
    await writer.idle();
    assert.equal((await s.get('c2'))?.to, 'set up while Redis was down', 'the call set up while Redis was down is in the store');
    assert.equal((await s.get('c1'))?.endReason, 'changed while Redis was down', 'the call changed meanwhile has its latest state');
    assert.deepEqual((await s.owned(keeper.owner)).sort(), ['c1', 'c2']);
    assert.equal((await s.nodes()).find((n) => n.owner === keeper.owner)?.alive, true, 'the node is registered again');
    writer.close();
    await keeper.release();
    await s.close();
  });
});
