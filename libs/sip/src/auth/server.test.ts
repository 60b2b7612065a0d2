import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  DigestServer, MemoryNonceUseStore, chooseChallenge, createAuthorization, parseChallenge, parseCredentials, formatCredentials,
  type NonceUseStore,
} from './index.js';
import { NonceMint } from './nonce.js';

const users: Record<string, string> = { alice: 'wonderland' };
const lookup = (u: string): { password: string } | undefined =>
  users[u] === undefined ? undefined : { password: users[u]! };
const req = { method: 'REGISTER', uri: 'sip:example.com' };

function answer(server: DigestServer, password = 'wonderland', stale = false): string {
  const c = chooseChallenge(server.challenge(stale))!;
  return createAuthorization(c, req, { username: 'alice', password });
}

test('challenge lists one value per algorithm, in the configured order, qop=auth', () => {
  const s = new DigestServer({ realm: 'example.com', lookup, algorithms: ['SHA-256', 'MD5-sess'] });
  const values = s.challenge();
  assert.equal(values.length, 2);
  const [a, b] = values.map((v) => parseChallenge(v));
  assert.equal(a!.algorithm, 'SHA-256');
  assert.equal(b!.algorithm, 'MD5-sess');
  assert.deepEqual(a!.qop, ['auth']);
  assert.equal(a!.realm, 'example.com');
  assert.equal(a!.stale, undefined);
  assert.equal(parseChallenge(s.challenge(true)[0]!).stale, true);
  // Two challenges get different nonces.
  assert.notEqual(parseChallenge(s.challenge()[0]!).nonce, a!.nonce);
});

test('right password verifies for every algorithm; wrong one fails with the configured status', async () => {
  for (const alg of ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256'] as const) {
    const s = new DigestServer({ realm: 'example.com', lookup, algorithms: [alg] });
    const ok = await s.verify({ ...req, authorization: answer(s) });
    assert.equal(ok.ok, true, alg);
    assert.equal(ok.ok && ok.username, 'alice');
    const bad = await s.verify({ ...req, authorization: answer(s, 'guess') });
    assert.deepEqual(bad, { ok: false, stale: false, reason: 'wrong password', status: 403, username: 'alice' });
  }
  const s401 = new DigestServer({ realm: 'example.com', lookup, wrongPasswordStatus: 401 });
  const r = await s401.verify({ ...req, authorization: answer(s401, 'guess') });
  assert.equal(!r.ok && r.status, 401);
  const unknown = await s401.verify({ ...req, authorization: createAuthorization(s401.challenge()[0]!, req,
    { username: 'mallory', password: 'x' }) });
  assert.equal(!unknown.ok && unknown.reason, 'unknown user');
});

test('stored HA1 instead of the password: by hex length or per algorithm', async () => {
  const md5 = createHash('md5').update('alice:example.com:wonderland').digest('hex');
  const sha = createHash('sha256').update('alice:example.com:wonderland').digest('hex');
  const s1 = new DigestServer({ realm: 'example.com', algorithms: ['MD5'], lookup: async () => ({ ha1: md5 }) });
  assert.equal((await s1.verify({ ...req, authorization: answer(s1) })).ok, true);
  const s2 = new DigestServer({ realm: 'example.com', lookup: () => ({ ha1: { 'SHA-256': sha, MD5: md5 } }) });
  assert.equal((await s2.verify({ ...req, authorization: answer(s2) })).ok, true);
  // An MD5 HA1 cannot answer a SHA-256 response.
  const s3 = new DigestServer({ realm: 'example.com', algorithms: ['SHA-256'], lookup: () => ({ ha1: md5 }) });
  const r = await s3.verify({ ...req, authorization: answer(s3) });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /no HA1/);
});

