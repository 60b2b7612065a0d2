import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EphemeralCredentials, ephemeralPassword, mintEphemeral } from './index.js';

const SECRET = 'kamailio_rules_the_world';
// 2023-11-14T22:13:20Z; the clock of these tests is an hour before.
const EXPIRY = 1_700_000_000;
const now = (): number => (EXPIRY - 3600) * 1000;

test('passwords match an independent HMAC (openssl dgst -hmac ... -binary | base64)', () => {
  // printf '%s' '1700000000:alice' | openssl dgst -sha1 -hmac kamailio_rules_the_world -binary | base64
  assert.equal(ephemeralPassword(SECRET, '1700000000:alice'), 'Wra0DTPU5iHM7aSsgUVmzVLX02k=');
  assert.equal(ephemeralPassword(SECRET, '1700000000:alice', 'sha256'), 'pTUkgjPzT4FJUooidEoKC3EomKoyzD6zHM1uoxpQD+g=');
  assert.equal(ephemeralPassword(SECRET, 'alice@example.com:1700000000'), 'Jep78URjgGwNuViJsn1HyH+5kOE=');
});

test('<expiry>:<user>: verified, the user (and domain) becomes the identity with its expiry', () => {
  const e = new EphemeralCredentials({ secrets: [SECRET], now });
  const ok = e.verify('1700000000:alice', 'Wra0DTPU5iHM7aSsgUVmzVLX02k=');
  assert.deepEqual(ok, { ok: true, identity: { user: 'alice', method: 'ephemeral', expiresAt: EXPIRY * 1000 } });
  const withDomain = e.verify('1700000000:alice@Example.com', ephemeralPassword(SECRET, '1700000000:alice@Example.com'));
  assert.deepEqual(withDomain.ok && withDomain.identity.domain, 'example.com');
  assert.deepEqual(e.verify('1700000000:alice', 'Wra0DTPU5iHM7aSsgUVmzVLX02k'), { ok: false, why: 'wrong password' });
  assert.deepEqual(e.verify('1700000000:bob', 'Wra0DTPU5iHM7aSsgUVmzVLX02k='), { ok: false, why: 'wrong password' }, 'the password is bound to the name');
  assert.deepEqual(e.verify('alice', 'x'), { ok: false, why: 'malformed' });
  assert.deepEqual(e.verify('soon:alice', 'x'), { ok: false, why: 'malformed' });
});

test('the older <user>:<expiry> format, and SHA-256', () => {
  const old = new EphemeralCredentials({ secrets: [SECRET], format: 'user:expiry', now });
  assert.equal(old.verify('alice@example.com:1700000000', 'Jep78URjgGwNuViJsn1HyH+5kOE=').ok, true);
  assert.equal(old.parse('1700000000:alice'), undefined, 'the other layout is not this format');
  const sha256 = new EphemeralCredentials({ secrets: [SECRET], algorithm: 'sha256', now });
  assert.equal(sha256.verify('1700000000:alice', 'pTUkgjPzT4FJUooidEoKC3EomKoyzD6zHM1uoxpQD+g=').ok, true);
  assert.equal(sha256.verify('1700000000:alice', 'Wra0DTPU5iHM7aSsgUVmzVLX02k=').ok, false);
});

test('expired only once the password is right; several secrets for rotation', () => {
  const later = (): number => (EXPIRY + 1) * 1000;
  const e = new EphemeralCredentials({ secrets: ['the-new-secret-16', SECRET], now: later });
  assert.deepEqual(e.verify('1700000000:alice', 'Wra0DTPU5iHM7aSsgUVmzVLX02k='), { ok: false, why: 'expired' });
  assert.deepEqual(e.verify('1700000000:alice', 'nope'), { ok: false, why: 'wrong password' });
  const fresh = mintEphemeral({ secret: 'the-new-secret-16', user: 'bob', ttl: 60, now: later() });
  assert.equal(e.verify(fresh.username, fresh.password).ok, true);
  const byOld = mintEphemeral({ secret: SECRET, user: 'bob', ttl: 60, now: later() });
  assert.equal(e.verify(byOld.username, byOld.password).ok, true, 'the secret being retired still works');
  assert.deepEqual(e.passwords(byOld.username).length, 2);
  assert.throws(() => new EphemeralCredentials({ secrets: [] }), RangeError);
});

test('trapezoid-credential CLI prints the TURN REST response and the WebSocket URL', () => {
  const cli = fileURLToPath(new URL('./cli/mint-credential.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, '--user', 'alice', '--ttl', '600', '--url', 'ws://127.0.0.1:8088/'], {
    env: { ...process.env, TRAPEZOID_EPHEMERAL_SECRET: SECRET }, encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { username: string; password: string; ttl: number; url: string };
  assert.equal(out.ttl, 600);
  assert.match(out.username, /^\d{10}:alice$/);
  assert.equal(out.password, ephemeralPassword(SECRET, out.username));
  const u = new URL(out.url);
  assert.deepEqual([u.searchParams.get('username'), u.searchParams.get('password')], [out.username, out.password]);
  const bad = spawnSync(process.execPath, [cli, '--user', 'alice', '--algorithm', 'md5', '--secret', 'x'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--algorithm: sha1 or sha256, not md5/);
});
