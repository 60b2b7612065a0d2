import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipError, SipRequest, SipResponse } from '../message/message.js';
import { parseMessage } from './message-parser.js';
import { validateRequest, validateResponse } from './validate.js';

const BASE: Array<[string, string]> = [
  ['Via', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1'], ['From', '<sip:alice@example.com>;tag=1'], ['To', '<sip:bob@example.com>'],
  ['Call-ID', 'abc@192.0.2.1'], ['CSeq', '1 INVITE'], ['Max-Forwards', '70'],
];

function request(edit: (h: Array<[string, string]>) => Array<[string, string]> = (h) => h, method = 'INVITE', uri = 'sip:bob@example.com'): SipRequest {
  const lines = [method + ' ' + uri + ' SIP/2.0', ...edit(BASE.map(([n, v]) => [n, v] as [string, string])).map(([n, v]) => n + ': ' + v), 'Content-Length: 0'];
  return parseMessage(Buffer.from(lines.join('\r\n') + '\r\n\r\n')) as SipRequest;
}
const without = (name: string) => (h: Array<[string, string]>) => h.filter(([n]) => n !== name);
const replace = (name: string, value: string) => (h: Array<[string, string]>) => h.map(([n, v]) => [n, n === name ? value : v] as [string, string]);
const rejects = (r: SipRequest, status: number, reason: RegExp, options?: Parameters<typeof validateRequest>[1]): void => {
  assert.throws(() => validateRequest(r, options), (e: unknown) => e instanceof SipError && e.status === status && reason.test(e.reason));
};

test('a well-formed request passes and its CSeq comes back', () => {
  assert.deepEqual(validateRequest(request()), { seq: 1, method: 'INVITE' });
});

test('each mandatory header is required; Max-Forwards is not (RFC 2543 peers)', () => {
  for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) rejects(request(without(name)), 400, new RegExp('missing ' + name));
  assert.doesNotThrow(() => validateRequest(request(without('Max-Forwards'))));
});

test('single-valued headers must not repeat', () => {
  rejects(request((h) => [...h, ['To', '<sip:carol@example.com>']]), 400, /multiple To/);
  rejects(request((h) => [...h, ['Content-Type', 'a/b'], ['Content-Type', 'c/d']]), 400, /multiple Content-Type/);
  // Via and Contact may repeat
  assert.doesNotThrow(() => validateRequest(request((h) => [...h, ['Via', 'SIP/2.0/TCP p.example.com;branch=z9hG4bK2'], ['Contact', '<sip:a@b>'], ['Contact', '<sip:c@d>']])));
});

test('malformed fields name the header', () => {
  rejects(request(replace('CSeq', 'one INVITE')), 400, /malformed CSeq/);
  rejects(request(replace('Via', 'SIP/2.0/UDP 192.0.2.1, junk')), 400, /malformed Via/);
  rejects(request(replace('From', '<sip:alice@example.com')), 400, /malformed From/);
  rejects(request(replace('To', '<sip:bob@exa mple.com>')), 400, /malformed To/);
  rejects(request(replace('To', '<sip:@example.com>')), 400, /malformed To/);
  rejects(request(replace('Call-ID', 'a b')), 400, /malformed Call-ID/);
  rejects(request(replace('Max-Forwards', '256')), 400, /Max-Forwards/);
  rejects(request(replace('Max-Forwards', '-1')), 400, /Max-Forwards/);
  rejects(request((h) => [...h, ['Contact', '<sip:a@b>;;']]), 400, /malformed Contact/);
  rejects(request(undefined, 'INVITE', 'sip:bob@exa%mple.com'), 400, /malformed Request-URI/);
});

test('CSeq method must equal the request method (ACK and CANCEL carry their own)', () => {
  rejects(request(replace('CSeq', '1 BYE')), 400, /CSeq method does not match/);
  assert.doesNotThrow(() => validateRequest(request(replace('CSeq', '1 ACK'), 'ACK')));
  assert.doesNotThrow(() => validateRequest(request(replace('CSeq', '1 CANCEL'), 'CANCEL')));
});

test('501 for methods not implemented, 416 for schemes not accepted', () => {
  const opts = { methods: ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS'], uriSchemes: ['sip', 'sips'] };
  rejects(request(replace('CSeq', '1 PUBLISH'), 'PUBLISH'), 501, /Not Implemented/, opts);
  rejects(request(undefined, 'INVITE', 'tel:+12015550123'), 416, /Unsupported URI Scheme/, opts);
  assert.doesNotThrow(() => validateRequest(request(undefined, 'INVITE', 'SIPS:bob@example.com'), opts));
});

test('a registrar refuses a REGISTER whose address of record is not a sip or sips URI (400); a proxy does not', () => {
  const register = (to: string): SipRequest => request((h) => [...replace('CSeq', '1 REGISTER')(replace('To', to)(h))], 'REGISTER');
  rejects(register('<isbn:2983792873>'), 400, /the To of a REGISTER must be a sip or sips URI/, { registrar: true });
  assert.doesNotThrow(() => validateRequest(register('<isbn:2983792873>')));
  assert.doesNotThrow(() => validateRequest(register('<sips:alice@example.com>'), { registrar: true }));
});

test('Contact: * only in a REGISTER, alone', () => {
  assert.doesNotThrow(() => validateRequest(request((h) => [...replace('CSeq', '1 REGISTER')(h), ['Contact', '*'], ['Expires', '0']], 'REGISTER')));
  rejects(request((h) => [...h, ['Contact', '*']]), 400, /malformed Contact/);
  rejects(request((h) => [...replace('CSeq', '1 REGISTER')(h), ['Contact', '*'], ['Contact', '<sip:a@b>']], 'REGISTER'), 400, /malformed Contact/);
});

test('responses: the fields a client transaction relies on', () => {
  const r = (extra: string): SipResponse => parseMessage(Buffer.from(
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\n' + extra + 'Content-Length: 0\r\n\r\n')) as SipResponse;
  assert.deepEqual(validateResponse(r('CSeq: 5 INVITE\r\n')), { seq: 5, method: 'INVITE' });
  assert.throws(() => validateResponse(r('')), /missing CSeq/);
  assert.throws(() => validateResponse(r('CSeq: 9292394834772304023312 OPTIONS\r\n')), /CSeq number out of range/);
});