test('expired nonce with the right password -> stale=true, not a failure of the password', async () => {
  const secret = Buffer.alloc(32, 7);
  const s = new DigestServer({ realm: 'example.com', lookup, secret, nonceTtlSec: 60 });
  // A nonce minted two minutes ago by the same secret.
  const old = new NonceMint(secret, 'example.com').issue(Date.now() - 120_000);
  const c = { ...parseChallenge(s.challenge()[0]!), nonce: old };
  const right = await s.verify({ ...req, authorization: createAuthorization(c, req, { username: 'alice', password: 'wonderland' }) });
  assert.deepEqual(right, { ok: false, stale: true, reason: 'nonce expired', status: 401, username: 'alice' });
  const wrong = await s.verify({ ...req, authorization: createAuthorization(c, req, { username: 'alice', password: 'nope' }) });
  assert.equal(!wrong.ok && wrong.stale, false);
  assert.equal(!wrong.ok && wrong.status, 403);
});

test('tampered nonce is rejected; a nonce from another secret with the right password is stale', async () => {
  const s = new DigestServer({ realm: 'example.com', lookup });
  const ch = parseChallenge(s.challenge()[0]!);
  const chars = ch.nonce.split('');
  chars[2] = chars[2] === 'A' ? 'B' : 'A'; // flip bits of the timestamp
  const tampered = { ...ch, nonce: chars.join('') };
  const creds = parseCredentials(answer(s));
  // Attacker swaps the nonce but keeps a response computed for the real one.
  const swapped = await s.verify({ ...req, authorization: formatCredentials({ ...creds, nonce: tampered.nonce }) });
  assert.equal(swapped.ok, false);
  assert.equal(!swapped.ok && swapped.stale, false);
  assert.match(!swapped.ok ? swapped.reason : '', /invalid nonce \(forged\)/);
  assert.equal(!swapped.ok && swapped.status, 403, 'a forged nonce fails like a wrong password');
  const garbage = await s.verify({ ...req, authorization: formatCredentials({ ...creds, nonce: 'short' }) });
  assert.match(!garbage.ok ? garbage.reason : '', /malformed/);
  // After a restart (new secret) a client that knows the password is told stale=true.
  const restarted = new DigestServer({ realm: 'example.com', lookup });
  const r = await restarted.verify({ ...req, authorization: answer(s) });
  assert.equal(!r.ok && r.stale, true);
  // Another realm's nonce does not verify here even with the same secret.
  const secret = Buffer.alloc(32, 1);
  const a = new DigestServer({ realm: 'a.example', lookup, secret });
  const b = new DigestServer({ realm: 'b.example', lookup, secret });
  const forA = parseChallenge(a.challenge()[0]!);
  const crossed = await b.verify({ ...req, authorization: createAuthorization({ ...forA, realm: 'b.example' }, req,
    { username: 'alice', password: 'wonderland' }) });
  assert.equal(crossed.ok, false);
});

test('request checks: missing, malformed, wrong realm, wrong uri, algorithm not offered', async () => {
  const s = new DigestServer({ realm: 'example.com', lookup, algorithms: ['SHA-256'] });
  assert.deepEqual(await s.verify({ ...req, authorization: undefined }),
    { ok: false, stale: false, reason: 'no credentials', status: 401 });
  const mal = await s.verify({ ...req, authorization: 'Digest username=' });
  assert.equal(!mal.ok && mal.status, 400);
  assert.doesNotMatch(!mal.ok ? mal.reason : '', /^\d{3} /, 'the reason is the fault, not "400 ..." again');
  // RFC 4475 regaut01: credentials of a scheme nobody knows are no credentials: challenge.
  const unknown = await s.verify({ ...req, authorization: 'NoOneKnowsThisScheme opaque-data=here' });
  assert.deepEqual(!unknown.ok && [unknown.status, unknown.reason], [401, 'credentials of the unknown scheme NoOneKnowsThisScheme']);
  const good = answer(s);
  const wrongUri = await s.verify({ method: 'REGISTER', uri: 'sip:other.example', authorization: good });
  assert.equal(!wrongUri.ok && wrongUri.status, 400);
  const md5 = createAuthorization({ ...parseChallenge(s.challenge()[0]!), algorithm: 'MD5' }, req,
    { username: 'alice', password: 'wonderland' });
  const r = await s.verify({ ...req, authorization: md5 });
  assert.match(!r.ok ? r.reason : '', /not offered/);
  const realm = createAuthorization({ ...parseChallenge(s.challenge()[0]!), realm: 'evil' }, req,
    { username: 'alice', password: 'wonderland' });
  assert.equal((await s.verify({ ...req, authorization: realm })).ok, false);
});

