import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../config/index.js';
import { Router } from './routing.js';

const config = configSchema.parse({
  trunks: [
    { name: 'a', address: '127.0.0.1', port: 5070 },
    { name: 'b', address: '127.0.0.1', port: 5080, codecs: ['PCMA'] },
  ],
  routes: [
    { match: '^00(\\d+)$', rewrite: '+$1', trunk: 'b' },
    { match: '^9(\\d+)$', rewrite: '$1', trunks: ['b', 'a'] },
    { match: '^\\+?\\d+$', trunk: 'a' },
    { match: '^echo$', internal: 'echo' },
  ],
  inbound: [{ match: '^\\+1555', aor: 'sip:agent@x' }],
});

test('first matching route wins, with its rewrite', () => {
  const r = new Router(config);
  assert.deepEqual(r.outbound('0044123'), { kind: 'trunk', trunk: config.trunks[1], trunks: [config.trunks[1]], number: '+44123' });
  assert.deepEqual(r.outbound('9123'), { kind: 'trunk', trunk: config.trunks[1], trunks: [config.trunks[1], config.trunks[0]], number: '123' });
  assert.equal(r.outbound('+44123')?.kind === 'trunk' && r.outbound('+44123')?.number, '+44123');
  assert.deepEqual(r.outbound('echo'), { kind: 'internal', service: 'echo', number: 'echo' });
  assert.equal(r.outbound('nobody'), undefined);
});

test('inbound numbers map to an agent AOR', () => {
  const r = new Router(config);
  assert.equal(r.inboundAor('+15551234')?.aor, 'sip:agent@x');
  assert.equal(r.inboundAor('+4420'), undefined);
});

test('a request is attributed to the trunk whose address and port it came from', () => {
  const r = new Router(config);
  const udp = (remoteAddress: string, remotePort: number) => ({ protocol: 'udp', localAddress: '127.0.0.1', localPort: 5060, remoteAddress, remotePort });
  assert.equal(r.trunkFrom(udp('127.0.0.1', 5080))?.name, 'b');
  assert.equal(r.trunkFrom(udp('127.0.0.1', 5070))?.name, 'a');
  assert.equal(r.trunkFrom(udp('127.0.0.1', 40000)), undefined, 'another port of a trunk\'s address is a client');
  assert.equal(r.trunkFrom(udp('127.0.0.2', 5080)), undefined);
});
