// close() must leave nothing behind: a process that opened every kind of listening
// point and connection, then closed its layers, exits on its own.

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

const layerUrl = new URL('./layer.js', import.meta.url).href;
const testingUrl = new URL('./testing.js', import.meta.url).href;

const script = `
import * as net from 'node:net';
import { TransportLayer } from ${JSON.stringify(layerUrl)};
import { optionsRequest, selfSignedCert, nextMessage } from ${JSON.stringify(testingUrl)};
const tls = selfSignedCert();
const a = new TransportLayer({ tlsClient: { ca: tls.cert }, keepaliveIntervalMs: 50, idleTimeoutMs: 60000 });
const b = new TransportLayer({ keepaliveIntervalMs: 50 });
await a.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
for (const protocol of ['udp', 'tcp', 'tls', 'ws', 'wss']) {
  const { port } = await b.listen({ protocol, address: '127.0.0.1', port: 0, tls });
  const got = nextMessage(b);
  await a.send(optionsRequest(protocol.toUpperCase(), '127.0.0.1', 5060), { protocol, address: '127.0.0.1', port });
  await got;
}
// A TLS handshake still pending when close() runs (the server never answers) must
// not linger either.
const silent = net.createServer((s) => s.on('error', () => {}));
await new Promise((r) => silent.listen(0, '127.0.0.1', r));
const hanging = a.send(optionsRequest('TLS', '127.0.0.1', 5061), { protocol: 'tls', address: '127.0.0.1', port: silent.address().port }).catch((e) => e.name);
await new Promise((r) => setTimeout(r, 100));
await Promise.all([a.close(), b.close()]);
silent.close();
console.log('closed', await hanging);
`;

describe('close()', { timeout: 20_000 }, () => {
  it('leaves no handle open: the process exits by itself', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const t0 = Date.now();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    assert.equal(code, 0, out);
    assert.match(out, /^closed TransportError/m);
    assert.ok(Date.now() - t0 < 8000, 'exited promptly');
  });
});
