// RFC 4475 torture tests, run from the corpus beside the parser
// (libs/sip/testdata/rfc4475, see its SOURCE.md), through the whole receive path:
// parse, then validate. Each file's expected behaviour follows its rfc_says in
// index.json. What the gateway answers over the wire is test/src/gateway/rfc4475-wire.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SipError, SipRequest, SipResponse } from '../message/message.js';
import { SipParseError } from './errors.js';
import { frameLength } from './framing.js';
import { parseMessage } from './message-parser.js';
import { parseNameAddr, tagOf } from './name-addr.js';
import { parseCSeq } from './cseq.js';
import { parseUri, unescapeUri, uriEquals, type SipUri, type AbsoluteUri } from './uri.js';
import { parseVia } from './via.js';
import { validateRequest, validateResponse } from './validate.js';
import { RFC4475_DIR as DIR, tortureIndex } from '../test-support/testdata.js';

const INDEX = tortureIndex();
const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'INFO', 'UPDATE', 'PRACK'];

type Msg = SipRequest | SipResponse;
interface Expect {
  /** 'ok': parse and validate succeed. Otherwise where it fails and how. */
  outcome: 'ok' | { at: 'parse' | 'validate'; status: number; reason: RegExp };
  check?: (m: Msg) => void;
  /** Expected frameLength of the file on a stream: a number, 0 (needs more), or 'throws'. */
  stream?: number | 'throws';
  validateOptions?: { methods?: string[]; uriSchemes?: string[] };
}

const sipUri = (text: string): SipUri => parseUri(text) as SipUri;
const req = (m: Msg): SipRequest => m as SipRequest;
const bad = (at: 'parse' | 'validate', reason: RegExp, status = 400): Expect['outcome'] => ({ at, status, reason });

