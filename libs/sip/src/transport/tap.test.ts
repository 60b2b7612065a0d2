// The transport layer's message tap (what SIP capture and the call monitor read) and the
// flow controls a draining gateway uses (list connections, close a WebSocket with 1001).

import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { SipRequest } from '../message/index.js';
import { TransportLayer } from './layer.js';
import { nextMessage, optionsRequest, responseTo } from './testing.js';
import type { TappedMessage } from './tap.js';

describe('message tap', { timeout: 10_000 }, () => {
  const uac = new TransportLayer();
  const uas = new TransportLayer();
  let uasPort = 0;
  let uacPort = 0;
  before(async () => {
    uacPort = (await uac.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 })).port;
    uasPort = (await uas.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 })).port;
  });
  after(async () => {
    await uac.close();
    await uas.close();
  });

  it('sees every message sent and received, byte for byte, with both addresses', async () => {
    const sent: TappedMessage[] = [];
    const received: TappedMessage[] = [];
    const offA = uac.addTap((m) => sent.push(m));
    const offB = uas.addTap((m) => received.push(m));
    const req = optionsRequest('UDP', '127.0.0.1', uacPort);
    const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
    await uac.send(req, { protocol: 'udp', address: '127.0.0.1', port: uasPort });
    const got = await arrived;
    await uas.sendResponse(responseTo(got, 200), got);
    await new Promise((r) => setTimeout(r, 50));
    offA();
    offB();

    assert.deepEqual(sent.map((m) => m.direction), ['sent', 'received']);
    assert.deepEqual(received.map((m) => m.direction), ['received', 'sent']);
    assert.equal(sent[0]!.data.toString(), received[0]!.data.toString(), 'the bytes received are the bytes sent');
    assert.equal(sent[0]!.message, req);
    assert.equal(received[0]!.message?.callId, req.callId);
    assert.deepEqual(
      [sent[0]!.transport.localPort, sent[0]!.transport.remotePort, received[0]!.transport.localPort, received[0]!.transport.remotePort],
      [uacPort, uasPort, uasPort, uacPort],
    );
    assert.match(received[1]!.data.toString(), /^SIP\/2\.0 200 /);

    // Removed taps see nothing more.
    const before = sent.length;
    await uac.send(optionsRequest('UDP', '127.0.0.1', uacPort), { protocol: 'udp', address: '127.0.0.1', port: uasPort });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sent.length, before);
  });

  it('sees a datagram that does not parse, without a parsed message, and survives a tap that throws', async () => {
    const seen: TappedMessage[] = [];
    const offBad = uas.addTap(() => { throw new Error('tap failure'); });
    const off = uas.addTap((m) => seen.push(m));
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.send('NOT SIP AT ALL\r\n\r\n', uasPort, '127.0.0.1', () => resolve()));
    for (const until = Date.now() + 2000; seen.length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 10));
    sock.close();
    off();
    offBad();
    assert.equal(seen[0]?.direction, 'received');
    assert.equal(seen[0]?.message, undefined);
    assert.equal(seen[0]?.data.toString(), 'NOT SIP AT ALL\r\n\r\n');
  });
});

describe('flow controls', { timeout: 10_000 }, () => {
  const layer = new TransportLayer();
  let port = 0;
  before(async () => { port = (await layer.listen({ protocol: 'ws', address: '127.0.0.1', port: 0 })).port; });
  after(() => layer.close());

  it('lists open WebSocket flows and closes one with 1001 going away', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, 'sip');
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    for (const until = Date.now() + 2000; layer.openFlows().length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 10));
    const flows = layer.openFlows();
    assert.equal(flows.length, 1);
    assert.equal(flows[0]!.protocol, 'ws');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    assert.equal(layer.closeFlow(flows[0]!.flowId!, 1001, 'gateway draining'), true);
    assert.equal(await closed, 1001);
    for (const until = Date.now() + 2000; layer.openFlows().length > 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 10));
    assert.equal(layer.openFlows().length, 0);
    assert.equal(layer.closeFlow(flows[0]!.flowId!, 1001), false, 'a closed flow cannot be closed again');
  });
});
