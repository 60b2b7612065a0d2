import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipRequest, SipResponse } from '../message/message.js';
import { SipParseError } from './errors.js';
import { frameLength } from './framing.js';
import { parseMessage } from './message-parser.js';

const HEAD = [
  'OPTIONS sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
  'From: <sip:alice@example.com>;tag=1',
  'To: <sip:bob@example.com>',
  'Call-ID: abc@192.0.2.1',
  'CSeq: 1 OPTIONS',
  'Max-Forwards: 70',
];
const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const msg = (extra: string[], body = '', cl: number | null = Buffer.byteLength(body)): Buffer =>
  b([...HEAD, ...extra, ...(cl === null ? [] : ['Content-Length: ' + cl])].join('\r\n') + '\r\n\r\n' + body);
const fault = (status: number, reason: RegExp) => (e: unknown): boolean =>
  e instanceof SipParseError && e.status === status && reason.test(e.reason);

test('request: start line, headers in order, body by Content-Length', () => {
  const m = parseMessage(msg(['Content-Type: text/plain'], 'hello'));
  assert.ok(m instanceof SipRequest);
  assert.equal(m.method, 'OPTIONS');
  assert.equal(m.uri, 'sip:bob@example.com');
  assert.equal(m.headers.get('cseq'), '1 OPTIONS');
  assert.equal(m.headers.lines()[0]![0], 'via');
  assert.equal(m.body.toString(), 'hello');
  assert.equal(parseMessage(m.toBuffer()).body.toString(), 'hello');
});

test('response with UTF-8 reason and empty reason', () => {
  const r = parseMessage(b('SIP/2.0 486 Besetzt – später\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nContent-Length: 0\r\n\r\n'));
  assert.ok(r instanceof SipResponse);
  assert.equal(r.status, 486);
  assert.equal(r.reason, 'Besetzt – später');
  assert.equal((parseMessage(b('SIP/2.0 180\r\nl: 0\r\n\r\n')) as SipResponse).reason, '');
});

test('status lines that are rejected', () => {
  for (const line of ['SIP/2.0 4294967301 big', 'SIP/2.0 99 low', 'SIP/2.0 700 high', 'SIP/2.0 20 OK', 'SIP/2.0 2000 OK', 'SIP/2.0', 'SIP/2.0 abc OK']) {
    assert.throws(() => parseMessage(b(line + '\r\nl: 0\r\n\r\n')), fault(400, /Status-Line/), line);
  }
  assert.throws(() => parseMessage(b('SIP/3.0 200 OK\r\nl: 0\r\n\r\n')), fault(505, /Version Not Supported/));
});

test('request lines that are rejected, with what could be recovered', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['INVITE  sip:a@b SIP/2.0', 400, /Request-Line/], ['INVITE sip:a@b SIP/2.0 ', 400, /Request-Line/],
    ['INVITE sip:a@b', 400, /Request-Line/], ['INVITE sip:a@b SIP/7.0', 505, /Version/], ['INVITE sip:a@b HTTP/1.1', 400, /SIP-Version/],
    ['INV<ITE sip:a@b SIP/2.0', 400, /Method/], ['INVITE <sip:a@b> SIP/2.0', 400, /Request-URI/], ['INVITE\tsip:a@b SIP/2.0', 400, /Request-Line/],
  ];
  for (const [line, status, reason] of cases) {
    const buf = b([line, ...HEAD.slice(1), 'l: 0'].join('\r\n') + '\r\n\r\n');
    assert.throws(() => parseMessage(buf), (e: unknown) => {
      assert.ok(fault(status, reason)(e), line + ' -> ' + String(e));
      const p = (e as SipParseError).partial!;
      assert.equal(p.headers.get('call-id'), 'abc@192.0.2.1');
      assert.equal(p.headers.get('via'), 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1');
      return true;
    });
  }
});

test('folded header lines become one value; names before the colon may have LWS', () => {
  const m = parseMessage(msg(['Subject : one\r\n  two\r\n\tthree', 'X-Empty:', 'X-Folded-Start:\r\n value']));
  assert.equal(m.headers.get('subject'), 'one two three');
  assert.equal(m.headers.get('x-empty'), '');
  assert.equal(m.headers.get('x-folded-start'), 'value');
});

test('leading CRLFs are ignored (RFC 3261 §7.5)', () => {
  const m = parseMessage(Buffer.concat([b('\r\n\r\n'), msg([])]));
  assert.equal((m as SipRequest).method, 'OPTIONS');
});