const EXPECT: Record<string, Expect> = {
  'wsinv.dat': { outcome: 'ok', check: (m) => {
    const h = m.headers;
    assert.equal(h.getRaw('unknownheaderwithunusualvalue'), ';;,,;;,;');
    assert.equal(h.getRaw('newfangledheader'), 'newfangled value continued newfangled value');
    assert.equal(h.getRaw('subject'), '');
    const vias = h.getAll('via').map(parseVia);
    assert.deepEqual(vias.map((v) => [v.protocol, v.host, v.branch]),
      [['UDP', '192.0.2.2', '390skdjuw'], ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'], ['UDP', '192.168.255.111', 'z9hG4bK30239']]);
    assert.equal(tagOf(h.getRaw('to')!), '1918181833n');
    assert.equal(tagOf(h.getRaw('from')!), '98asjd8');
    assert.equal(parseNameAddr(h.getRaw('from')!).displayName, 'J Rosenberg \\"');
    assert.deepEqual(parseCSeq(h.getRaw('cseq')!), { seq: 9, method: 'INVITE' });
    const contact = parseNameAddr(h.get('contact')!);
    assert.equal(contact.displayName, 'Quoted string ""');
    assert.deepEqual([...contact.params], [['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']]);
    assert.equal(m.body.length, 150);
  } },
  'intmeth.dat': { outcome: 'ok', check: (m) => {
    assert.equal(req(m).method, "!interesting-Method0123456789_*+`.%indeed'~");
    const u = sipUri(req(m).uri);
    assert.equal(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert.equal(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert.equal(u.host, 'example.com');
    assert.equal(parseNameAddr(m.headers.getRaw('to')!).displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
    assert.equal(parseVia(m.headers.get('via')!).branch, "z9hG4bK-.!%66*_+`'~");
    assert.equal(m.callId, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    assert.equal(m.headers.getRaw("extensionheader-!.%*+_`'~"), '\ufeff\u5927\u505c\u96fb');
    assert.match(m.headers.getRaw('from')!, /^token1~` token2'\+_ token3\*%!\.- <sip:mundane@example.com>/);
  } },
  'esc01.dat': { outcome: 'ok', check: (m) => {
    const ruri = sipUri(req(m).uri);
    assert.equal(unescapeUri(ruri.user!), 'sips:user@example.com');
    assert.equal(ruri.host, 'example.net');
    assert.equal(unescapeUri(sipUri(m.headers.getRaw('to')!).user!), 'user');
    const contact = sipUri(parseNameAddr(m.headers.get('contact')!).uri);
    // never unescaped recursively: %25%34%31 is "%41", not "A"
    assert.equal(unescapeUri(contact.params.get('n%61me')!), 'value%41');
    assert.ok(uriEquals(contact, sipUri('sip:caller@host5.example.net;lr;name=value%2541')));
    assert.ok(!uriEquals(contact, sipUri('sip:caller@host5.example.net;lr;name=valueA')));
  } },
  'escnull.dat': { outcome: 'ok', check: (m) => {
    assert.equal(unescapeUri(sipUri(m.headers.getRaw('to')!).user!), 'null-\0-null');
    const contacts = m.headers.getAll('contact').map((c) => sipUri(parseNameAddr(c).uri));
    assert.equal(contacts.length, 2);
    assert.deepEqual(contacts.map((c) => unescapeUri(c.user!)), ['\0', '\0\0']);
    assert.ok(!uriEquals(contacts[0]!, contacts[1]!));
  } },
  'esc02.dat': { outcome: 'ok', check: (m) => {
    assert.equal(req(m).method, 'RE%47IST%45R');
    assert.equal(parseNameAddr(m.headers.getRaw('to')!).displayName, '%Z%45');
    assert.equal(m.headers.getAll('contact').length, 2);
    assert.equal(m.headers.getRaw('c%6fntact'), '<sip:alias2@host2.example.com>');
  } },
  'lwsdisp.dat': { outcome: 'ok', check: (m) => {
    const from = parseNameAddr(m.headers.getRaw('from')!);
    assert.equal(from.displayName, 'caller');
    assert.equal(from.uri, 'sip:caller@example.com');
  } },
  'longreq.dat': { outcome: 'ok', check: (m) => {
    assert.equal(m.headers.getAll('via').length, 34);
    assert.ok(parseNameAddr(m.headers.getRaw('to')!).displayName!.includes('extremeextreme'));
    assert.ok(m.callId.length > 100);
  } },
  'dblreq.dat': { outcome: 'ok', stream: 300, check: (m) => {
    assert.equal(req(m).method, 'REGISTER');
    assert.equal(m.body.length, 0);
    assert.ok(!m.toString().includes('INVITE'));
  } },
  'semiuri.dat': { outcome: 'ok', check: (m) => {
    const u = sipUri(req(m).uri);
    assert.equal(u.user, 'user;par=u%40example.net');
    assert.equal(u.host, 'example.com');
    assert.equal(u.params.size, 0);
    assert.equal(m.headers.getAll('accept').length, 6);
  } },
  'transports.dat': { outcome: 'ok', check: (m) => {
    assert.deepEqual(m.headers.getAll('via').map((v) => parseVia(v).protocol), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  } },
  'mpart01.dat': { outcome: 'ok', stream: 737 + 553, check: (m) => {
    assert.equal(m.body.length, 553);
    assert.ok(m.body.includes(0));
  } },
  'unreason.dat': { outcome: 'ok', check: (m) => {
    assert.equal((m as SipResponse).status, 200);
    assert.match((m as SipResponse).reason, /^= 2\*\*3 \* 5\*\*2 но сто девяносто девять - простое$/);
  } },
  'noreason.dat': { outcome: 'ok', check: (m) => assert.deepEqual([(m as SipResponse).status, (m as SipResponse).reason], [100, '']) },
  'badinv01.dat': { outcome: bad('validate', /Via/) },
  'clerr.dat': { outcome: bad('parse', /Content-Length exceeds body/), stream: 0 },
  'ncl.dat': { outcome: bad('parse', /Content-Length/), stream: 'throws' },
  'scalar02.dat': { outcome: bad('validate', /CSeq number out of range/) },
  'scalarlg.dat': { outcome: bad('validate', /CSeq number out of range/) },
  'quotbal.dat': { outcome: bad('validate', /To .*unterminated quoted string/) },
  'ltgtruri.dat': { outcome: bad('parse', /Request-URI/) },
  'lwsruri.dat': { outcome: bad('parse', /Request-Line/) },
  'lwsstart.dat': { outcome: bad('parse', /Request-Line/) },
  'trws.dat': { outcome: bad('parse', /Request-Line/) },
  'escruri.dat': { outcome: bad('validate', /Request-URI must not contain headers/) },
  // Rejecting is allowed only if the Date matters; to this gateway it does not.
  'baddate.dat': { outcome: 'ok', check: (m) => assert.equal(m.headers.getRaw('date'), 'Fri, 01 Jan 2010 16:00:00 EST') },
  'regbadct.dat': { outcome: bad('validate', /Contact .*enclosed in <>/) },
  'badaspec.dat': { outcome: bad('validate', /To .*white space/) },
  'baddn.dat': { outcome: bad('validate', /From .*display name/), stream: 0 },
  'badvers.dat': { outcome: bad('parse', /Version Not Supported/, 505) },
  'mismatch01.dat': { outcome: bad('validate', /CSeq method does not match/) },
  'mismatch02.dat': { outcome: bad('validate', /Not Implemented/, 501), validateOptions: { methods: METHODS } },
  'bigcode.dat': { outcome: bad('parse', /Status-Line/) },
  'badbranch.dat': { outcome: 'ok', check: (m) => assert.equal(parseVia(m.headers.get('via')!).branch, 'z9hG4bK') },
  'insuf.dat': { outcome: bad('validate', /missing From, To, Call-ID/) },
  'unkscm.dat': { outcome: bad('validate', /Unsupported URI Scheme/, 416), validateOptions: { uriSchemes: ['sip', 'sips', 'tel'] },
    check: (m) => assert.deepEqual(parseUri(req(m).uri), { scheme: 'nobodyknowsthisscheme', opaque: 'totallyopaquecontent' }) },
  'novelsc.dat': { outcome: bad('validate', /Unsupported URI Scheme/, 416), validateOptions: { uriSchemes: ['sip', 'sips', 'tel'] },
    check: (m) => assert.equal((parseUri(req(m).uri) as AbsoluteUri).scheme, 'soap.beep') },
  'unksm2.dat': { outcome: 'ok', check: (m) => {
    assert.equal(parseUri(parseNameAddr(m.headers.getRaw('to')!).uri).scheme, 'isbn');
    assert.equal(parseUri(parseNameAddr(m.headers.getRaw('from')!).uri).scheme, 'http');
    assert.equal(parseUri(parseNameAddr(m.headers.get('contact')!).uri).scheme, 'name');
  } },
  'bext01.dat': { outcome: 'ok', check: (m) => {
    assert.deepEqual(m.headers.getAll('require'), ['nothingSupportsThis', 'nothingSupportsThisEither']);
    assert.deepEqual(m.headers.getAll('proxy-require'), ['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
  } },
  'invut.dat': { outcome: 'ok', check: (m) => {
    assert.equal(m.headers.get('content-type'), 'application/unknownformat');
    assert.equal(m.body.length, 40);
  } },
  'regaut01.dat': { outcome: 'ok', check: (m) => assert.equal(m.headers.getRaw('authorization'), 'NoOneKnowsThisScheme opaque-data=here') },
  'multi01.dat': { outcome: bad('validate', /multiple From, To, Call-ID, CSeq, Max-Forwards/) },
  'mcl01.dat': { outcome: bad('parse', /conflicting Content-Length/), stream: 'throws' },
  'bcast.dat': { outcome: 'ok', check: (m) => assert.equal(parseVia(m.headers.getAll('via')[1]!).host, '255.255.255.255') },
  'zeromf.dat': { outcome: 'ok', check: (m) => assert.equal(m.headers.get('max-forwards'), '0') },
  'cparam01.dat': { outcome: 'ok', check: (m) => {
    const c = parseNameAddr(m.headers.get('contact')!);
    assert.equal(c.uri, 'sip:+19725552222@gw1.example.net');
    assert.deepEqual([...c.params], [['unknownparam', null]]);
    assert.equal(sipUri(c.uri).params.size, 0);
  } },
  'cparam02.dat': { outcome: 'ok', check: (m) => {
    const c = parseNameAddr(m.headers.get('contact')!);
    assert.equal(c.params.size, 0);
    assert.deepEqual([...sipUri(c.uri).params], [['unknownparam', null]]);
  } },
  'regescrt.dat': { outcome: 'ok', check: (m) => {
    const c = sipUri(parseNameAddr(m.headers.get('contact')!).uri);
    assert.equal(c.headers.get('Route'), '%3Csip:sip.example.com%3E');
  } },
  'sdp01.dat': { outcome: 'ok', check: (m) => assert.equal(m.headers.get('accept'), 'text/nobodyKnowsThis') },
  'inv2543.dat': { outcome: 'ok', stream: 'throws', check: (m) => {
    assert.equal(m.headers.has('content-length'), false);
    assert.equal(m.body.length, 105);
    assert.equal(parseVia(m.headers.get('via')!).branch, undefined);
    assert.equal(tagOf(m.headers.getRaw('from')!), undefined);
  } },
  // Not in the RFC text. Classified here: its Request-Line has no SIP-Version.
  'test.dat': { outcome: bad('parse', /Request-Line/) },
};

function roundTrip(m: Msg): void {
  const again = parseMessage(m.toBuffer());
  if (m instanceof SipRequest) {
    assert.ok(again instanceof SipRequest);
    assert.equal(again.method, m.method);
    assert.equal(again.uri, m.uri);
  } else {
    assert.ok(again instanceof SipResponse);
    assert.equal(again.status, (m as SipResponse).status);
    assert.equal(again.reason, (m as SipResponse).reason);
  }
  const fields = (x: Msg): Array<[string, string]> => x.headers.lines().filter(([n]) => n !== 'content-length').map(([n, v]) => [n, v]);
  assert.deepEqual(fields(again), fields(m));
  assert.ok(again.body.equals(m.body));
}

test('index.json lists every RFC 4475 file and each has an expectation', () => {
  assert.equal(INDEX.length, 50);
  for (const e of INDEX) assert.ok(EXPECT[e.file], 'no expectation for ' + e.file);
});

test('every RFC 4475 file still has the bytes SOURCE.md lists (no eol normalisation)', () => {
  const listed = [...readFileSync(DIR + 'SOURCE.md', 'utf8').matchAll(/^([0-9a-f]{64}) {2}(\S+\.dat) +(\d+)$/gm)];
  assert.equal(listed.length, 50);
  for (const [, sha, file, size] of listed) {
    const buf = readFileSync(DIR + file!);
    assert.equal(buf.length, Number(size), file);
    assert.equal(createHash('sha256').update(buf).digest('hex'), sha, file);
  }
});

for (const entry of INDEX) {
  const exp = EXPECT[entry.file]!;
  test(`RFC 4475 ${entry.file} (${entry.kind ?? 'unclassified'})`, () => {
    const buf = readFileSync(DIR + entry.file);
    let msg: Msg | undefined;
    let failure: { at: 'parse' | 'validate'; err: unknown } | undefined;
    try {
      msg = parseMessage(buf);
    } catch (err) {
      failure = { at: 'parse', err };
      assert.ok(err instanceof SipParseError, 'parse threw ' + String(err));
      // What a UAS needs to build the error response is recovered.
      if (entry.kind !== null && err.partial instanceof SipRequest) for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) assert.ok(err.partial.headers.has(h), h);
    }
    if (msg) {
      try {
        if (msg instanceof SipRequest) validateRequest(msg, exp.validateOptions);
        else validateResponse(msg as SipResponse);
      } catch (err) {
        failure = { at: 'validate', err };
        assert.ok(err instanceof SipError, 'validate threw ' + String(err));
      }
    }
    if (exp.outcome === 'ok') {
      assert.equal(failure, undefined, failure && String(failure.err));
      assert.ok(msg);
      roundTrip(msg);
    } else {
      assert.ok(failure, 'expected a failure');
      assert.equal(failure.at, exp.outcome.at);
      const err = failure.err as SipError;
      assert.equal(err.status, exp.outcome.status);
      assert.match(err.reason, exp.outcome.reason);
      if (msg) roundTrip(msg);
    }
    if (msg && exp.check) exp.check(msg);
    if (exp.stream !== undefined) {
      if (exp.stream === 'throws') assert.throws(() => frameLength(buf), SipParseError);
      else assert.equal(frameLength(buf), exp.stream);
    } else if (msg && msg.headers.has('content-length')) {
      assert.equal(frameLength(buf), buf.indexOf('\r\n\r\n') + 4 + msg.body.length);
    }
  });
}

test('RFC 4475 dblreq on a stream: the trailing octets frame as the next message', () => {
  const buf = readFileSync(DIR + 'dblreq.dat');
  const first = frameLength(buf);
  const rest = buf.subarray(first);
  const len = frameLength(rest);
  assert.equal(len, rest.indexOf('\r\n\r\n', 2) + 4 + 150);
  assert.equal((parseMessage(rest.subarray(0, len)) as SipRequest).method, 'INVITE');
});

test('RFC 4475 mismatch02 without a method list: 400 for the CSeq mismatch', () => {
  const m = parseMessage(readFileSync(DIR + 'mismatch02.dat'));
  assert.throws(() => validateRequest(m as SipRequest), (e: SipError) => e.status === 400 && /CSeq method/.test(e.reason));
});

test('RFC 4475 intmeth and esc02 are unknown methods: 501 where a method list is given', () => {
  for (const f of ['intmeth.dat', 'esc02.dat']) {
    const m = parseMessage(readFileSync(DIR + f)) as SipRequest;
    assert.throws(() => validateRequest(m, { methods: METHODS }), (e: SipError) => e.status === 501);
  }
});
