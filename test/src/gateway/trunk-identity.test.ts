// Issue 8 item 7 acceptance: a trunk is recognised by address *and* port over UDP and
// by address and verified certificate name over TLS; anything else from the trunk's
// address (an edge proxy on the same host, a scanner behind the same NAT) is a client
// and is challenged like one. SIPp plays the trunk and the stranger over UDP; a
// libs/sip user agent with and without the trunk's client certificate plays them over TLS.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TransportLayer, UserAgent } from '@trapezoid/sip';
import { freePort, startSipp, type SippResult } from '../sip/sipp.js';
import { AGENT_NUMBER, GATEWAY_SCENARIOS, assertReleasedAndStop, startGateway, udpPort, type TestGateway } from './harness.js';
import { TestPki } from './tls-certs.js';

const PORTS = { min: 19500, max: 19519 };

const OFFER = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  'm=audio 19998 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

function finals(r: SippResult): string[] {
  return r.messages.filter((m) => m.direction === 'received' && /^SIP\/2\.0 [2-6]/.test(m.startLine)).map((m) => m.startLine);
}

describe('trunk identification', { timeout: 60_000 }, () => {
  let gw: TestGateway | null = null;
  const pki = new TestPki();
  after(async () => {
    await gw?.stop();
    pki.close();
  });

  async function release(passed: boolean): Promise<void> {
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g, passed);
  }

  it('UDP: SIPp at the trunk\'s address and port is the trunk; the same address at another port is challenged 407', async () => {
    let passed = false;
    try {
      gw = await startGateway({ ports: PORTS, workers: 1 });
      const to = `127.0.0.1:${udpPort(gw)}`;
      const stranger = await startSipp({ port: await freePort(), args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-expect-407.xml'), '-s', AGENT_NUMBER, '-m', '1', to], trace: true });
      const s = await stranger.done;
      await stranger.stop();
      assert.equal(s.code, 0, `a caller from another port of the trunk's address is challenged: ${finals(s).join(' | ')} ${s.stdout.slice(-800)}`);
      assert.deepEqual(finals(s), ['SIP/2.0 407 Proxy Authentication Required']);

      const trunk = await startSipp({ port: gw.trunkPort, args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-expect-480.xml'), '-s', AGENT_NUMBER, '-m', '1', to], trace: true });
      const t = await trunk.done;
      await trunk.stop();
      assert.equal(t.code, 0, `the trunk's call is routed to the agent AOR (none registered: 480): ${finals(t).join(' | ')}`);
      assert.deepEqual(finals(t), ['SIP/2.0 480 Agent not registered']);
      assert.equal(gw.counters().callsStarted, 0);
      passed = true;
    } finally {
      await release(passed);
    }
  });

  it('TLS: a verified certificate naming the trunk identifies it; the same address without it is challenged 407', async () => {
    const server = pki.issue('gateway.test', { dns: ['gateway.test'], ip: ['127.0.0.1'] });
    const trunkCert = pki.issue('sip.carrier.test', { dns: ['sip.carrier.test'] });
    const otherCert = pki.issue('edge.test', { dns: ['edge.test'] });
    let passed = false;
    const clients: TransportLayer[] = [];
    try {
      gw = await startGateway({
        ports: PORTS, workers: 1,
        edit: (raw) => {
          raw.listeners.push({ protocol: 'tls', address: '127.0.0.1', port: 0, tls: { cert: server.certFile, key: server.keyFile, ca: pki.ca.certFile } });
          raw.trunks.push({ name: 'carrier', address: '127.0.0.1', port: 5061, transport: 'tls', source: { tlsNames: ['sip.carrier.test'] } });
        },
      });
      const tlsPort = gw.listeningPoints().find((p) => p.protocol === 'tls')!.port;
      const invite = async (cert?: { cert: Buffer; key: Buffer }): Promise<string> => {
        const transport = new TransportLayer({ tlsClient: { ca: pki.ca.cert, ...(cert ? { cert: cert.cert, key: cert.key } : {}) } });
        clients.push(transport);
        const ua = new UserAgent({ transport });
        try {
          const req = ua.request('INVITE', `sip:${AGENT_NUMBER}@gateway.test;transport=tls`, {
            destination: { protocol: 'tls', address: '127.0.0.1', port: tlsPort, tlsServerName: 'gateway.test' },
            body: OFFER, contentType: 'application/sdp',
          });
          const res = await req.final;
          return `${res.status} ${res.reason}`;
        } finally {
          await ua.close();
          await transport.close();
        }
      };
      assert.equal(await invite(trunkCert), '480 Agent not registered', 'the trunk (its certificate names sip.carrier.test)');
      assert.equal(await invite(), '407 Proxy Authentication Required', 'no client certificate: a client');
      assert.equal(await invite(otherCert), '407 Proxy Authentication Required', 'a certificate from the same CA for another name: a client');
      passed = true;
    } finally {
      for (const c of clients) await c.close();
      await release(passed);
    }
  });
});
