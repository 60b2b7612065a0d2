// Issue 8 item 10 acceptance, what only TLS may carry: the gateway never offers SDES
// keys (a=crypto) to a trunk over UDP or TCP (JsSIP in Node calls SIPp trunks on both),
// refuses an offer carrying them over UDP (488, SIPp as the trunk), refuses a sips:
// Request-URI that arrived over UDP (416), and does not carry a sips: call from a TLS
// client on to a trunk that is not TLS (480).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TransportLayer, UserAgent } from '@trapezoid/sip';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { CALLER, GATEWAY_SCENARIOS, assertReleasedAndStop, startGateway, udpPort, SuiteOutcome, type TestGateway } from './harness.js';
import { callWithWerift, registerUa, stopUa, type JsSipUA } from './jssip-caller.js';
import { RawSipClient, requestText } from './raw-sip.js';
import { TestPki } from './tls-certs.js';

const PORTS = { min: 19660, max: 19699 };

describe('SDES and SIPS only over TLS', { timeout: 90_000 }, () => {
  let gw: TestGateway;
  const outcome = new SuiteOutcome();
  const run = outcome.run;
  let tcpTrunkPort = 0;
  const pki = new TestPki();
  const server = pki.issue('gateway.test', { dns: ['gateway.test'], ip: ['127.0.0.1'] });
  let ua: JsSipUA | null = null;
  const sipps: SippRun[] = [];
  before(async () => {
    tcpTrunkPort = await freePort();
    gw = await startGateway({
      ports: PORTS, workers: 1,
      edit: (raw) => {
        raw.listeners.push({ protocol: 'tls', address: '127.0.0.1', port: 0, tls: { cert: server.certFile, key: server.keyFile } });
        raw.trunks.push({ name: 'sipptcp', address: '127.0.0.1', port: tcpTrunkPort, transport: 'tcp', codecs: ['PCMU', 'PCMA'] });
        raw.routes = [{ match: '^1\\d{3}$', trunk: 'sipp' }, { match: '^2\\d{3}$', trunk: 'sipptcp' }];
      },
    });
  });
  after(async () => {
    if (ua) await stopUa(ua);
    for (const s of sipps) await s.stop();
    await assertReleasedAndStop(gw, outcome.passed);
    pki.close();
  });

  it('the offer to a trunk over UDP and over TCP is RTP/AVP without a=crypto', () => run(async () => {
    ua = await registerUa(gw);
    for (const [number, port, transport] of [['1000', gw.trunkPort, 'u1'], ['2000', tcpTrunkPort, 't1']] as const) {
      const sipp = await startSipp({ port, args: ['-sn', 'uas', '-rtp_echo', '-m', '1', '-t', transport], trace: true, timeoutSec: 30 });
      sipps.push(sipp);
      const call = await callWithWerift(ua, number);
      call.session.terminate();
      const r = await sipp.done;
      const invite = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '));
      assert.ok(invite, `SIPp (${transport}) got the INVITE`);
      assert.match(invite.text, /^m=audio \d+ RTP\/AVP /m, 'plain RTP offered');
      assert.doesNotMatch(invite.text, /^a=crypto:/m, 'no SDES key offered');
    }
  }));

  it('an RTP/SAVP offer with SDES keys from a trunk over UDP is refused 488', () => run(async () => {
    const started = gw.counters().callsStarted;
    const sipp = await startSipp({
      port: gw.trunkPort, trace: true,
      args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-sdes-expect-488.xml'), '-s', '2000', '-m', '1', `127.0.0.1:${udpPort(gw)}`],
    });
    sipps.push(sipp);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp got 488 and ACKed it: ${r.stdout.slice(-600)}`);
    const final = r.messages.find((m) => m.direction === 'received' && /^SIP\/2\.0 [2-6]/.test(m.startLine));
    assert.equal(final?.startLine, 'SIP/2.0 488 SDES keys refused over a non-TLS transport');
    const logged = gw.events.events.find((e) => e.event === 'sdes-refused');
    assert.deepEqual([logged?.transport, logged?.level], ['udp', 'warn']);
    assert.equal(gw.counters().callsStarted, started, 'refused before any call was set up');
  }));

  it('a sips: Request-URI over UDP is refused 416; a sips: call over TLS is not carried on to a trunk that is not TLS (480)', () => run(async () => {
    const c = await RawSipClient.open('udp', udpPort(gw), { localAddress: '127.0.0.3' });
    try {
      c.send(requestText({
        method: 'OPTIONS', uri: 'sips:1000@gateway.test', via: c.viaHeader(), from: `<sip:probe@${c.sentBy}>;tag=${randomBytes(4).toString('hex')}`,
        to: '<sips:1000@gateway.test>', callId: randomBytes(8).toString('hex'), cseq: 1,
      }));
      const res = await c.response('1 OPTIONS');
      assert.deepEqual([res.status, res.reason], [416, 'SIPS URI over a non-TLS transport']);
    } finally {
      c.close();
    }
    const transport = new TransportLayer({ tlsClient: { ca: pki.ca.cert } });
    const client = new UserAgent({ transport });
    try {
      const tlsPort = gw.listeningPoints().find((p) => p.protocol === 'tls')!.port;
      const res = await client.request('INVITE', 'sips:1000@gateway.test', {
        from: `<sips:${CALLER.username}@gateway.test>`,
        destination: { protocol: 'tls', address: '127.0.0.1', port: tlsPort, tlsServerName: 'gateway.test' },
        credentials: CALLER,
      }).final;
      assert.deepEqual([res.status, res.reason], [480, 'No TLS trunk for a SIPS URI']);
    } finally {
      await client.close();
      await transport.close();
    }
  }));
});
