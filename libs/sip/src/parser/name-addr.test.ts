import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipParseError } from './errors.js';
import { formatNameAddr, parseNameAddr, tagOf } from './name-addr.js';
import { parseParams } from './params.js';

test('name-addr with a quoted display name and escapes', () => {
  const n = parseNameAddr('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8');
  assert.equal(n.displayName, 'J Rosenberg \\"');
  assert.equal(n.uri, 'sip:jdrosen@example.com');
  assert.equal(n.params.get('tag'), '98asjd8');
  assert.equal(formatNameAddr(n), '"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8');
  assert.deepEqual(parseNameAddr(formatNameAddr(n)), n);
});

test('quoted display names may hold < > ; , and UTF-8', () => {
  const n = parseNameAddr('"Bob <the, builder>; ok? Grüße" <sip:bob@example.com;transport=tcp>;expires=60');
  assert.equal(n.displayName, 'Bob <the, builder>; ok? Grüße');
  assert.equal(n.uri, 'sip:bob@example.com;transport=tcp');
  assert.deepEqual([...n.params], [['expires', '60']]);
});

test('token display names, with and without LWS before < (RFC 4475 lwsdisp)', () => {
  assert.equal(parseNameAddr('caller<sip:caller@example.com>;tag=323').displayName, 'caller');
  assert.equal(parseNameAddr('Alice   Smith <sip:a@example.com>').displayName, 'Alice Smith');
  assert.equal(parseNameAddr('<sip:a@example.com>').displayName, undefined);
  assert.throws(() => parseNameAddr('Bell, Alexander <sip:a.g.bell@example.com>'), SipParseError);
});

test('addr-spec form: parameters after the URI belong to the header (RFC 3261 §20.10)', () => {
  const n = parseNameAddr('sip:+19725552222@gw1.example.net;unknownparam;tag=x');
  assert.equal(n.uri, 'sip:+19725552222@gw1.example.net');
  assert.deepEqual([...n.params], [['unknownparam', null], ['tag', 'x']]);
  assert.equal(formatNameAddr(n), '<sip:+19725552222@gw1.example.net>;unknownparam;tag=x');
  const w = parseNameAddr('sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n');
  assert.equal(w.params.get('tag'), '1918181833n');
  assert.throws(() => parseNameAddr('sip:user@example.com?Route=%3Csip:sip.example.com%3E'), SipParseError);
});

test('malformed name-addr values are 400s', () => {
  for (const bad of ['', '   ', '"unterminated <sip:a@b>', '"x" sip:a@b', '<sip:a@b', '<>', '< sip:a@b >', '<sip:a@b>;;',
    '<sip:a@b>;tag=', '<sip:a@b> junk', 'sip:a@b;tag="open']) {
    assert.throws(() => parseNameAddr(bad), (e: unknown) => e instanceof SipParseError && e.status === 400, JSON.stringify(bad));
  }
});

test('quoted parameter values keep their quotes', () => {
  const n = parseNameAddr('<sip:alice@df7jal23ls0d.invalid;transport=ws>;reg-id=1;+sip.instance="<urn:uuid:f81d4fae>"');
  assert.equal(n.params.get('+sip.instance'), '"<urn:uuid:f81d4fae>"');
  assert.equal(n.params.get('reg-id'), '1');
});

test('tagOf finds the tag without a full parse', () => {
  assert.equal(tagOf('"A;tag=no" <sip:a@b;tag=no>;tag=yes'), 'yes');
  assert.equal(tagOf('sip:a@b;tag=abc'), 'abc');
  assert.equal(tagOf('sip:a@b ;  TAG = abc ;x'), 'abc');
  assert.equal(tagOf('<sip:a@b>;tagx=1;tag=2'), '2');
  assert.equal(tagOf('<sip:a@b;tag=1>'), undefined);
  assert.equal(tagOf('<sip:a@b>'), undefined);
  assert.equal(tagOf('sip:a@b'), undefined);
  assert.equal(tagOf('<sip:a@b>;tag='), undefined);
  assert.equal(tagOf('<sip:a@b'), undefined);
});

test('parseParams', () => {
  assert.deepEqual([...parseParams(';a=b;C ; d = "x;y" ;e=[::1]')], [['a', 'b'], ['c', null], ['d', '"x;y"'], ['e', '[::1]']]);
  assert.deepEqual([...parseParams('')], []);
  assert.throws(() => parseParams('a=b'), SipParseError);
  assert.throws(() => parseParams(';a=b c'), SipParseError);
});
