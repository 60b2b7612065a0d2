// UDP transport between two real TransportLayers on loopback (IPv4 and IPv6).

import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { SipRequest, SipResponse } from '../message/index.js';
import { parseVia } from '../parser/index.js';
import { TransportLayer } from './layer.js';
import { nextMessage, optionsRequest, responseTo } from './testing.js';
import { TransportError } from './types.js';

for (const host of ['127.0.0.1', '::1']) {
  describe(`UDP over ${host}`, { timeout: 10_000 }, () => {
    const uac = new TransportLayer();
    const uas = new TransportLayer();
    let uacPort = 0;
    let uasPort = 0;

    before(async () => {
      uacPort = (await uac.listen({ protocol: 'udp', address: host, port: 0 })).port;
      uasPort = (await uas.listen({ protocol: 'udp', address: host, port: 0 })).port;
    });
    after(async () => {
      await uac.close();
      await uas.close();
    });

    it('listens on a real port and advertises it', () => {
      assert.ok(uasPort > 0);
      assert.deepEqual(uas.localPoint('udp'), { protocol: 'udp', address: host, port: uasPort });
      assert.deepEqual(uas.listeningPoints(), [{ protocol: 'udp', address: host, port: uasPort }]);
      assert.equal(uas.localPoint('tcp'), undefined);
    });

    it('carries a request, stamps received/rport, and routes the response to them', async () => {
      // The Via names a host and port the UAC is not at (a UA behind NAT): only
      // received/rport (RFC 3581) can get the response back.
      const req = optionsRequest('UDP', 'client.invalid', 9);
      const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
      const sent = await uac.send(req, { protocol: 'udp', address: host, port: uasPort });
      assert.equal(sent.protocol, 'udp');
      assert.equal(sent.remotePort, uasPort);
      assert.equal(sent.localPort, uacPort);

      const got = await arrived;
      assert.equal(got.method, 'OPTIONS');
      assert.equal(got.transport?.protocol, 'udp');
      assert.equal(got.transport?.remoteAddress, host);
      assert.equal(got.transport?.remotePort, uacPort);
      assert.equal(got.transport?.localPort, uasPort);
      assert.equal(got.transport?.flowId, undefined);
      const via = parseVia(got.headers.get('via')!);
      assert.equal(via.received, host);
      assert.equal(via.rport, uacPort);
      assert.equal(via.host, 'client.invalid');

      const answered = nextMessage<SipResponse>(uac, (m) => !m.isRequest);
      const info = await uas.sendResponse(responseTo(got, 200), got);
      assert.equal(info.remotePort, uacPort);
      assert.equal(info.localPort, uasPort);
      const res = await answered;
      assert.equal(res.status, 200);
      assert.equal(res.callId, req.callId);
      assert.equal(res.transport?.remotePort, uasPort);
    });

    it('adds received but no rport when the request did not ask for it', async () => {
      const req = optionsRequest('UDP', 'client.invalid', uacPort);
      req.headers.set('via', req.headers.get('via')!.replace(';rport', ''));
      const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
      await uac.send(req, { protocol: 'udp', address: host, port: uasPort });
      const via = parseVia((await arrived).headers.get('via')!);
      assert.equal(via.received, host);
      assert.equal(via.rport, undefined);
    });

    it('leaves the Via alone when sent-by is the source address and rport is absent', async () => {
      const req = optionsRequest('UDP', host, uacPort);
      req.headers.set('via', req.headers.get('via')!.replace(';rport', ''));
      const before = req.headers.get('via');
      const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
      await uac.send(req, { protocol: 'udp', address: host, port: uasPort });
      assert.equal((await arrived).headers.get('via'), before);
    });

    it('stamps only the top Via of a multi-valued line', async () => {
      const req = optionsRequest('UDP', 'client.invalid', 9);
      const top = req.headers.get('via')!;
      req.headers.set('via', top + ', SIP/2.0/UDP proxy.invalid;branch=z9hG4bKproxy');
      req.headers.append('via', 'SIP/2.0/TCP third.invalid;branch=z9hG4bKthird');
      const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
      await uac.send(req, { protocol: 'udp', address: host, port: uasPort });
      const vias = (await arrived).headers.getAll('via');
      assert.equal(vias.length, 3);
      assert.match(vias[0]!, /;received=/);
      assert.equal(vias[1], 'SIP/2.0/UDP proxy.invalid;branch=z9hG4bKproxy');
      assert.equal(vias[2], 'SIP/2.0/TCP third.invalid;branch=z9hG4bKthird');
    });

    it('answers a UDP request whose Via says TCP or TLS over UDP, and opens no connection (issue 8, §18.2.2 deviation)', async () => {
      // The test owns both a UDP socket and a listening TCP socket at the Via's address
      // and port: the response must come to the first, and nothing may connect to the second.
      const sock = dgram.createSocket(host === '::1' ? 'udp6' : 'udp4');
      await new Promise<void>((resolve) => sock.bind(0, host, resolve));
      const port = sock.address().port;
      let connects = 0;
      const tcp = net.createServer((c) => { connects++; c.destroy(); });
      await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(port, host, resolve); });
      try {
        for (const transport of ['TCP', 'TLS']) {
          const req = optionsRequest(transport, host, port);
          req.headers.set('via', req.headers.get('via')!.replace(';rport', ''));
          const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest && m.callId === req.callId);
          const back = new Promise<string>((resolve) => sock.once('message', (d) => resolve(d.toString('latin1'))));
          sock.send(req.toBuffer(), uasPort, host);
          const got = await arrived;
          const info = await uas.sendResponse(responseTo(got, 200), got);
          assert.equal(info.protocol, 'udp');
          assert.match(await back, /^SIP\/2\.0 200 /);
        }
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(connects, 0, 'no TCP/TLS connection toward the Via');
      } finally {
        sock.close();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      }
    });

    it('ignores a CRLF keepalive datagram', async () => {
      const sock = dgram.createSocket(host === '::1' ? 'udp6' : 'udp4');
      try {
        let events = 0;
        const count = (): void => { events++; };
        uas.on('message', count);
        uas.on('parseError', count);
        sock.send(Buffer.from('\r\n\r\n'), uasPort, host);
        // Then a real message: once it is seen, the keepalive has been processed.
        const probe = nextMessage(uas);
        sock.send(optionsRequest('UDP', host, 9).toBuffer(), uasPort, host);
        await probe;
        uas.off('message', count);
        uas.off('parseError', count);
        assert.equal(events, 1);
      } finally {
        sock.close();
      }
    });

    it('rejects a send with TransportError when no UDP socket of that family exists', async () => {
      const other = host === '::1' ? '127.0.0.1' : '::1';
      await assert.rejects(
        uac.send(optionsRequest('UDP', host, uacPort), { protocol: 'udp', address: other, port: 5060 }),
        (err: unknown) => err instanceof TransportError && err.status === 503,
      );
    });
  });
}

describe('UDP listen failures', () => {
  it('rejects listen() on a port already taken, and the layer still closes', async () => {
    const a = new TransportLayer();
    const b = new TransportLayer();
    try {
      const p = await a.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
      await assert.rejects(b.listen({ protocol: 'udp', address: '127.0.0.1', port: p.port }), TransportError);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a closed layer refuses to send', async () => {
    const a = new TransportLayer();
    await a.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
    await a.close();
    await assert.rejects(a.send(optionsRequest('UDP', '127.0.0.1', 9), { protocol: 'udp', address: '127.0.0.1', port: 9 }), TransportError);
  });
});
