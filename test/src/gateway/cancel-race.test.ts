// Issue 8: an authenticated INVITE and its CANCEL read together (one TCP segment, one
// WebSocket read). The CANCEL is handled while the gateway is still checking the
// INVITE's digest; before the fix the caller got 487 while the trunk was called,
// answered and hung up, and the call and its media ports stayed forever (20 of 20).
// Now: 200 to the CANCEL, 487 to the INVITE, the trunk never hears of it, and
// nothing is left: 20 of 20 over TCP and over WebSocket.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SipResponse } from '@trapezoid/sip';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { CALLER, DOMAIN, assertReleasedAndStop, sleep, startGateway, type TestGateway } from './harness.js';
import { RawSipClient, newBranch, placeRawCall, proxyAuthorization, requestText, silentBrowserOffer, type RawTransport } from './raw-sip.js';

const PORTS = { min: 10000, max: 10099 };
const ROUNDS = 20;

describe('INVITE and CANCEL in one read leave nothing behind', { timeout: 120_000 }, () => {
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  after(async () => {
    await gw?.stop();
    await sipp?.stop();
  });

  for (const transport of ['tcp', 'ws'] as RawTransport[]) it(`${ROUNDS} of ${ROUNDS} over ${transport.toUpperCase()}: 487, the trunk never called, 0 calls and 0 ports; a valid call is served after`, { timeout: 60_000 }, async () => {
    let passed = false;
    try {
      const trunkPort = await freePort();
      // A trunk that would answer at once: before the fix every one of these calls was answered.
      sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas'], timeoutSec: 60 });
      gw = await startGateway({
        trunkPort, ports: PORTS,
        edit: (raw) => {
          raw.listeners.push({ protocol: 'tcp', address: '127.0.0.1', port: 0 });
          // 100 requests in a second or two from one address: past the per-address rate
          // limit (security.rateLimit), which would drop the later rounds unanswered.
          raw.security = { rateLimit: { requests: 10_000 } };
        },
      });
      const point = gw.listeningPoints().find((p) => p.protocol === transport)!;
      // From 127.0.0.3: the trunk is 127.0.0.1, and a TCP request from its address would be the trunk's.
      const client = await RawSipClient.open(transport, point.port, { localAddress: '127.0.0.3' });
      const uri = `sip:1000@${DOMAIN}`;
      const target = { from: `<sip:${CALLER.username}@${DOMAIN}>`, to: `<${uri}>` };
      for (let n = 0; n < ROUNDS; n++) {
        const callId = `race-${transport}-${n}@client.invalid`;
        const from = `${target.from};tag=t${n}`;
        const body = silentBrowserOffer();
        // The first INVITE earns the challenge (and its 407 is ACKed, §17.1.1.3).
        const b1 = newBranch();
        client.send(requestText({ method: 'INVITE', uri, via: client.viaHeader(b1), from, to: target.to, callId, cseq: 1, body }));
        const challenge = await client.response('1 INVITE', (s) => s === 407, 3000, callId);
        client.send(requestText({ method: 'ACK', uri, via: client.viaHeader(b1), from, to: challenge.headers.get('to')!, callId, cseq: 1 }));
        // The authenticated INVITE and its CANCEL in one write.
        const b2 = newBranch();
        const auth = `Proxy-Authorization: ${proxyAuthorization(challenge, 'INVITE', uri, CALLER)}`;
        const invite = requestText({ method: 'INVITE', uri, via: client.viaHeader(b2), from, to: target.to, callId, cseq: 2, body, headers: [auth] });
        const cancel = requestText({ method: 'CANCEL', uri, via: client.viaHeader(b2), from, to: target.to, callId, cseq: 2 });
        client.sendTogether([invite, cancel]);
        const canceled = await client.response('2 CANCEL', undefined, 3000, callId);
        assert.equal(canceled.status, 200, `round ${n}: the CANCEL matched`);
        const final = await client.response('2 INVITE', undefined, 3000, callId);
        assert.equal(final.status, 487, `round ${n}: ${final.status} ${final.reason}`);
        client.send(requestText({ method: 'ACK', uri, via: client.viaHeader(b2), from, to: (final as SipResponse).headers.get('to')!, callId, cseq: 2 }));
      }
      // Anything the handlers still had in flight has run by now.
      await sleep(300);
      const c = gw.counters();
      assert.equal(gw.ua.counters.clientTransactionsCreated, 0, 'the gateway sent the trunk nothing');
      assert.equal(c.callsStarted, 0, 'no call was created for a caller already gone');
      // A valid call is still served: answered by the trunk, then hung up.
      const call = await placeRawCall(client, uri, CALLER, DOMAIN, silentBrowserOffer());
      client.send(requestText({ method: 'BYE', uri: call.remoteTarget, via: client.viaHeader(), from: call.from, to: call.to, callId: call.callId, cseq: 3 }));
      assert.equal((await client.response('3 BYE', undefined, 3000, call.callId)).status, 200);
      assert.equal(gw.counters().callsStarted, 1);
      client.close();
      passed = true;
    } finally {
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
      await sipp?.stop();
      sipp = null;
    }
  });
});
