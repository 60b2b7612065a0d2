import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Headers, splitList } from './headers.js';
import { SipRequest } from './message.js';

test('compact forms are stored under their long names', () => {
  const h = new Headers().append('v', 'SIP/2.0/UDP a;branch=z9hG4bK1').append('Via', 'SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c');
  assert.equal(h.countLines('via'), 2);
  assert.deepEqual(h.getAll('VIA').length, 3);
  assert.equal(h.get('v'), 'SIP/2.0/UDP a;branch=z9hG4bK1');
});

test('list splitting respects quotes and angle brackets', () => {
  assert.deepEqual(splitList('"a, b" <sip:x@y;p=1,2>, <sip:z>'), ['"a, b" <sip:x@y;p=1,2>', '<sip:z>']);
});

test('non-list headers are never split', () => {
  const h = new Headers().append('WWW-Authenticate', 'Digest realm="a", nonce="b"');
  assert.deepEqual(h.getAll('www-authenticate'), ['Digest realm="a", nonce="b"']);
});

test('serialization recomputes Content-Length', () => {
  const r = new SipRequest('OPTIONS', 'sip:a@b');
  r.headers.append('Content-Length', '99').append('call-id', 'x');
  r.setBody('hello', 'text/plain');
  const s = r.toString();
  assert.match(s, /^OPTIONS sip:a@b SIP\/2.0\r\nCall-ID: x\r\nContent-Type: text\/plain\r\nContent-Length: 5\r\n\r\nhello$/);
});
