// Our own corpus (corpus.ts): every message parses, validates and round-trips,
// and the structured views give what a gateway relies on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipRequest, SipResponse } from '../message/message.js';
import { CORPUS } from './corpus.js';
import { frameLength } from './framing.js';
import { parseMessage } from './message-parser.js';
import { parseNameAddr, tagOf } from './name-addr.js';
import { parseUri, formatUri, type SipUri, type TelUri } from './uri.js';
import { parseVia, formatVia } from './via.js';
import { validateRequest, validateResponse } from './validate.js';

const parsed = (name: string): SipRequest | SipResponse => parseMessage(Buffer.from(CORPUS[name]!, 'utf8'), { maxMessageBytes: 1 << 20 });

for (const [name, text] of Object.entries(CORPUS)) {
  test(`corpus ${name}: parse, validate, frame, round-trip`, () => {
    const buf = Buffer.from(text, 'utf8');
    const limits = { maxMessageBytes: 1 << 20 };
    const m = parseMessage(buf, limits);
    if (m instanceof SipRequest) validateRequest(m);
    else validateResponse(m as SipResponse);
    assert.equal(frameLength(buf, limits), buf.length);
    const again = parseMessage(m.toBuffer(), limits);
    assert.deepEqual(again.headers.lines(), m.headers.lines());
    assert.ok(again.body.equals(m.body));
    // Written in canonical form, every message but the compact one comes out byte for byte.
    assert.equal(m.toBuffer().equals(buf), name !== 'compact-forms', 'serializes to the same bytes');
    for (const v of m.headers.getAll('via')) assert.equal(formatVia(parseVia(v)).replace(/ +/g, ' '), v);
  });
}

test('corpus jssip-invite: WSS Via to an .invalid host, SDP body intact', () => {
  const m = parsed('jssip-invite') as SipRequest;
  const via = parseVia(m.headers.get('via')!);
  assert.deepEqual([via.protocol, via.host, via.port, via.branch], ['WSS', '3k8d2mf9q1ab.invalid', undefined, 'z9hG4bK5371823']);
  assert.match(m.body.toString(), /^v=0\r\n[\s\S]*a=fingerprint:sha-256 6B:8B[\s\S]*a=ssrc:1820463216 msid:/);
  assert.equal(m.headers.get('content-length'), String(m.body.length));
  assert.ok(m.toBuffer().length > 1900 && m.toBuffer().length < 2600);
  // Authorization holds commas but is not a list header
  assert.equal(m.headers.getAll('authorization').length, 1);
  const contact = parseUri(parseNameAddr(m.headers.get('contact')!).uri) as SipUri;
  assert.deepEqual([...contact.params], [['transport', 'ws'], ['ob', null]]);
});

test('corpus ws-register: RFC 7118 Via and the outbound Contact parameters', () => {
  const m = parsed('ws-register');
  const via = parseVia(m.headers.get('via')!);
  assert.equal(via.protocol, 'WS');
  assert.equal(via.rport, null);
  const c = parseNameAddr(m.headers.get('contact')!);
  assert.equal(c.params.get('+sip.instance'), '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"');
  assert.equal(c.params.get('expires'), '600');
});

test('corpus ipv6-invite: IPv6 Request-URI, Vias, Contact', () => {
  const m = parsed('ipv6-invite') as SipRequest;
  const ruri = parseUri(m.uri) as SipUri;
  assert.deepEqual([ruri.host, ruri.port, ruri.params.get('transport')], ['2001:db8::10', 5070, 'udp']);
  const [v1, v2] = m.headers.getAll('via').map(parseVia);
  assert.deepEqual([v1!.host, v1!.port, v1!.rport, v1!.received], ['2001:db8::9:1', 5060, null, '2001:db8::9:255']);
  assert.equal(v2!.host, '2001:db8::1');
  assert.equal(formatUri(ruri), m.uri);
  assert.equal((parseUri(parseNameAddr(m.headers.get('contact')!).uri) as SipUri).host, '2001:db8::9:1');
});

test('corpus tel-invite: tel Request-URI, To and P-Asserted-Identity list', () => {
  const m = parsed('tel-invite') as SipRequest;
  const ruri = parseUri(m.uri) as TelUri;
  assert.deepEqual([ruri.scheme, ruri.number, ruri.params.get('phone-context')], ['tel', '+1-201-555-0123', '+1']);
  assert.equal((parseUri(parseNameAddr(m.headers.get('to')!).uri) as TelUri).number, '+12015550123');
  assert.deepEqual(m.headers.getAll('p-asserted-identity').map((v) => parseUri(parseNameAddr(v).uri).scheme), ['tel', 'sip']);
  assert.equal(tagOf(m.headers.get('from')!), '1928301774');
});

test('corpus sips-options: sips scheme everywhere', () => {
  const m = parsed('sips-options') as SipRequest;
  assert.equal(parseUri(m.uri).scheme, 'sips');
  assert.equal(parseNameAddr(m.headers.get('from')!).displayName, 'Alice');
  assert.equal(parseVia(m.headers.get('via')!).protocol, 'TLS');
});

test('corpus compact-forms: every compact name lands on its long name', () => {
  const m = parsed('compact-forms');
  for (const [name, value] of [['via', 'SIP/2.0/TCP 192.0.2.4:5060;branch=z9hG4bKcmp1'], ['from', '<sip:alice@example.com>;tag=abc'],
    ['to', '<sip:bob@example.com>'], ['call-id', 'compact-1@192.0.2.4'], ['contact', '<sip:alice@192.0.2.4>'], ['event', 'dialog'],
    ['supported', 'eventlist'], ['subject', 'compact everything'], ['session-expires', '1800;refresher=uac'],
    ['content-type', 'application/dialog-info+xml']] as const) {
    assert.equal(m.headers.get(name), value, name);
  }
  assert.deepEqual(m.headers.getAll('allow-events'), ['dialog', 'presence']);
  assert.match(m.toString(), /\r\nVia: SIP\/2.0\/TCP/);
});

test('corpus multi-value: Via and Contact lists across and within lines', () => {
  const m = parsed('multi-value');
  const vias = m.headers.getAll('via').map(parseVia);
  assert.deepEqual(vias.map((v) => v.host), ['proxy2.example.com', 'proxy1.example.com', '192.0.2.1', '192.0.2.2']);
  assert.equal(vias[2]!.received, '192.0.2.201');
  const contacts = m.headers.getAll('contact').map(parseNameAddr);
  assert.equal(contacts.length, 3);
  assert.equal(contacts[1]!.displayName, 'Bob, mobile');
  assert.deepEqual([...contacts[1]!.params], [['expires', '1800'], ['q', '0.5']]);
  assert.equal(contacts[2]!.uri, 'sip:bob@203.0.113.9');
  assert.equal(contacts[2]!.params.get('expires'), '60');
  assert.equal(m.headers.getAll('record-route').length, 2);
});

test('corpus big-message: a 42 KB UTF-8 body within the default 64 KB limit', () => {
  const text = CORPUS['big-message']!;
  const m = parseMessage(Buffer.from(text, 'utf8'));
  assert.equal(m.body.toString('utf8'), 'Grüße aus dem Callcenter. '.repeat(1500));
  assert.equal(Number(m.headers.get('content-length')), m.body.length);
});

test('corpus refer-replaces: escaped Replaces header inside Refer-To', () => {
  const m = parsed('refer-replaces');
  const target = parseUri(parseNameAddr(m.headers.get('refer-to')!).uri) as SipUri;
  assert.equal(target.headers.get('Replaces'), 'abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2');
});
