// Issue 8 item 12: the RFC 4475 torture messages sent, byte for byte, to a running
// gateway over UDP and over WebSocket, each answered as the corpus index
// (libs/sip/testdata/rfc4475/index.json) says an endpoint with a registrar answers it:
// 400 naming the fault for the malformed, 505 for SIP/7.0, 416 for an unknown URI
// scheme, 501 with Allow for an unknown method, 420 with Unsupported, 405 with Allow,
// a digest challenge for an unknown authorization scheme, 400 for a registration of a
// non-SIP AOR; and, once the caller has authenticated, 415 with Accept for a body that
// is not SDP and 406 for an Accept without SDP. Responses in the corpus are dropped.
// No reason phrase repeats its status ("400 400 ..."). The sender is 127.0.0.3: a UDP
// answer goes to the Via's sent-by port (5060 when it names none), so that is bound.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SipMessage, SipResponse } from '@trapezoid/sip';
import { REPO_ROOT } from '../sip/sipp.js';
import { CALLER, assertReleasedAndStop, sleep, startGateway, type TestGateway } from './harness.js';
import { RawSipClient, newBranch, proxyAuthorization, type RawTransport } from './raw-sip.js';

const DIR = join(REPO_ROOT, 'libs/sip/testdata/rfc4475');
const INDEX = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as Array<{ file: string; kind: string | null }>;
const PORTS = { min: 10400, max: 10419 };

interface Expect {
  /** The final status expected, or null: no answer at all (a response, or nothing to address one to). */
  status: number | null;
  reason?: RegExp;
  /** Header fields the answer must carry, by name, matching. */
  headers?: Record<string, RegExp>;
  /** After the challenge, sent again with credentials: then this is expected. */
  authenticated?: Expect;
}

const challenge = (auth: 'proxy' | 'www'): Expect => (auth === 'proxy'
  ? { status: 407, headers: { 'proxy-authenticate': /^Digest / } }
  : { status: 401, headers: { 'www-authenticate': /^Digest / } });
const bad = (reason: RegExp): Expect => ({ status: 400, reason });
const allow = { allow: /\bINVITE\b.*\bREGISTER\b|\bREGISTER\b.*\bINVITE\b/ };

const EXPECT: Record<string, Expect> = {
  'wsinv.dat': { status: 481 },
  'intmeth.dat': { status: 501, headers: allow },
  'esc01.dat': challenge('proxy'),
  'escnull.dat': challenge('www'),
  'esc02.dat': { status: 501, headers: allow },
  'lwsdisp.dat': { status: 200 },
  'longreq.dat': challenge('proxy'),
  'dblreq.dat': challenge('www'),
  'semiuri.dat': { status: 200 },
  'transports.dat': { status: 200 },
  'mpart01.dat': { status: 405, headers: allow },
  'unreason.dat': { status: null },
  'noreason.dat': { status: null },
  'badinv01.dat': bad(/Via/),
  'clerr.dat': bad(/Content-Length exceeds body/),
  'ncl.dat': bad(/malformed Content-Length/),
  'scalar02.dat': bad(/CSeq number out of range/),
  'scalarlg.dat': { status: null },
  'quotbal.dat': bad(/To .*unterminated quoted string/),
  'ltgtruri.dat': bad(/Request-URI/),
  'lwsruri.dat': bad(/Request-Line/),
  'lwsstart.dat': bad(/Request-Line/),
  'trws.dat': bad(/Request-Line/),
  'escruri.dat': bad(/Request-URI must not contain headers/),
  // The Date does not matter to the gateway: ignored, as the RFC allows.
  'baddate.dat': challenge('proxy'),
  'regbadct.dat': bad(/Contact/),
  'badaspec.dat': bad(/To/),
  'baddn.dat': bad(/From .*display name/),
  'badvers.dat': { status: 505 },
  'mismatch01.dat': bad(/CSeq method does not match/),
  'mismatch02.dat': { status: 501, reason: /NEWMETHOD/, headers: allow },
  'bigcode.dat': { status: null },
  'badbranch.dat': { status: 200 },
  'insuf.dat': bad(/missing From, To, Call-ID/),
  'unkscm.dat': { status: 416, reason: /nobodyknowsthisscheme/ },
  'novelsc.dat': { status: 416, reason: /soap\.beep/ },
  'unksm2.dat': bad(/the To of a REGISTER must be a sip or sips URI/),
  'bext01.dat': { status: 420, headers: { unsupported: /^nothingSupportsThis, nothingSupportsThisEither$/ } },
  'invut.dat': { ...challenge('proxy'), authenticated: { status: 415, headers: { accept: /^application\/sdp$/ } } },
  'regaut01.dat': challenge('www'),
  'multi01.dat': bad(/multiple From, To, Call-ID, CSeq, Max-Forwards/),
  'mcl01.dat': bad(/conflicting Content-Length/),
  'bcast.dat': { status: null },
  // An endpoint handles Max-Forwards 0 as if it were positive: OPTIONS answered.
  'zeromf.dat': { status: 200 },
  'cparam01.dat': challenge('www'),
  'cparam02.dat': challenge('www'),
  'regescrt.dat': challenge('www'),
  'sdp01.dat': { ...challenge('proxy'), authenticated: { status: 406, headers: { accept: /^application\/sdp$/, warning: /^399 / } } },
  'inv2543.dat': challenge('proxy'),
  // Not in the RFC text; no Via or CSeq: nothing to address an answer to.
  'test.dat': { status: null },
};

