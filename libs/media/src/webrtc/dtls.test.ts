// DTLS-SRTP sessions in both roles over an in-memory datagram path (the browser test
// covers Chromium): key export mirrors between the roles, profile choice follows our
// preference, and the peer must both match a=fingerprint and hold that certificate's key.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { CipherContext } from 'werift';
import type { SrtpProfile } from '../srtp/profile.js';
import { getCertificate, type DtlsCertificate } from './certificate.js';
import { DtlsSession, type DtlsResult } from './dtls.js';

async function otherCertificate(): Promise<DtlsCertificate> {
  const { certPem, keyPem } = await CipherContext.createSelfSignedCertificateWithKey({ signature: 3, hash: 4 }, 23);
  return { certPem, keyPem, fingerprint: new X509Certificate(certPem).fingerprint256, fingerprintAlgorithm: 'sha-256' };
}

interface Outcome {
  server: DtlsResult | Error | null;
  client: DtlsResult | Error | null;
}

async function handshake(opts: {
  serverCert: DtlsCertificate; clientCert: DtlsCertificate;
  serverProfiles?: SrtpProfile[]; clientProfiles?: SrtpProfile[];
  serverExpects?: string; clientExpects?: string;
}): Promise<Outcome> {
  const out: Outcome = { server: null, client: null };
  let server: DtlsSession | null = null;
  let client: DtlsSession | null = null;
  // Datagrams cross through setImmediate, as a socket would deliver them.
  server = new DtlsSession({ role: 'server', certificate: opts.serverCert, profiles: opts.serverProfiles ?? ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'],
    send: (d) => setImmediate(() => client?.receive(Buffer.from(d))) });
  client = new DtlsSession({ role: 'client', certificate: opts.clientCert, profiles: opts.clientProfiles ?? ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'],
    send: (d) => setImmediate(() => server?.receive(Buffer.from(d))) });
  server.remoteFingerprints = [{ algorithm: 'sha-256', value: opts.serverExpects ?? opts.clientCert.fingerprint }];
  client.remoteFingerprints = [{ algorithm: 'sha-256', value: opts.clientExpects ?? opts.serverCert.fingerprint }];
  const settle = (s: DtlsSession, key: keyof Outcome): Promise<void> => new Promise((resolve) => {
    s.onConnected = (r) => { out[key] = r; resolve(); };
    s.onError = (e) => { out[key] = e; resolve(); };
  });
  const done = Promise.all([settle(server, 'server'), settle(client, 'client')]);
  server.start();
  client.start();
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 3000))]);
  server.close();
  client.close();
  return out;
}

describe('DTLS-SRTP session', () => {
  test('both roles derive mirrored SRTP keys; the server picks its preferred common profile', async () => {
    const cert = await getCertificate();
    const other = await otherCertificate();
    const { server, client } = await handshake({ serverCert: cert, clientCert: other });
    assert.ok(server && !(server instanceof Error), String(server));
    assert.ok(client && !(client instanceof Error), String(client));
    assert.equal(server.profile, 'AEAD_AES_128_GCM', 'server preference wins (RFC 5764 §4.1.1)');
    assert.equal(client.profile, 'AEAD_AES_128_GCM');
    assert.deepEqual(server.local, client.remote);
    assert.deepEqual(server.remote, client.local);
    assert.notDeepEqual(server.local.masterKey, server.remote.masterKey);
    assert.equal(server.local.masterSalt.length, 12);
  });

  test('a profile list of AES-CM only yields AES_CM_128_HMAC_SHA1_80 with 14-byte salts', async () => {
    const cert = await getCertificate();
    const { server } = await handshake({ serverCert: cert, clientCert: cert, serverProfiles: ['AES_CM_128_HMAC_SHA1_80'] });
    assert.ok(server && !(server instanceof Error));
    assert.equal(server.profile, 'AES_CM_128_HMAC_SHA1_80');
    assert.equal(server.local.masterSalt.length, 14);
  });

  test('a certificate that does not match a=fingerprint fails the session on both sides of the check', async () => {
    const cert = await getCertificate();
    const other = await otherCertificate();
    const wrong = other.fingerprint.replace(/^../, other.fingerprint.startsWith('00') ? '11' : '00');
    const asServer = await handshake({ serverCert: cert, clientCert: other, serverExpects: wrong });
    assert.ok(asServer.server instanceof Error);
    assert.match(asServer.server.message, /a=fingerprint/);
    const asClient = await handshake({ serverCert: other, clientCert: cert, clientExpects: wrong });
    assert.ok(asClient.client instanceof Error);
    assert.match(asClient.client.message, /a=fingerprint/);
  });

  test('a peer showing the right certificate without its private key is refused (proof of possession)', async () => {
    const cert = await getCertificate();
    const other = await otherCertificate();
    const impostor: DtlsCertificate = { ...cert, keyPem: other.keyPem };
    const clientImpostor = await handshake({ serverCert: other, clientCert: impostor });
    assert.ok(clientImpostor.server instanceof Error, 'server refuses the client');
    assert.match(clientImpostor.server.message, /CertificateVerify/);
    const serverImpostor = await handshake({ serverCert: impostor, clientCert: other });
    assert.ok(serverImpostor.client instanceof Error, 'client refuses the server');
    assert.match(serverImpostor.client.message, /ServerKeyExchange/);
  });
});
