import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrError, CidrSet, ipBytes, parseCidr } from './cidr.js';

test('IPv4 blocks match their addresses, also in IPv4-mapped IPv6 form', () => {
  const s = new CidrSet(['192.0.2.0/24', '10.1.2.3']);
  assert.equal(s.has('192.0.2.1'), true);
  assert.equal(s.has('192.0.2.255'), true);
  assert.equal(s.has('192.0.3.0'), false);
  assert.equal(s.has('::ffff:192.0.2.77'), true, 'dual-stack sockets report v4 peers mapped');
  assert.equal(s.has('10.1.2.3'), true);
  assert.equal(s.has('10.1.2.4'), false, 'a bare address is a /32');
  assert.equal(s.has('not an address'), false);
});

test('IPv6 blocks, "::" compression and embedded dotted quads', () => {
  const s = new CidrSet(['2001:db8::/32', '::1', 'fe80::/10']);
  assert.equal(s.has('2001:db8:ffff::1'), true);
  assert.equal(s.has('2001:db9::1'), false);
  assert.equal(s.has('::1'), true);
  assert.equal(s.has('0:0:0:0:0:0:0:1'), true);
  assert.equal(s.has('fe80::1%eth0'), true, 'zone id ignored');
  assert.equal(s.has('febf::1'), true);
  assert.equal(s.has('fec0::1'), false);
  assert.deepEqual([...ipBytes('::ffff:1.2.3.4')!], [...ipBytes('1.2.3.4')!]);
});

test('odd prefixes mask inside a byte; /0 matches everything of its family', () => {
  assert.equal(new CidrSet(['127.0.0.0/9']).has('127.127.255.255'), true);
  assert.equal(new CidrSet(['127.0.0.0/9']).has('127.128.0.0'), false);
  assert.equal(new CidrSet(['0.0.0.0/0']).has('203.0.113.9'), true);
  assert.equal(new CidrSet(['0.0.0.0/0']).has('2001:db8::1'), false, 'an IPv4 /0 is not all of IPv6');
  assert.equal(new CidrSet(['::/0']).has('2001:db8::1'), true);
  assert.equal(parseCidr('192.0.2.99/24').bytes[15], 0, 'host bits are cleared');
});

test('bad entries throw CidrError naming the entry', () => {
  assert.throws(() => parseCidr('192.0.2.0/33'), (e: unknown) => e instanceof CidrError && /192\.0\.2\.0\/33.*0-32/.test(e.message));
  assert.throws(() => parseCidr('example.com'), CidrError);
  assert.throws(() => new CidrSet(['10.0.0.0/8', '2001:db8::/200']), /2001:db8::\/200/);
});
