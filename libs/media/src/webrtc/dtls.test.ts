// DTLS-SRTP sessions in both roles over an in-memory datagram path, for every pairing of
// the two implementations (OpenSSL in the addon, werift): key export mirrors between the
// roles, profile choice follows the server's preference, the peer must both match
// a=fingerprint and hold that certificate's key, and a lost first flight is resent fast.
// The browser tests (test/src/media/webrtc-browser.test.ts) run both against Chromium.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { CipherContext } from 'werift';
import type { SrtpProfile } from '../srtp/profile.js';
import { getCertificate, type DtlsCertificate } from './certificate.js';
import { createDtlsSession, prepareDtls, type DtlsImplementation, type DtlsResult, type DtlsSession } from './dtls.js';
import { nativeForTest } from '../native/test-support.js';

async function otherCertificate(): Promise<DtlsCertificate> {
  const { certPem, keyPem } = await CipherContext.createSelfSignedCertificateWithKey({ signature: 3, hash: 4 }, 23);
  return { certPem, keyPem, fingerprint: new X509Certificate(certPem).fingerprint256, fingerprintAlgorithm: 'sha-256' };
}

interface Outcome {
  server: DtlsResult | Error | null;
  client: DtlsResult | Error | null;
  /** ms from start() to both sides settled. */
  ms: number;
}

interface Pairing {
  server: DtlsImplementation;
  client: DtlsImplementation;
}

const PAIRINGS: Pairing[] = [
  { server: 'native', client: 'werift' },
  { server: 'werift', client: 'native' },
  { server: 'native', client: 'native' },
  { server: 'werift', client: 'werift' },
];

