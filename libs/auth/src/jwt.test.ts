// The verifier against tokens signed by an independent JOSE implementation (the jose
// package): each algorithm, key selection by kid, a JWK Set made by jose's exportJWK,
// and every way a token is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, jwtVerify, type JWTPayload } from 'jose';
import { JwtVerifier, jwksKeys, signJwt, type JwtKey } from './index.js';

const NOW = 1_800_000_000_000;
const now = (): number => NOW;
const hsSecret = Buffer.from('a-shared-hs256-secret-of-32-bytes!!');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });

async function sign(alg: 'HS256' | 'RS256' | 'ES256', claims: JWTPayload, opts: { kid?: string; key?: unknown } = {}): Promise<string> {
  const key = opts.key ?? (alg === 'HS256' ? hsSecret : alg === 'RS256' ? rsa.privateKey : ec.privateKey);
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...(opts.kid ? { kid: opts.kid } : {}) })
    .sign(key as Parameters<SignJWT['sign']>[0]);
}

const exp = NOW / 1000 + 600;

async function keys(): Promise<JwtKey[]> {
  const set = { keys: [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1' },
    { ...(await exportJWK(otherEc.publicKey)), kid: 'ec-enc', use: 'enc' },
  ] };
  return [{ alg: 'HS256', secret: hsSecret }, ...jwksKeys(set)];
}

test('HS256, RS256 and ES256 tokens signed by jose verify; claims map to the SIP user and dial patterns', async () => {
  const v = new JwtVerifier({ keys: await keys(), now });
  for (const alg of ['HS256', 'RS256', 'ES256'] as const) {
    const t = await sign(alg, { sub: 'sip:alice@Example.com', exp, dial: ['^\\+1\\d{10}$', '^echo$'] }, alg === 'HS256' ? {} : { kid: alg === 'RS256' ? 'rsa-1' : 'ec-1' });
    const r = v.verify(t);
    assert.ok(r.ok, `${alg}: ${JSON.stringify(r)}`);
    assert.deepEqual(r.identity, {
      user: 'alice', domain: 'example.com', method: 'jwt', expiresAt: exp * 1000, dialPatterns: ['^\\+1\\d{10}$', '^echo$'],
    });
  }
  const plain = v.verify(await sign('ES256', { sub: 'bob', exp }));
  assert.deepEqual(plain.ok && plain.identity, { user: 'bob', method: 'jwt', expiresAt: exp * 1000 }, 'no kid: every key of the algorithm is tried');
});

test('refusals: expired, not yet valid, no exp, bad signature, unknown kid, other key, tampered claims', async () => {
  const v = new JwtVerifier({ keys: await keys(), now, leewaySec: 30 });
  assert.deepEqual(v.verify(await sign('HS256', { sub: 'a', exp: NOW / 1000 - 31 })), { ok: false, why: 'expired' });
  assert.equal(v.verify(await sign('HS256', { sub: 'a', exp: NOW / 1000 - 29 })).ok, true, 'within the leeway');
  assert.deepEqual(v.verify(await sign('HS256', { sub: 'a', exp, nbf: NOW / 1000 + 120 })), { ok: false, why: 'not yet valid' });
  assert.deepEqual(v.verify(await sign('HS256', { sub: 'a' })), { ok: false, why: 'no exp' });
  assert.deepEqual(v.verify(await sign('HS256', { sub: 'a', exp }, { key: Buffer.from('another-secret-another-secret-xx') })), { ok: false, why: 'bad signature' });
  assert.deepEqual(v.verify(await sign('ES256', { sub: 'a', exp }, { key: otherEc.privateKey })), { ok: false, why: 'bad signature' },
    'a key listed for encryption (use: enc) does not verify');
  assert.deepEqual(v.verify(await sign('RS256', { sub: 'a', exp }, { kid: 'rsa-2' })), { ok: false, why: 'no key' });
  const good = await sign('RS256', { sub: 'alice', exp }, { kid: 'rsa-1' });
  const [h, , s] = good.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', exp })).toString('base64url')}.${s}`;
  assert.deepEqual(v.verify(forged), { ok: false, why: 'bad signature' });
  assert.deepEqual(v.verify('not.a.jwt!'), { ok: false, why: 'malformed' });
  assert.deepEqual(v.verify(await sign('HS256', { exp })), { ok: false, why: 'no user' });
  assert.deepEqual(v.verify(await sign('HS256', { sub: 'a', exp, dial: ['('] })), { ok: false, why: 'bad dial claim' });
});

