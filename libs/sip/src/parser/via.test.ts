import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCSeq, formatCSeq } from './cseq.js';
import { SipParseError } from './errors.js';
import { formatVia, parseVia } from './via.js';

test('Via with branch, received and rport', () => {
  const v = parseVia('SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport=5066;received=192.0.2.1');
  assert.equal(v.protocol, 'UDP');
  assert.equal(v.host, 'pc33.atlanta.com');
  assert.equal(v.port, 5066);
  assert.equal(v.branch, 'z9hG4bK776asdhds');
  assert.equal(v.rport, 5066);
  assert.equal(v.received, '192.0.2.1');
  assert.equal(formatVia(v), 'SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport=5066;received=192.0.2.1');
});

test('rport without value is null; a transport fills received and rport in (RFC 3581 §4)', () => {
  const v = parseVia('SIP/2.0/UDP 10.0.0.1;rport;branch=z9hG4bKx');
  assert.equal(v.rport, null);
  assert.equal(v.received, undefined);
  v.rport = 40123;
  v.received = '198.51.100.4';
  assert.equal(formatVia(v), 'SIP/2.0/UDP 10.0.0.1;rport=40123;branch=z9hG4bKx;received=198.51.100.4');
  assert.equal(parseVia(formatVia(v)).rport, 40123);
});

test('IPv6 sent-by and received', () => {
  const v = parseVia('SIP/2.0/TCP [2001:db8::9:1]:5060;branch=z9hG4bKas3;received=2001:db8::9:255');
  assert.equal(v.host, '2001:db8::9:1');
  assert.equal(v.port, 5060);
  assert.equal(v.received, '2001:db8::9:255');
  assert.equal(formatVia(v), 'SIP/2.0/TCP [2001:db8::9:1]:5060;branch=z9hG4bKas3;received=2001:db8::9:255');
});

test('WebSocket transports (RFC 7118) and unknown ones', () => {
  assert.equal(parseVia('SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks').protocol, 'WS');
  assert.equal(parseVia('SIP/2.0/wss df7jal23ls0d.invalid;branch=z9hG4bK56sdasks').protocol, 'WSS');
  assert.equal(parseVia('SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en').protocol, 'UNKNOWN');
});

test('LWS around / : ; = is legal (RFC 4475 wsinv)', () => {
  const v = parseVia('SIP  /   2.0 /UDP    192.0.2.2 : 5060 ;  branch  =   z9hG4bK9ikj8 ; ttl=16');
  assert.equal(v.protocol, 'UDP');
  assert.equal(v.host, '192.0.2.2');
  assert.equal(v.port, 5060);
  assert.equal(v.branch, 'z9hG4bK9ikj8');
  assert.equal(v.params.get('ttl'), '16');
});

test('branch may be the bare magic cookie or absent (RFC 4475 badbranch, inv2543)', () => {
  assert.equal(parseVia('SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK').branch, 'z9hG4bK');
  assert.equal(parseVia('SIP/2.0/UDP iftgw.example.com').branch, undefined);
});

test('malformed Vias are 400s', () => {
  for (const bad of ['', 'SIP/2.0/UDP', 'SIP/2.0 192.0.2.1', 'SIP/2.0/UDP 192.0.2.15;;', 'SIP/2.0/UDP ;', 'HTTP/1.1/TCP h',
    'SIP/2.0/UDP h:99999', 'SIP/2.0/UDP h;branch', 'SIP/2.0/UDP h;rport=x', 'SIP/2.0/UDP [::1', 'SIP/2.0/UDPhost',
    'SIP/2.0/UDP h;received']) {
    assert.throws(() => parseVia(bad), (e: unknown) => e instanceof SipParseError && e.status === 400, JSON.stringify(bad));
  }
});

test('CSeq', () => {
  assert.deepEqual(parseCSeq('4711 INVITE'), { seq: 4711, method: 'INVITE' });
  assert.deepEqual(parseCSeq(' 0009   INVITE '), { seq: 9, method: 'INVITE' });
  assert.deepEqual(parseCSeq('4294967295 BYE'), { seq: 4294967295, method: 'BYE' });
  assert.equal(formatCSeq({ seq: 1, method: 'ACK' }), '1 ACK');
  assert.throws(() => parseCSeq('4294967296 BYE'), /CSeq number out of range/);
  assert.throws(() => parseCSeq('36893488147419103232 REGISTER'), /out of range/);
  for (const bad of ['', 'INVITE', '1', '1INVITE', '-1 INVITE', '1 IN VITE', '1 INV"ITE']) {
    assert.throws(() => parseCSeq(bad), SipParseError, bad);
  }
});
