// Issue 8 item 10 acceptance, certificate renewal: the gateway's tls and wss listeners
// present a renewed certificate to new connections without a restart, once its files
// change; a broken file keeps the old certificate and logs an error naming the file.
// The certificates come from a test CA (openssl); the clients are Node TLS sockets
// reading what the gateway presents, and a libs/sip user agent sending OPTIONS over TLS.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type PeerCertificate } from 'node:tls';
import { copyFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { TransportLayer, UserAgent } from '@trapezoid/sip';
import { assertReleasedAndStop, sleep, startGateway, type TestGateway } from './harness.js';
import { TestPki } from './tls-certs.js';

const PORTS = { min: 19640, max: 19659 };

/** The certificate a new TLS connection to `port` is shown. */
function presented(port: number, ca: Buffer): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'gateway.test' }, () => {
      const cert = s.getPeerCertificate();
      s.destroy();
      resolve(cert);
    });
    s.once('error', reject);
  });
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  let v = await fn();
  for (const end = Date.now() + ms; !ok(v) && Date.now() < end;) {
    await sleep(200);
    v = await fn();
  }
  assert.ok(ok(v), `${what} within ${ms} ms`);
  return v;
}

describe('TLS certificate renewal', { timeout: 60_000 }, () => {
  const pki = new TestPki();
  let gw: TestGateway | null = null;
  after(async () => {
    await gw?.stop();
    pki.close();
  });

  it('a renewed certificate is served to new tls and wss connections without a restart; a broken file keeps the old one', async () => {
    const first = pki.issue('gateway.test', { dns: ['gateway.test'], ip: ['127.0.0.1'] });
    const renewed = pki.issue('gateway.test', { dns: ['gateway.test'], ip: ['127.0.0.1'] });
    // The files the gateway is configured with, renewed in place as certbot would.
    const certFile = join(pki.dir, 'live-cert.pem');
    const keyFile = join(pki.dir, 'live-key.pem');
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    let passed = false;
    try {
      gw = await startGateway({
        ports: PORTS, workers: 1,
        edit: (raw) => {
          raw.listeners.push({ protocol: 'tls', address: '127.0.0.1', port: 0, tls: { cert: certFile, key: keyFile } });
          raw.listeners.push({ protocol: 'wss', address: '127.0.0.1', port: 0, tls: { cert: certFile, key: keyFile } });
        },
      });
      const tlsPort = gw.listeningPoints().find((p) => p.protocol === 'tls')!.port;
      const wssPort = gw.listeningPoints().find((p) => p.protocol === 'wss')!.port;
      const serialOf = (pem: Buffer): string => new X509Certificate(pem).serialNumber;
      const firstSerial = serialOf(first.cert);
      const renewedSerial = serialOf(renewed.cert);
      assert.equal((await presented(tlsPort, pki.ca.cert)).serialNumber, firstSerial);
      assert.equal((await presented(wssPort, pki.ca.cert)).serialNumber, firstSerial);

      // A broken certificate file: an error naming it, and the old certificate stays.
      writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
      const failed = await until('the failed reload is logged', async () => gw!.events.events.find((e) => e.event === 'tls-reload-failed'), (e) => e !== undefined);
      assert.equal(failed!.file, certFile);
      assert.equal(failed!.level, 'error');
      assert.equal((await presented(tlsPort, pki.ca.cert)).serialNumber, firstSerial, 'the old certificate is still served');

      // The renewal: certificate and key replaced.
      copyFileSync(renewed.keyFile, keyFile);
      copyFileSync(renewed.certFile, certFile);
      await until('the renewed certificate on tls', () => presented(tlsPort, pki.ca.cert), (c) => c.serialNumber === renewedSerial);
      assert.equal((await presented(wssPort, pki.ca.cert)).serialNumber, renewedSerial, 'and on wss');
      assert.ok(gw.events.events.some((e) => e.event === 'tls-reloaded'), 'the reload is logged');

      // SIP over a new TLS connection, verified against the CA and the name.
      const transport = new TransportLayer({ tlsClient: { ca: pki.ca.cert } });
      const ua = new UserAgent({ transport });
      try {
        const res = await ua.request('OPTIONS', 'sip:gateway.test', {
          destination: { protocol: 'tls', address: '127.0.0.1', port: tlsPort, tlsServerName: 'gateway.test' },
        }).final;
        assert.equal(res.status, 200);
      } finally {
        await ua.close();
        await transport.close();
      }
      passed = true;
    } finally {
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
    }
  });
});