test('alg none and algorithm confusion (an RSA public key used as an HS256 secret) are refused', async () => {
  const v = new JwtVerifier({ keys: await keys(), now });
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify({ sub: 'admin', exp })).toString('base64url');
  assert.deepEqual(v.verify(`${header}.${body}.`), { ok: false, why: 'algorithm not allowed' });
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
  const confused = await sign('HS256', { sub: 'admin', exp }, { key: Buffer.from(pem) });
  assert.deepEqual(v.verify(confused), { ok: false, why: 'bad signature' });
  const rsOnly = new JwtVerifier({ keys: await keys(), now, algorithms: ['RS256'] });
  assert.deepEqual(rsOnly.verify(await sign('HS256', { sub: 'a', exp })), { ok: false, why: 'algorithm not allowed' });
});

test('issuer and audience, and another user claim', async () => {
  const v = new JwtVerifier({ keys: await keys(), now, issuer: ['https://app.example.com'], audience: ['trapezoid'], userClaim: 'sip_user' });
  const ok = v.verify(await sign('HS256', { iss: 'https://app.example.com', aud: ['other', 'trapezoid'], sip_user: 'carol', exp }));
  assert.equal(ok.ok && ok.identity.user, 'carol');
  assert.deepEqual(v.verify(await sign('HS256', { iss: 'https://evil.example', aud: 'trapezoid', sip_user: 'c', exp })), { ok: false, why: 'wrong issuer' });
  assert.deepEqual(v.verify(await sign('HS256', { iss: 'https://app.example.com', aud: 'other', sip_user: 'c', exp })), { ok: false, why: 'wrong audience' });
});

test('a JWK Set names what it cannot load', () => {
  assert.throws(() => jwksKeys({}), /no "keys" array/);
  assert.throws(() => jwksKeys({ keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b', kid: 'k384' }] }), /key k384: kty EC P-384 is not RSA, EC P-256 or oct/);
  assert.throws(() => jwksKeys({ keys: [{ kty: 'RSA', e: 'AQAB' }] }), /key #0/);
  assert.deepEqual(jwksKeys({ keys: [{ kty: 'oct', k: 'c2VjcmV0', alg: 'HS256' }, { kty: 'oct', k: 'eA', alg: 'HS512' }] }).length, 1);
});

test('signJwt (the CLI\'s signer) makes tokens jose verifies, for each algorithm', async () => {
  for (const [alg, priv, pub] of [['HS256', hsSecret, hsSecret], ['RS256', rsa.privateKey, rsa.publicKey], ['ES256', ec.privateKey, ec.publicKey]] as const) {
    const t = signJwt(alg, priv, { sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 }, 'k1');
    const { payload, protectedHeader } = await jwtVerify(t, pub as Parameters<typeof jwtVerify>[1], { algorithms: [alg] });
    assert.equal(payload.sub, 'alice');
    assert.deepEqual(protectedHeader, { alg, typ: 'JWT', kid: 'k1' });
  }
});

test('trapezoid-credential --jwt signs a token the gateway\'s verifier accepts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-cli-'));
  try {
    const pem = join(dir, 'ec.pem');
    writeFileSync(pem, ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const cli = fileURLToPath(new URL('./cli/mint-credential.js', import.meta.url));
    const r = spawnSync(process.execPath, [cli, '--jwt', 'ES256', '--key', pem, '--kid', 'ec-1', '--user', 'sip:dana@example.com',
      '--ttl', '300', '--dial', '^1\\d{3}$', '--dial', '^echo$', '--url', 'ws://127.0.0.1:8088/sip'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { token: string; url: string };
    const v = new JwtVerifier({ keys: [{ alg: 'ES256', kid: 'ec-1', key: ec.publicKey }] });
    const checked = v.verify(out.token);
    assert.ok(checked.ok, JSON.stringify(checked));
    assert.deepEqual([checked.identity.user, checked.identity.domain, checked.identity.dialPatterns], ['dana', 'example.com', ['^1\\d{3}$', '^echo$']]);
    assert.equal(new URL(out.url).searchParams.get('token'), out.token);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
