import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TransportInfo } from '@trapezoid/sip';
import { configSchema } from '../config/index.js';
import { TrunkAcl } from './trunk-acl.js';

function from(protocol: string, remoteAddress: string, remotePort: number, tlsPeerNames?: string[]): TransportInfo {
  return { protocol, localAddress: '192.0.2.1', localPort: 5060, remoteAddress, remotePort, ...(tlsPeerNames ? { tlsPeerNames } : {}) };
}

test('UDP: the trunk\'s address and port; anything else from that address is a client', () => {
  const { trunks } = configSchema.parse({ trunks: [{ name: 'pbx', address: '198.51.100.7', port: 5080 }] });
  const acl = new TrunkAcl(trunks);
  assert.equal(acl.identify(from('udp', '198.51.100.7', 5080))?.name, 'pbx');
  assert.equal(acl.identify(from('udp', '198.51.100.7', 5060)), undefined, 'an edge proxy on the same host');
  assert.equal(acl.identify(from('udp', '198.51.100.8', 5080)), undefined);
  assert.equal(acl.identify(from('tcp', '198.51.100.7', 40123)), undefined, 'a UDP trunk does not come over TCP');
  assert.equal(acl.identify(from('ws', '198.51.100.7', 5080)), undefined);
  assert.equal(acl.identify(undefined), undefined);
  assert.equal(acl.isTrunkAddress('198.51.100.7'), true);
});

test('CIDR blocks and port ranges; TCP is matched by address alone (ephemeral ports)', () => {
  const { trunks } = configSchema.parse({
    trunks: [{
      name: 'carrier', address: 'sip.carrier.example', port: 5060,
      source: { addresses: ['203.0.113.0/28', '2001:db8:5::/48'], ports: [5060, '5070-5079'], transports: ['udp', 'tcp'] },
    }],
  });
  const acl = new TrunkAcl(trunks);
  assert.equal(acl.identify(from('udp', '203.0.113.14', 5075))?.name, 'carrier');
  assert.equal(acl.identify(from('udp', '203.0.113.14', 5080)), undefined);
  assert.equal(acl.identify(from('udp', '203.0.113.16', 5060)), undefined);
  assert.equal(acl.identify(from('udp', '2001:db8:5:1::9', 5060))?.name, 'carrier');
  assert.equal(acl.identify(from('tcp', '203.0.113.1', 49152))?.name, 'carrier');
  assert.deepEqual(acl.unidentifiable, []);
});

test('TLS with tlsNames: the verified certificate must carry one of them', () => {
  const { trunks } = configSchema.parse({
    trunks: [{ name: 'secure', address: '192.0.2.50', port: 5061, transport: 'tls', source: { tlsNames: ['sip.carrier.example'] } }],
  });
  const acl = new TrunkAcl(trunks);
  assert.equal(acl.identify(from('tls', '192.0.2.50', 41000, ['sip.carrier.example']))?.name, 'secure');
  assert.equal(acl.identify(from('tls', '192.0.2.50', 41000, ['SIP.Carrier.Example'.toLowerCase(), 'other']))?.name, 'secure');
  assert.equal(acl.identify(from('tls', '192.0.2.50', 41000, ['edge.example'])), undefined);
  assert.equal(acl.identify(from('tls', '192.0.2.50', 41000)), undefined, 'no verified certificate');
});

test('a trunk known by host name only cannot be identified, and says so', () => {
  const { trunks } = configSchema.parse({ trunks: [{ name: 'dns', address: 'sip.example.net' }] });
  const acl = new TrunkAcl(trunks);
  assert.deepEqual(acl.unidentifiable, ['dns']);
  assert.equal(acl.identify(from('udp', '192.0.2.1', 5060)), undefined);
});

test('bad source rules are configuration errors naming the key', () => {
  const bad = (source: unknown): string => {
    const r = configSchema.safeParse({ trunks: [{ name: 't', address: '192.0.2.1', source }] });
    assert.equal(r.success, false);
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };
  assert.match(bad({ addresses: ['192.0.2.0/40'] }), /trunks\.0\.source\.addresses\.0: .*prefix length/);
  assert.match(bad({ ports: ['5090-5080'] }), /trunks\.0\.source\.ports\.0: .*low <= high/);
  assert.match(bad({ tlsNames: ['x.example'] }), /trunks\.0\.source\.tlsNames: .*tls/);
});
