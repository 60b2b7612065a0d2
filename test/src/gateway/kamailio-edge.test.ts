// Issue 9 item 6 acceptance: an edge proxy (Kamailio) in front of the gateway on a
// trunk's host. The trunk (SIPp at 127.0.20.40:T) and Kamailio (127.0.20.40:E) share
// an address; a client that is not a trunk (SIPp at 127.0.20.41) calls through
// Kamailio. The trunk's call is routed inbound without a challenge; the client's (a
// browser's call: a WebRTC offer) is challenged (407) and, once it answers with the right
// credentials, is routed out to the trunk like any browser's call, answered and hung up
// through the edge: sharing the trunk's IP gives nobody the trunk's trust.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { freePort, startSipp } from '../sip/sipp.js';
import { edgeProxyConfig, startKamailio } from '../sip/kamailio.js';
import { AGENT_NUMBER, CALLER, GATEWAY_SCENARIOS, callEnd, udpPort } from './harness.js';
import { TestRig } from './trunk-harness.js';

const PORTS = { min: 12800, max: 12849 };
const TRUNK_HOST = '127.0.20.40';
const CLIENT_HOST = '127.0.20.41';

describe('Kamailio as an edge proxy on a trunk\'s host', { timeout: 120_000 }, () => {
  const rig = new TestRig();
  after(() => rig.tearDown());

  it('the trunk\'s INVITE is routed inbound; a browser\'s call through the edge (same IP, other port) is challenged, then authenticated and answered by the trunk', { timeout: 90_000 }, () => rig.run(async () => {
    const trunkPort = await freePort();
    const edgePort = await freePort();
    const gw = await rig.gateway({ ports: PORTS, trunks: [{ name: 'carrier', address: TRUNK_HOST, port: trunkPort }] });
    const gwUdp = udpPort(gw);
    const kamailio = rig.own(await startKamailio(edgeProxyConfig(TRUNK_HOST, edgePort, `127.0.0.1:${gwUdp}`), TRUNK_HOST, edgePort));

    // The trunk calls the agent number: nobody is registered, so the inbound path says 480.
    const trunk = rig.own(await startSipp({ address: TRUNK_HOST, port: trunkPort, args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-expect-480.xml'), '-s', AGENT_NUMBER, '-m', '1', `127.0.0.1:${gwUdp}`], trace: true, timeoutSec: 20 }));
    const tr = await trunk.done;
    assert.equal(tr.code, 0, `the trunk got 480 (routed inbound, not challenged): ${tr.stdout.slice(-1200)}`);

    // The trunk now answers the gateway's calls, from the same address and port.
    const answering = rig.own(await startSipp({ address: TRUNK_HOST, port: trunkPort, args: ['-sn', 'uas', '-m', '1'], trace: true, timeoutSec: 20 }));
    // A client through the edge: the gateway sees 127.0.20.40:edgePort, which is not the trunk.
    const client = rig.own(await startSipp({
      address: CLIENT_HOST,
      args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-invite-auth-webrtc.xml'), '-s', '1000', '-key', 'caller', CALLER.username,
        '-au', CALLER.username, '-ap', CALLER.password, '-auth_uri', `1000@${TRUNK_HOST}:${edgePort}`, '-m', '1', `${TRUNK_HOST}:${edgePort}`],
      trace: true, timeoutSec: 20,
    }));
    const cr = await client.done;
    assert.equal(cr.code, 0, `the client was challenged (407), its authenticated call answered and hung up: ${cr.stdout.slice(-1500)}`);
    const ar = await answering.done;
    assert.equal(ar.code, 0, `the trunk answered the gateway's INVITE and got the BYE: ${ar.stdout.slice(-1200)}`);
    const toTrunk = ar.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '))!;
    assert.match(toTrunk.startLine, /^INVITE sip:1000@/, 'the browser\'s number, routed out to the trunk');
    assert.match(toTrunk.text, /^m=audio \d+ RTP\/AVP /m, 'a plain RTP offer: the browser\'s WebRTC one mapped by the gateway');
    const ended = await callEnd(gw);
    assert.equal(ended.status, 200, JSON.stringify(ended));
    const started = gw.events.events.filter((e) => e.event === 'call-started').map((e) => String(e.from));
    assert.equal(started.length, 1, `one call set up, the browser's (the trunk's was refused 480 before): ${started.join(', ')}`);
    assert.equal(started[0], CALLER.username, 'the browser\'s call is its authenticated user\'s');
    const challenge = cr.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 407'))!;
    assert.match(challenge.text, /^Proxy-Authenticate: Digest /mi);
    assert.match(challenge.text, new RegExp(`^Via: SIP/2\\.0/UDP ${CLIENT_HOST.replace(/\./g, '\\.')}`, 'mi'), 'relayed back through Kamailio to the client');
    assert.match(kamailio.output(), new RegExp(`edge: INVITE from ${CLIENT_HOST.replace(/\./g, '\\.')}`), 'the client\'s INVITEs went through Kamailio');
  }));
});
