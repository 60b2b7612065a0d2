// Issue 8 acceptance, JWT at the WebSocket upgrade: JsSIP on 127.0.0.3 connects with a
// token signed by an independent implementation (jose) with HS256, RS256 and ES256
// (keys from a JWK Set file) and registers with no challenge; its claims become the
// connection's identity, dial patterns included, for the toll-fraud guards to read; an
// expired token and a bad signature are refused 403 at the upgrade (from 127.0.0.2),
// logged without the token.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, type JWTPayload } from 'jose';
import { WebSocket } from 'ws';
import type { SipMessage } from '@trapezoid/sip';
import { boundSocket, loadJsSIP, nextEvent } from '../sip/jssip-node.js';
import { DOMAIN, assertReleasedAndStop, startGateway, type TestGateway } from './harness.js';
import { ATTACKER, CLIENT, SuiteOutcome } from './edge-attack.js';

const JsSIP = loadJsSIP();
type JsSipUA = InstanceType<typeof JsSIP.UA>;
const HS_SECRET = 'the-hs256-secret-shared-with-the-web-app';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ISSUER = 'https://app.example.com';

async function token(alg: 'HS256' | 'RS256' | 'ES256', claims: JWTPayload): Promise<string> {
  const key = alg === 'HS256' ? Buffer.from(HS_SECRET) : alg === 'RS256' ? rsa.privateKey : ec.privateKey;
  const kid = alg === 'RS256' ? 'rsa-2024' : alg === 'ES256' ? 'ec-2024' : undefined;
  return new SignJWT({ iss: ISSUER, aud: 'trapezoid', ...claims }).setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .sign(key as Parameters<SignJWT['sign']>[0]);
}

const inMinutes = (m: number): number => Math.floor(Date.now() / 1000) + m * 60;

describe('JWT at the WebSocket upgrade', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let dir: string;
  const seen: SipMessage[] = [];
  const uas: JsSipUA[] = [];
  const outcome = new SuiteOutcome();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jwks-'));
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-2024', use: 'sig', alg: 'RS256' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-2024', use: 'sig', alg: 'ES256' },
    ] }));
    gw = await startGateway({
      ports: { min: 19160, max: 19179 },
      edit: (raw) => {
        raw.auth = { jwt: { secrets: [HS_SECRET], jwks, issuer: [ISSUER], audience: ['trapezoid'] } };
        (raw.media as Record<string, unknown>).workers = 1;
      },
    });
    gw.transport.on('message', (m: SipMessage) => seen.push(m));
  });
  after(async () => {
    for (const ua of uas) {
      if (!ua.isConnected()) continue;
      const gone = nextEvent(ua, 'disconnected');
      ua.stop();
      await gone;
    }
    await assertReleasedAndStop(gw, outcome.passed);
    rmSync(dir, { recursive: true, force: true });
  });
  const url = (): string => `ws://127.0.0.1:${gw.listeningPoints().find((p) => p.protocol === 'ws')!.port}`;

  for (const [alg, user] of [['HS256', 'hana'], ['RS256', 'ravi'], ['ES256', 'elif']] as const) {
    it(`${alg}: JsSIP registers with the token, unchallenged; the claims are the connection's identity, dial patterns included`, () => outcome.run(async () => {
      const jwt = await token(alg, { sub: `sip:${user}@${DOMAIN}`, exp: inMinutes(10), dial: ['^\\+4420\\d{8}$'] });
      const ua = new JsSIP.UA({
        sockets: [boundSocket(JsSIP, `${url()}/?token=${jwt}`, CLIENT)], uri: `sip:${user}@${DOMAIN}`, register: true,
      });
      uas.push(ua);
      const registered = nextEvent(ua, 'registered', 'registrationFailed');
      ua.start();
      await registered;
      const reg = seen.filter((m) => m.isRequest && m.method === 'REGISTER' && m.headers.get('to')?.includes(`${user}@`));
      assert.equal(reg.length, 1, 'one REGISTER, no challenge');
      const identity = gw.auth.identities.get(reg[0]!.transport!.flowId);
      assert.deepEqual({ ...identity, expiresAt: 0 }, {
        user, domain: DOMAIN, method: 'jwt', expiresAt: 0, dialPatterns: ['^\\+4420\\d{8}$'],
      });
    }));
  }

  it('an expired token and a bad signature are refused 403 at the upgrade, and the token is not logged; a valid token is still served', () => outcome.run(async () => {
    const refused = async (jwt: string): Promise<{ status: number; reason: string }> => {
      const ws = new WebSocket(`${url()}/?access_token=${jwt}`, 'sip', { localAddress: ATTACKER });
      ws.on('error', () => undefined);
      const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
      res.resume();
      ws.terminate();
      return { status: res.statusCode!, reason: res.statusMessage ?? '' };
    };
    const expired = await token('ES256', { sub: 'elif', exp: inMinutes(-5) });
    assert.deepEqual(await refused(expired), { status: 403, reason: 'Credentials expired' });
    const good = await token('RS256', { sub: 'ravi', exp: inMinutes(10) });
    const [h, p, s] = good.split('.') as [string, string, string];
    const resigned = `${h}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: 'trapezoid', sub: 'admin', exp: inMinutes(10) })).toString('base64url')}.${s}`;
    assert.deepEqual(await refused(resigned), { status: 403, reason: 'Forbidden' });
    const otherIssuer = await new SignJWT({ iss: 'https://evil.example', aud: 'trapezoid', sub: 'hana', exp: inMinutes(10) })
      .setProtectedHeader({ alg: 'HS256' }).sign(Buffer.from(HS_SECRET));
    assert.deepEqual(await refused(otherIssuer), { status: 403, reason: 'Forbidden' });
    const lines = gw.events.events.filter((e) => e.event === 'ws-refused');
    assert.deepEqual(lines.map((e) => e.detail !== undefined && String(e.detail).split(';')[0]), ['JWT expired', 'JWT: bad signature', 'JWT: wrong issuer']);
    const all = JSON.stringify(gw.events.events);
    for (const t of [expired, resigned, otherIssuer, p, s]) assert.ok(!all.includes(t), 'no token or token part in the log');
    // A valid client is still served: JsSIP with a good token registers, unchallenged.
    const valid = await token('HS256', { sub: `sip:hana@${DOMAIN}`, exp: inMinutes(10) });
    const ua = new JsSIP.UA({ sockets: [boundSocket(JsSIP, `${url()}/?token=${valid}`, CLIENT)], uri: `sip:hana@${DOMAIN}`, register: true });
    uas.push(ua);
    const registered = nextEvent(ua, 'registered', 'registrationFailed');
    ua.start();
    await registered;
  }));
});