test('Content-Length: absent -> rest of datagram; shorter -> truncates; longer, bad, repeated -> 400', () => {
  assert.equal(parseMessage(msg([], 'rest of it', null)).body.toString(), 'rest of it');
  assert.equal(parseMessage(msg([], 'hello', 2)).body.toString(), 'he');
  assert.throws(() => parseMessage(msg([], 'hello', 6)), fault(400, /Content-Length exceeds body/));
  for (const v of ['-1', 'abc', '1.5', '12345678901', '']) {
    assert.throws(() => parseMessage(msg(['Content-Length: ' + v], '', null)), fault(400, /Content-Length/), v);
  }
  assert.throws(() => parseMessage(msg(['l: 5'], 'hello')), fault(400, /multiple Content-Length/));
  assert.throws(() => parseMessage(msg(['l: 4'], 'hello')), fault(400, /conflicting Content-Length/));
});

test('malformed header sections are 400s naming the fault', () => {
  assert.throws(() => parseMessage(msg(['no colon here'])), fault(400, /without a colon/));
  assert.throws(() => parseMessage(msg(['Bad Name: x'])), fault(400, /header field name/));
  assert.throws(() => parseMessage(msg([': x'])), fault(400, /header field name/));
  assert.throws(() => parseMessage(msg(['X-A: a\nX-B: b'])), fault(400, /bare CR or LF/));
  assert.throws(() => parseMessage(msg(['X-A: a\rb'])), fault(400, /bare CR or LF/));
  assert.throws(() => parseMessage(b(HEAD.join('\r\n'))), fault(400, /not terminated/));
  assert.throws(() => parseMessage(b('')), fault(400, /empty/));
  assert.throws(() => parseMessage(b('\r\n\r\n')), fault(400, /empty/));
});

test('size limits: 513 for a message or header count over the limit', () => {
  const big = msg([], 'x'.repeat(70000));
  assert.throws(() => parseMessage(big), fault(513, /Too Large/));
  assert.equal(parseMessage(big, { maxMessageBytes: 100000 }).body.length, 70000);
  const many = msg(Array.from({ length: 300 }, (_, i) => 'X-H' + i + ': ' + i));
  assert.throws(() => parseMessage(many), fault(513, /header fields/));
  assert.equal(parseMessage(many, { maxHeaders: 400 }).headers.size, 307);
});

test('frameLength: complete, incomplete, keepalives, compact and folded Content-Length', () => {
  const one = msg([], 'hello');
  assert.equal(frameLength(one), one.length);
  assert.equal(frameLength(Buffer.concat([one, one])), one.length);
  for (let cut = 0; cut < one.length; cut++) assert.equal(frameLength(one.subarray(0, cut)), 0, 'cut at ' + cut);
  assert.equal(frameLength(b('\r\n\r\n')), 0);
  const withKeepalive = Buffer.concat([b('\r\n\r\n'), one]);
  assert.equal(frameLength(withKeepalive), withKeepalive.length);
  assert.equal(parseMessage(withKeepalive).body.toString(), 'hello');
  const compact = b([...HEAD, 'l:5'].join('\r\n') + '\r\n\r\nhello');
  assert.equal(frameLength(compact), compact.length);
  const folded = b([...HEAD, 'Content-Length:\r\n   5  '].join('\r\n') + '\r\n\r\nhello');
  assert.equal(frameLength(folded), folded.length);
  const lowercase = b([...HEAD, 'content-LENGTH  :  5'].join('\r\n') + '\r\n\r\nhello');
  assert.equal(frameLength(lowercase), lowercase.length);
  // A header whose name merely starts with "l" is not Content-Length
  assert.throws(() => frameLength(b([...HEAD, 'Location: x'].join('\r\n') + '\r\n\r\n')), fault(400, /missing Content-Length/));
});

test('frameLength: unframeable streams throw', () => {
  assert.throws(() => frameLength(msg([], '', null)), fault(400, /missing Content-Length/));
  assert.throws(() => frameLength(msg(['Content-Length: -5'], '', null)), fault(400, /malformed Content-Length/));
  assert.throws(() => frameLength(msg(['Content-Length: 5 5'], '', null)), fault(400, /malformed Content-Length/));
  assert.throws(() => frameLength(msg(['l: 1'], 'x')), fault(400, /multiple Content-Length/));
  assert.throws(() => frameLength(msg([], '', 70000)), fault(513, /Too Large/));
  assert.throws(() => frameLength(b('INVITE ' + 'x'.repeat(70000))), fault(513, /Too Large/));
  assert.equal(frameLength(msg([], '', 70000), { maxMessageBytes: 80000 }), 0);
});