/** Every Call-ID value in a message's raw bytes (the parser may have refused it). */
function callIds(buf: Buffer): string[] {
  return [...buf.toString('latin1').matchAll(/^(?:call-id|i)\s*:\s*(.*?)\r$/gim)].map((m) => m[1]!);
}

function check(file: string, exp: Expect, res: SipResponse | undefined): void {
  if (exp.status === null) {
    assert.equal(res, undefined, `${file}: no answer expected, got ${res?.status} ${res?.reason}`);
    return;
  }
  assert.ok(res, `${file}: answered`);
  assert.equal(res.status, exp.status, `${file}: ${res.status} ${res.reason}`);
  assert.doesNotMatch(res.reason, /^\d{3}\b/, `${file}: the reason phrase does not repeat the status`);
  if (exp.reason) assert.match(res.reason, exp.reason, file);
  for (const [name, value] of Object.entries(exp.headers ?? {})) assert.match(res.headers.getAll(name).join(', '), value, `${file}: ${name}`);
}

/**
 * The same request retried with credentials as §22.2 says: a new transaction (new
 * branch) with the CSeq number one higher, the rest byte for byte.
 */
function authenticated(buf: Buffer, res: SipResponse): Buffer {
  const text = buf.toString('latin1');
  const [method, uri] = text.slice(0, text.indexOf('\r\n')).split(' ') as [string, string];
  const auth = `Proxy-Authorization: ${proxyAuthorization(res, method, uri, CALLER)}\r\n`;
  const withAuth = text.replace('\r\n', `\r\n${auth}`)
    .replace(/branch=z9hG4bK[^;\r\n]*/, `branch=${newBranch()}`)
    .replace(/^(CSeq\s*:\s*)(\d+)/im, (_m, name: string, n: string) => `${name}${Number(n) + 1}`);
  return Buffer.from(withAuth, 'latin1');
}

describe('RFC 4475 over the wire: each torture message answered as the corpus index says', { timeout: 120_000 }, () => {
  let gw: TestGateway | null = null;
  let client: RawSipClient | null = null;
  after(async () => {
    client?.close();
    await gw?.stop();
  });

  for (const transport of ['udp', 'ws'] as RawTransport[]) it(`over ${transport.toUpperCase()}`, { timeout: 60_000 }, async () => {
    let passed = false;
    try {
      gw = await startGateway({
        ports: PORTS,
        edit: (raw) => { raw.security = { rateLimit: { exempt: ['127.0.0.3/32'] } }; },
      });
      const point = gw.listeningPoints().find((p) => p.protocol === transport)!;
      client = await RawSipClient.open(transport, point.port, { localAddress: '127.0.0.3', ...(transport === 'udp' ? { localPort: 5060 } : {}) });
      assert.equal(INDEX.length, 50);
      const c = client;
      const answerTo = async (buf: Buffer, from: number, wait: number): Promise<SipResponse | undefined> => {
        const ids = callIds(buf);
        // Without a Call-ID (insuf) the answer has none either.
        const mine = (m: SipMessage): boolean => !m.isRequest && (m as SipResponse).status >= 200 && (ids.length === 0 ? !m.headers.has('call-id') : ids.includes(m.callId));
        return c.next(mine, wait, from).then((m) => m as SipResponse, () => undefined);
      };
      for (const { file } of INDEX) {
        const exp = EXPECT[file];
        assert.ok(exp, `an expectation for ${file}`);
        const buf = readFileSync(join(DIR, file));
        const from = c.received.length;
        c.send(buf);
        const res = await answerTo(buf, from, exp.status === null ? 300 : 3000);
        check(file, exp, res);
        if (exp.authenticated && res) {
          // Over its own connection: a WebSocket that authenticated is bound to that user
          // (the corpus Froms are strangers to it), and over UDP it changes nothing.
          const own = transport === 'ws' ? await RawSipClient.open('ws', point.port, { localAddress: '127.0.0.3' }) : c;
          try {
            const again = authenticated(buf, res);
            const from2 = own.received.length;
            own.send(again);
            const ids = callIds(again);
            const answer = await own.next((m) => !m.isRequest && (m as SipResponse).status >= 200 && ids.includes(m.callId), 3000, from2).catch(() => undefined);
            check(`${file} (authenticated)`, exp.authenticated, answer as SipResponse | undefined);
          } finally {
            if (own !== c) own.close();
          }
        }
        // A WebSocket stays open through all of it: nothing here is a reason to drop the client.
        if (transport === 'ws') assert.equal(c.closeCode, null, `${file}: the WebSocket was closed (${c.closeCode})`);
      }
      assert.deepEqual(c.garbage, [], 'every answer parsed');
      await sleep(100);
      passed = true;
    } finally {
      client?.close();
      client = null;
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
    }
  });
});
