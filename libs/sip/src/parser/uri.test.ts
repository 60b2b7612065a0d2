import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipParseError } from './errors.js';
import { normalizeHost } from './host.js';
import { escapeUri, formatUri, parseUri, unescapeUri, uriEquals, type SipUri, type TelUri } from './uri.js';

const sip = (t: string): SipUri => parseUri(t) as SipUri;
const eq = (a: string, b: string): boolean => uriEquals(parseUri(a), parseUri(b));

test('SIP URI parts', () => {
  const u = sip('sip:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent');
  assert.equal(u.scheme, 'sip');
  assert.equal(u.user, 'alice');
  assert.equal(u.password, 'secret');
  assert.equal(u.host, 'atlanta.com');
  assert.equal(u.port, 5061);
  assert.deepEqual([...u.params], [['transport', 'tcp'], ['lr', null]]);
  assert.deepEqual([...u.headers], [['subject', 'project%20x'], ['priority', 'urgent']]);
  assert.equal(formatUri(u), 'sip:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent');
});

test('sips and scheme case', () => {
  const u = sip('SIPS:bob@Biloxi.Example.com');
  assert.equal(u.scheme, 'sips');
  assert.equal(u.host, 'Biloxi.Example.com');
  assert.equal(formatUri(u), 'sips:bob@Biloxi.Example.com');
});

test('IPv6 references: brackets off in the object, back on when formatted', () => {
  const u = sip('sip:bob@[2001:db8::10]:5070;maddr=[2001:db8::1]');
  assert.equal(u.host, '2001:db8::10');
  assert.equal(u.port, 5070);
  assert.equal(u.params.get('maddr'), '[2001:db8::1]');
  assert.equal(formatUri(u), 'sip:bob@[2001:db8::10]:5070;maddr=[2001:db8::1]');
  assert.equal(sip('sip:[::1]').host, '::1');
  assert.throws(() => parseUri('sip:bob@[2001:db8::zz]'), SipParseError);
  assert.throws(() => parseUri('sip:bob@[2001:db8::1'), SipParseError);
  // RFC 5118 §4.8-ish: different spellings of one address compare equal
  assert.ok(eq('sip:bob@[2001:db8::9:1]', 'sip:bob@[2001:DB8:0:0:0:0:9:1]'));
  assert.equal(normalizeHost('::ffff:192.0.2.1'), '0:0:0:0:0:ffff:c000:201');
  assert.equal(normalizeHost('::1'), '0:0:0:0:0:0:0:1');
});

test('escaping: kept in wire form, unescaped once on request', () => {
  const u = sip('sip:I%20have%20spaces@example.net;n%61me=v%61lue%25%34%31');
  assert.equal(u.user, 'I%20have%20spaces');
  assert.equal(unescapeUri(u.user!), 'I have spaces');
  assert.equal(unescapeUri('v%61lue%25%34%31'), 'value%41');
  assert.equal(unescapeUri('%C3%A9t%C3%A9'), 'été');
  assert.equal(unescapeUri('null-%00-null').length, 11);
  assert.equal(escapeUri('a b@c'), 'a%20b%40c');
  assert.throws(() => parseUri('sip:bad%zzuser@example.com'), SipParseError);
  assert.throws(() => parseUri('sip:user%4@example.com'), SipParseError);
});

test('user part may hold ; ? / , and the password part & = + $ (RFC 4475 intmeth, semiuri)', () => {
  const u = sip('sip:user;par=u%40example.net@example.com');
  assert.equal(u.user, 'user;par=u%40example.net');
  assert.equal(u.params.size, 0);
  const v = sip('sip:a?b/c,d:&p=w+$@h.example.com;x');
  assert.equal(v.user, 'a?b/c,d');
  assert.equal(v.password, '&p=w+$');
  assert.deepEqual([...v.params], [['x', null]]);
});

test('malformed SIP URIs', () => {
  for (const bad of ['sip:', 'sip:@host', 'sip:user@', 'sip:host:99999', 'sip:host:5x', 'sip:host;;lr', 'sip:host;=x',
    'sip:ho st', 'sip:host?=x', 'sip:us er@host', '<sip:host>', 'sip host', ':host', '1sip:host', 'sip:host;a=b c']) {
    assert.throws(() => parseUri(bad), (e: unknown) => e instanceof SipParseError && e.status === 400, bad);
  }
});

test('tel URIs (RFC 3966)', () => {
  const t = parseUri('tel:+1-201-555-0123;ext=42') as TelUri;
  assert.equal(t.scheme, 'tel');
  assert.equal(t.number, '+1-201-555-0123');
  assert.equal(t.params.get('ext'), '42');
  assert.equal(formatUri(t), 'tel:+1-201-555-0123;ext=42');
  assert.ok(eq('tel:+1-201-555-0123', 'tel:+12015550123'));
  assert.ok(!eq('tel:+12015550123', 'tel:+12015550124'));
  assert.ok(!eq('tel:7042;phone-context=a.example.com', 'tel:7042;phone-context=b.example.com'));
  assert.throws(() => parseUri('tel:'), SipParseError);
  assert.throws(() => parseUri('tel:12+34'), SipParseError);
});

test('absolute URIs of other schemes are kept opaque', () => {
  assert.deepEqual(parseUri('soap.beep://192.0.2.103:3002'), { scheme: 'soap.beep', opaque: '//192.0.2.103:3002' });
  assert.deepEqual(parseUri('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6'), { scheme: 'urn', opaque: 'uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6' });
  assert.equal(formatUri(parseUri('http://www.example.com/x?y=1')), 'http://www.example.com/x?y=1');
  assert.throws(() => parseUri('isbn:'), SipParseError);
  assert.throws(() => parseUri('isbn:12 34'), SipParseError);
});

test('RFC 3261 §19.1.4 equal URIs', () => {
  assert.ok(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'));
  assert.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'));
  assert.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'));
  assert.ok(eq('sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'));
  assert.ok(eq('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
    'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'));
  assert.ok(eq('sip:alice@atlanta.com?subject=project%20x&priority=urgent',
    'sip:alice@atlanta.com?priority=urgent&subject=project%20x'));
});

test('RFC 3261 §19.1.4 unequal URIs', () => {
  assert.ok(!eq('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'));
  assert.ok(!eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'));
  assert.ok(!eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'));
  assert.ok(!eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'));
  assert.ok(!eq('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'));
  assert.ok(!eq('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'));
  assert.ok(!eq('sip:alice@atlanta.com', 'sips:alice@atlanta.com'));
  assert.ok(!eq('sip:alice@atlanta.com', 'tel:+1'));
  assert.ok(!eq('sip:alice:pw@atlanta.com', 'sip:alice@atlanta.com'));
});