async function handshake(pair: Pairing, opts: {
  serverCert: DtlsCertificate; clientCert: DtlsCertificate;
  serverProfiles?: SrtpProfile[]; clientProfiles?: SrtpProfile[];
  serverExpects?: string; clientExpects?: string;
  /** Datagrams from the client to drop, by index (0 = the first ClientHello). */
  dropFromClient?: number[];
}): Promise<Outcome> {
  const out: Outcome = { server: null, client: null, ms: 0 };
  const sessions: { server: DtlsSession | null; client: DtlsSession | null } = { server: null, client: null };
  let fromClient = 0;
  // Datagrams cross through setImmediate, as a socket would deliver them.
  const server = createDtlsSession({
    role: 'server', certificate: opts.serverCert, profiles: opts.serverProfiles ?? ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'],
    send: (d) => { const copy = Buffer.from(d); setImmediate(() => sessions.client?.receive(copy)); },
  }, pair.server);
  const client = createDtlsSession({
    role: 'client', certificate: opts.clientCert, profiles: opts.clientProfiles ?? ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'],
    send: (d) => {
      const copy = Buffer.from(d);
      if (opts.dropFromClient?.includes(fromClient++)) return;
      setImmediate(() => sessions.server?.receive(copy));
    },
  }, pair.client);
  sessions.server = server;
  sessions.client = client;
  server.remoteFingerprints = [{ algorithm: 'sha-256', value: opts.serverExpects ?? opts.clientCert.fingerprint }];
  client.remoteFingerprints = [{ algorithm: 'sha-256', value: opts.clientExpects ?? opts.serverCert.fingerprint }];
  // A side that refuses its peer reports at once; the other may wait for a flight that
  // never comes, so it gets a short grace instead of the whole timeout.
  let refused: () => void = () => undefined;
  const oneRefused = new Promise<void>((resolve) => { refused = resolve; });
  const settle = (s: DtlsSession, key: 'server' | 'client'): Promise<void> => new Promise((resolve) => {
    s.onConnected = (r) => { out[key] = r; resolve(); };
    s.onError = (e) => { out[key] = e; refused(); resolve(); };
  });
  const done = Promise.all([settle(server, 'server'), settle(client, 'client')]);
  const t0 = performance.now();
  server.start();
  client.start();
  await Promise.race([done, oneRefused.then(() => sleep(300)), sleep(3000)]);
  out.ms = performance.now() - t0;
  server.close();
  client.close();
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function ok(r: DtlsResult | Error | null): DtlsResult {
  assert.ok(r && !(r instanceof Error), `handshake succeeded: ${String(r)}`);
  return r;
}

describe('DTLS-SRTP session', () => {
  before(() => prepareDtls('werift'));

  test('the native addon is built (its DTLS is what these pairings compare with werift)', () => {
    assert.equal(typeof nativeForTest().dtlsCreate, 'function');
  });

  for (const pair of PAIRINGS) {
    const name = `${pair.server} server, ${pair.client} client`;
    describe(name, () => {
      test('both roles derive mirrored SRTP keys; the server picks its preferred common profile', async () => {
        const cert = await getCertificate();
        const other = await otherCertificate();
        const { server: s, client: c } = await handshake(pair, { serverCert: cert, clientCert: other });
        const server = ok(s);
        const client = ok(c);
        assert.equal(server.profile, 'AEAD_AES_128_GCM', 'server preference wins (RFC 5764 §4.1.1)');
        assert.equal(client.profile, 'AEAD_AES_128_GCM');
        assert.deepEqual(server.local, client.remote);
        assert.deepEqual(server.remote, client.local);
        assert.notDeepEqual(server.local.masterKey, server.remote.masterKey);
        assert.equal(server.local.masterSalt.length, 12);
      });

      test('AES_CM_128_HMAC_SHA1_80 when the server offers only it: 14-byte salts, mirrored keys', async () => {
        const cert = await getCertificate();
        const other = await otherCertificate();
        const { server: s, client: c } = await handshake(pair, { serverCert: other, clientCert: cert, serverProfiles: ['AES_CM_128_HMAC_SHA1_80'] });
        const server = ok(s);
        const client = ok(c);
        assert.equal(server.profile, 'AES_CM_128_HMAC_SHA1_80');
        assert.equal(client.profile, 'AES_CM_128_HMAC_SHA1_80');
        assert.equal(server.local.masterSalt.length, 14);
        assert.deepEqual(server.local, client.remote);
        assert.deepEqual(server.remote, client.local);
      });

      test('no common SRTP profile fails the handshake on both sides', async () => {
        const cert = await getCertificate();
        const r = await handshake(pair, {
          serverCert: cert, clientCert: cert, serverProfiles: ['AEAD_AES_128_GCM'], clientProfiles: ['AES_CM_128_HMAC_SHA1_80'],
        });
        assert.ok(!(r.server && !(r.server instanceof Error)), 'the server has no keys');
        assert.ok(!(r.client && !(r.client instanceof Error)), 'the client has no keys');
      });

      test('a certificate that does not match a=fingerprint fails the session on the checking side', async () => {
        const cert = await getCertificate();
        const other = await otherCertificate();
        const wrong = other.fingerprint.replace(/^../, other.fingerprint.startsWith('00') ? '11' : '00');
        const asServer = await handshake(pair, { serverCert: cert, clientCert: other, serverExpects: wrong });
        assert.ok(asServer.server instanceof Error);
        assert.match(asServer.server.message, /a=fingerprint/);
        const asClient = await handshake(pair, { serverCert: other, clientCert: cert, clientExpects: wrong });
        assert.ok(asClient.client instanceof Error);
        assert.match(asClient.client.message, /a=fingerprint/);
      });

      test('a first ClientHello that is lost is resent after ~50 ms, not OpenSSL\'s or werift\'s 1 s / 500 ms', async () => {
        const cert = await getCertificate();
        const r = await handshake(pair, { serverCert: cert, clientCert: cert, dropFromClient: [0] });
        ok(r.server);
        ok(r.client);
        assert.ok(r.ms < 450, `handshake with the first flight lost took ${Math.round(r.ms)} ms`);
      });
    });
  }

  // Only werift can play the impostor: OpenSSL refuses a certificate with another key.
  for (const checker of ['native', 'werift'] as const) {
    test(`${checker}: a peer showing the right certificate without its private key is refused (proof of possession)`, async () => {
      const cert = await getCertificate();
      const other = await otherCertificate();
      const impostor: DtlsCertificate = { ...cert, keyPem: other.keyPem };
      const clientImpostor = await handshake({ server: checker, client: 'werift' }, { serverCert: other, clientCert: impostor });
      assert.ok(clientImpostor.server instanceof Error, 'server refuses the client');
      assert.match(clientImpostor.server.message, checker === 'native' ? /signature/i : /CertificateVerify/);
      const serverImpostor = await handshake({ server: 'werift', client: checker }, { serverCert: impostor, clientCert: other });
      assert.ok(serverImpostor.client instanceof Error, 'client refuses the server');
      assert.match(serverImpostor.client.message, checker === 'native' ? /signature/i : /ServerKeyExchange/);
    });
  }

  test('the process certificate is made natively: self-signed ECDSA P-256 / SHA-256 (RFC 8827 §6.5), its fingerprint the SDP\'s', async () => {
    const made = nativeForTest().dtlsCertificate();
    const x = new X509Certificate(made.certPem);
    assert.equal(x.publicKey.asymmetricKeyType, 'ec');
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(x.subject, x.issuer, 'self-signed');
    assert.ok(x.verify(x.publicKey), 'signed by its own key');
    assert.ok(x.checkPrivateKey(createPrivateKey(made.keyPem)), 'the key goes with it');
    assert.ok(new Date(x.validTo).getTime() > Date.now() + 300 * 86_400_000, 'valid for months');
    const cert = await getCertificate();
    assert.equal(cert.fingerprint, new X509Certificate(cert.certPem).fingerprint256);
  });

  test('native: released after the peer\'s media proved it has its keys, the peer\'s certificate is still checked against a later SDP and an alert from the peer still reports the close', async () => {
    const cert = await getCertificate();
    const sessions: { server: DtlsSession | null; client: DtlsSession | null } = { server: null, client: null };
    const server = createDtlsSession({ role: 'server', certificate: cert, profiles: ['AEAD_AES_128_GCM'],
      send: (d) => { const b = Buffer.from(d); setImmediate(() => sessions.client?.receive(b)); } }, 'native');
    const client = createDtlsSession({ role: 'client', certificate: cert, profiles: ['AEAD_AES_128_GCM'],
      send: (d) => { const b = Buffer.from(d); setImmediate(() => sessions.server?.receive(b)); } }, 'native');
    Object.assign(sessions, { server, client });
    for (const s of [server, client]) s.remoteFingerprints = [{ algorithm: 'sha-256', value: cert.fingerprint }];
    const up = Promise.all([server, client].map((s) => new Promise((resolve) => { s.onConnected = resolve; })));
    server.start();
    client.start();
    await up;
    let closed = 0;
    server.onClose = () => { closed++; };
    server.release();
    // A later SDP of the peer (its answer to a re-offer) is checked again after the
    // release: the same certificate passes, without an error that would close the leg.
    const errors: Error[] = [];
    let connected = 0;
    server.onError = (e) => { errors.push(e); };
    server.onConnected = () => { connected++; };
    server.verify();
    assert.deepEqual(errors, []);
    assert.equal(connected, 1);
    server.remoteFingerprints = [{ algorithm: 'sha-256', value: (await otherCertificate()).fingerprint }];
    server.verify();
    assert.match(String(errors[0]), /does not match a=fingerprint/, 'another fingerprint is still refused');
    server.remoteFingerprints = [{ algorithm: 'sha-256', value: cert.fingerprint }];
    server.receive(Buffer.from([22, 0xfe, 0xfd, 0, 1])); // a stray handshake record: ignored
    assert.equal(closed, 0);
    server.receive(Buffer.from([21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 2, 1, 0])); // an alert (close_notify on hang-up)
    assert.equal(closed, 1);
    server.close();
    client.close();
  });

  test('native: a certificate whose key does not go with it is refused at once, naming the fault', async () => {
    const cert = await getCertificate();
    const other = await otherCertificate();
    assert.throws(() => createDtlsSession({
      role: 'server', certificate: { ...cert, keyPem: other.keyPem }, profiles: ['AEAD_AES_128_GCM'], send: () => undefined,
    }, 'native'), /certificate and key do not go together/);
    assert.throws(() => createDtlsSession({
      role: 'server', certificate: { ...cert, certPem: 'not a PEM' }, profiles: ['AEAD_AES_128_GCM'], send: () => undefined,
    }, 'native'), /certificate PEM does not parse/);
  });
});
