import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SipError } from '../message/index.js';
import {
  parseChallenge, parseCredentials, chooseChallenge, createAuthorization, DigestClient,
} from './index.js';

// Computed here from the RFC formulas with node:crypto only, so a mistake in hash.ts
// cannot hide behind itself.
const h = (alg: string, s: string): string => createHash(alg).update(s).digest('hex');

test('RFC 2617 §3.5 example: MD5, qop=auth', () => {
  const challenge = 'Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40bf41"';
  const value = createAuthorization(challenge, { method: 'GET', uri: '/dir/index.html' },
    { username: 'Mufasa', password: 'Circle Of Life' }, 1, { cnonce: '0a4f113b' });
  const c = parseCredentials(value);
  assert.equal(c.response, '6629fae49393a05397450978507c4ef1');
  assert.equal(c.qop, 'auth');
  assert.equal(c.nc, '00000001');
  assert.equal(c.opaque, '5ccc069c403ebaf9f0171e9517f40bf41');
  assert.equal(c.algorithm, 'MD5');
  assert.match(value, /qop=auth, nc=00000001/); // tokens, not quoted (RFC 3261 §25.1)
});

const RFC7616 = {
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

test('RFC 7616 §3.9.1 example: SHA-256 and MD5 challenges, SHA-256 chosen', () => {
  const values = ['SHA-256', 'MD5'].map((a) => `Digest realm="${RFC7616.realm}", qop="auth, auth-int", ` +
    `algorithm=${a}, nonce="${RFC7616.nonce}", opaque="${RFC7616.opaque}"`);
  // Server order MD5 first must not matter: the stronger one wins.
  const chosen = chooseChallenge([values[1]!, values[0]!]);
  assert.equal(chosen?.algorithm, 'SHA-256');
  const creds = { username: 'Mufasa', password: 'Circle of Life' };
  const req = { method: 'GET', uri: '/dir/index.html' };
  const sha = parseCredentials(createAuthorization(chosen!, req, creds, 1, { cnonce: RFC7616.cnonce }));
  assert.equal(sha.response, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  const md5 = parseCredentials(createAuthorization(values[1]!, req, creds, 1, { cnonce: RFC7616.cnonce }));
  assert.equal(md5.response, '8ca523f5e9506fed4657c9700eebdbec');
});

for (const [alg, node] of [['MD5-sess', 'md5'], ['SHA-256-sess', 'sha256'], ['SHA-512-256', 'sha512-256']] as const) {
  test(`${alg} matches an independent computation`, () => {
    const nonce = 'abc123nonce';
    const cnonce = 'xyz789';
    const v = createAuthorization(
      `Digest realm="sip.example.com", nonce="${nonce}", algorithm=${alg}, qop="auth"`,
      { method: 'INVITE', uri: 'sip:bob@example.com' }, { username: 'alice', password: 'secret' }, 3, { cnonce });
    const c = parseCredentials(v);
    assert.equal(c.algorithm, alg);
    assert.equal(c.nc, '00000003');
    let ha1 = h(node, 'alice:sip.example.com:secret');
    if (alg.endsWith('-sess')) ha1 = h(node, `${ha1}:${nonce}:${cnonce}`);
    const ha2 = h(node, 'INVITE:sip:bob@example.com');
    assert.equal(c.response, h(node, `${ha1}:${nonce}:00000003:${cnonce}:auth:${ha2}`));
  });
}

test('RFC 2069 form (no qop) and auth-int when it is the only option', () => {
  const noQop = parseCredentials(createAuthorization('Digest realm="r", nonce="n"',
    { method: 'REGISTER', uri: 'sip:r' }, { username: 'u', password: 'p' }));
  assert.equal(noQop.qop, undefined);
  assert.equal(noQop.cnonce, undefined);
  assert.equal(noQop.response, h('md5', `${h('md5', 'u:r:p')}:n:${h('md5', 'REGISTER:sip:r')}`));

  const body = Buffer.from('v=0\r\n');
  const ai = parseCredentials(createAuthorization('Digest realm="r", nonce="n", qop="auth-int"',
    { method: 'INVITE', uri: 'sip:b@r', body }, { username: 'u', password: 'p' }, 1, { cnonce: 'c' }));
  assert.equal(ai.qop, 'auth-int');
  const ha2 = h('md5', `INVITE:sip:b@r:${h('md5', 'v=0\r\n')}`);
  assert.equal(ai.response, h('md5', `${h('md5', 'u:r:p')}:n:00000001:c:auth-int:${ha2}`));
});

test('parseChallenge: fields, case-insensitive names, escapes, stale', () => {
  const c = parseChallenge('digest REALM="a \\"quoted\\" realm", Nonce=tok/en+=, stale=TRUE, ' +
    'algorithm=sha-256, domain="sip:a.example sip:b.example", qop=auth');
  assert.equal(c.realm, 'a "quoted" realm');
  assert.equal(c.nonce, 'tok/en+=');
  assert.equal(c.stale, true);
  assert.equal(c.algorithm, 'SHA-256');
  assert.deepEqual(c.qop, ['auth']);
  assert.equal(c.domain, 'sip:a.example sip:b.example');
  assert.equal(parseChallenge('Digest realm="r", nonce="n"').algorithm, 'MD5');
});

test('garbage challenges and credentials throw SipError(400)', () => {
  for (const v of ['', 'Digest', 'Digest realm="r"', 'Digest nonce="n"', 'Basic realm="r"',
    'Digest realm="r", nonce="n', 'Digest realm="r" nonce="n"', 'Digest realm=, nonce="n"',
    'Digest realm="r", realm="s", nonce="n"']) {
    assert.throws(() => parseChallenge(v), (e: unknown) => e instanceof SipError && e.status === 400, v);
  }
  assert.throws(() => parseCredentials('Digest username="u", realm="r", nonce="n", uri="sip:x"'),
    (e: unknown) => e instanceof SipError && e.status === 400 && /response/.test(e.reason));
  assert.throws(() => parseCredentials('Digest username="u", realm="r", nonce="n", uri="sip:x", ' +
    'response="0", qop=auth'), (e: unknown) => e instanceof SipError && /cnonce/.test(e.reason));
});

test('chooseChallenge skips foreign schemes, unknown algorithms and unusable qop', () => {
  assert.equal(chooseChallenge(['Bearer realm="x"', 'Digest realm="r", nonce="n", algorithm=SHA-1024',
    'Digest realm="r", nonce="n", qop="auth-conf"']), undefined);
  const c = chooseChallenge(['garbage', 'Digest realm="r", nonce="n1", algorithm=MD5-sess, qop="auth"',
    'Digest realm="r", nonce="n2", algorithm=SHA-256-sess, qop="auth"']);
  assert.equal(c?.nonce, 'n2');
  assert.equal(chooseChallenge([]), undefined);
});

test('createAuthorization draws a fresh cnonce each time', () => {
  const ch = 'Digest realm="r", nonce="n", qop="auth"';
  const a = parseCredentials(createAuthorization(ch, { method: 'X', uri: 'sip:x' }, { username: 'u', password: 'p' }));
  const b = parseCredentials(createAuthorization(ch, { method: 'X', uri: 'sip:x' }, { username: 'u', password: 'p' }));
  assert.notEqual(a.cnonce, b.cnonce);
  assert.ok(a.cnonce!.length >= 16);
});

test('DigestClient counts nc per nonce and gives up on a rejected password', () => {
  const client = new DigestClient({ username: 'u', password: 'p' });
  const req = { method: 'REGISTER', uri: 'sip:r' };
  const first = client.respond(['Digest realm="r", nonce="n", qop="auth"'], req)!;
  assert.equal(parseCredentials(first).nc, '00000001');
  assert.equal(parseCredentials(client.preemptive('r', req)!).nc, '00000002');
  assert.equal(parseCredentials(client.preemptive('r', req)!).nc, '00000003');
  assert.equal(client.preemptive('other', req), undefined);
  // Rejected again, not stale: the password is wrong, do not loop.
  assert.equal(client.respond(['Digest realm="r", nonce="n2", qop="auth"'], req, first), undefined);
  // Stale: retry with the new nonce, nc back to 1.
  const again = client.respond(['Digest realm="r", nonce="n3", qop="auth", stale=true'], req, first)!;
  assert.equal(parseCredentials(again).nonce, 'n3');
  assert.equal(parseCredentials(again).nc, '00000001');
});