test('replayed nc: refused (stale) by default, accepted only by an explicitly stateless server', async () => {
  const loose = new DigestServer({ realm: 'example.com', lookup, nonceUses: false });
  const v = answer(loose);
  assert.equal((await loose.verify({ ...req, authorization: v })).ok, true);
  // Documented trade-off of nonceUses: false: within the nonce TTL a captured request can be replayed.
  assert.equal((await loose.verify({ ...req, authorization: v })).ok, true);

  const strict = new DigestServer({ realm: 'example.com', lookup });
  const c = chooseChallenge(strict.challenge())!;
  const creds = { username: 'alice', password: 'wonderland' };
  const one = createAuthorization(c, req, creds, 1);
  assert.equal((await strict.verify({ ...req, authorization: one })).ok, true);
  const replay = await strict.verify({ ...req, authorization: one });
  assert.deepEqual(replay, { ok: false, stale: true, reason: 'replayed nonce-count', status: 401, username: 'alice' });
  assert.equal((await strict.verify({ ...req, authorization: createAuthorization(c, req, creds, 3) })).ok, true);
  // A count below the highest seen is a replay too, even if never used itself.
  assert.equal((await strict.verify({ ...req, authorization: createAuthorization(c, req, creds, 2) })).ok, false);
  // Without qop there is no nc: the nonce is single-use.
  const noQop = new DigestServer({ realm: 'example.com', lookup, qop: [] });
  const ch = { ...parseChallenge(noQop.challenge()[0]!), qop: undefined };
  const legacy = createAuthorization(ch, req, creds);
  assert.equal(parseCredentials(legacy).qop, undefined);
  assert.equal((await noQop.verify({ ...req, authorization: legacy })).ok, true);
  assert.equal((await noQop.verify({ ...req, authorization: legacy })).ok, false);
});

test('a shared, asynchronous nonce-use store: a nonce accepted by one server is a replay on the other', async () => {
  // Two nodes of a cluster: one nonce secret, one store (a stand-in for the Redis one, async like it).
  const secret = Buffer.alloc(32, 9);
  const shared = new MemoryNonceUseStore();
  const calls: number[] = [];
  const store: NonceUseStore = {
    use: async (nonce, nc, issued, expires) => {
      calls.push(nc);
      await new Promise((r) => setImmediate(r));
      return shared.use(nonce, nc, issued, expires);
    },
  };
  const a = new DigestServer({ realm: 'example.com', lookup, secret, nonceUses: store });
  const b = new DigestServer({ realm: 'example.com', lookup, secret, nonceUses: store });
  const v = answer(a);
  assert.equal((await a.verify({ ...req, authorization: v })).ok, true);
  const onB = await b.verify({ ...req, authorization: v });
  assert.equal(!onB.ok && onB.reason, 'replayed nonce-count');
  assert.deepEqual(calls, [1, 1]);
  // The store is asked only once the password is right: failures cost it nothing.
  await b.verify({ ...req, authorization: answer(b, 'guess') });
  assert.equal(calls.length, 2);
});

test('unknown user, wrong password and forged nonce are indistinguishable: same status, both settings', async () => {
  for (const wrongPasswordStatus of [401, 403] as const) {
    const s = new DigestServer({ realm: 'example.com', lookup, wrongPasswordStatus });
    const c = chooseChallenge(s.challenge())!;
    const unknown = await s.verify({ ...req, authorization: createAuthorization(c, req, { username: 'mallory', password: 'x' }) });
    const wrong = await s.verify({ ...req, authorization: createAuthorization(c, req, { username: 'alice', password: 'x' }) });
    const forgedNonce = { ...c, nonce: 'A'.repeat(c.nonce.length) };
    const forgedKnown = await s.verify({ ...req, authorization: createAuthorization(forgedNonce, req, { username: 'alice', password: 'x' }) });
    const forgedUnknown = await s.verify({ ...req, authorization: createAuthorization(forgedNonce, req, { username: 'mallory', password: 'x' }) });
    for (const r of [unknown, wrong, forgedKnown, forgedUnknown]) {
      assert.equal(r.ok, false);
      assert.deepEqual(!r.ok && [r.status, r.stale], [wrongPasswordStatus, false], JSON.stringify(r));
    }
    assert.deepEqual([unknown, wrong, forgedKnown].map((r) => !r.ok && r.reason),
      ['unknown user', 'wrong password', 'wrong response over an invalid nonce (forged)']);
  }
});

test('several passwords (rotating secrets): any one is right', async () => {
  const s = new DigestServer({ realm: 'example.com', lookup: () => ({ passwords: ['old', 'wonderland'] }) });
  assert.equal((await s.verify({ ...req, authorization: answer(s) })).ok, true);
  assert.equal((await s.verify({ ...req, authorization: answer(s, 'old') })).ok, true);
  assert.equal((await s.verify({ ...req, authorization: answer(s, 'neither') })).ok, false);
});

test('MemoryNonceUseStore: bounded; a forgotten live nonce stays refused (floor), expired ones go first', () => {
  let now = 1_000_000;
  const store = new MemoryNonceUseStore(3, () => now);
  const ttl = 30_000;
  assert.equal(store.use('a', 1, now - 3, now - 3 + ttl), true);
  assert.equal(store.use('b', 1, now - 2, now - 2 + ttl), true);
  assert.equal(store.use('c', 1, now - 1, now - 1 + ttl), true);
  assert.equal(store.use('a', 1, now - 3, now - 3 + ttl), false);
  assert.equal(store.use('a', 2, now - 3, now - 3 + ttl), true);
  // Full: 'a' (oldest first use) is forgotten, and nonces minted before it are refused.
  assert.equal(store.use('d', 1, now, now + ttl), true);
  assert.equal(store.size, 3);
  assert.equal(store.use('a', 3, now - 3, now - 3 + ttl), false, 'forgotten, but not reopened to replay');
  assert.equal(store.use('e', 1, now - 10, now - 10 + ttl), false, 'minted before the floor: retry with a fresh nonce');
  // Once they expire, entries are dropped without raising the floor.
  now += ttl + 1;
  assert.equal(store.use('f', 1, now, now + ttl), true);
  assert.equal(store.size, 1);
});
test('qop=auth-int covers the body: verified against the body the server got', async () => {
  const s = new DigestServer({ realm: 'example.com', lookup, qop: ['auth-int'] });
  const body = Buffer.from('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n');
  const invite = { method: 'INVITE', uri: 'sip:bob@example.com' };
  const v = createAuthorization(s.challenge()[0]!, { ...invite, body }, { username: 'alice', password: 'wonderland' });
  assert.equal(parseCredentials(v).qop, 'auth-int');
  assert.equal((await s.verify({ ...invite, authorization: v, body })).ok, true);
  const altered = await s.verify({ ...invite, authorization: v, body: Buffer.from('v=0\r\n') });
  assert.equal(altered.ok, false);
  // Without the body the server cannot check auth-int: refused, not guessed.
  assert.match(JSON.stringify(await s.verify({ ...invite, authorization: v })), /not offered/);
});
