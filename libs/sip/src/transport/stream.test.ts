// TCP and TLS between two real TransportLayers on loopback: framing, flows, reuse,
// RFC 5626 CRLF keepalive, idle close, and the RFC 3261 §18.2.2 fallback.

import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { SipRequest, SipResponse } from '../message/index.js';
import { parseVia } from '../parser/index.js';
import { TransportLayer } from './layer.js';
import { nextEvent, nextMessage, optionsRequest, responseTo, selfSignedCert } from './testing.js';
import { TransportError } from './types.js';

const cert = selfSignedCert();

const cases: Array<{ protocol: 'tcp' | 'tls'; host: string }> = [
  { protocol: 'tcp', host: '127.0.0.1' },
  { protocol: 'tcp', host: '::1' },
  { protocol: 'tls', host: '127.0.0.1' },
  { protocol: 'tls', host: '::1' },
];

for (const { protocol, host } of cases) {
  describe(`${protocol.toUpperCase()} over ${host}`, { timeout: 15_000 }, () => {
    const uac = new TransportLayer({ tlsClient: { ca: cert.cert } });
    const uas = new TransportLayer();
    let uasPort = 0;
    let uacFlow = '';
    let uasFlow = '';

    before(async () => {
      await uac.listen({ protocol, address: host, port: 0, tls: cert });
      uasPort = (await uas.listen({ protocol, address: host, port: 0, tls: cert })).port;
    });
    after(async () => {
      await uac.close();
      await uas.close();
    });

    it('opens a flow for a request and answers over the same flow', async () => {
      const req = optionsRequest(protocol.toUpperCase(), 'client.invalid', 5060);
      const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
      const sent = await uac.send(req, { protocol, address: host, port: uasPort });
      assert.equal(sent.protocol, protocol);
      assert.match(sent.flowId ?? '', new RegExp(`^${protocol}:`));
      uacFlow = sent.flowId!;

      const got = await arrived;
      assert.equal(got.transport?.protocol, protocol);
      assert.equal(got.transport?.remotePort, sent.localPort);
      assert.equal(got.transport?.localPort, uasPort);
      assert.ok(got.transport?.flowId);
      uasFlow = got.transport!.flowId!;
      const via = parseVia(got.headers.get('via')!);
      assert.equal(via.received, host);
      assert.equal(via.rport, sent.localPort);

      const answered = nextMessage<SipResponse>(uac, (m) => !m.isRequest);
      const info = await uas.sendResponse(responseTo(got, 200), got);
      assert.equal(info.flowId, uasFlow);
      const res = await answered;
      assert.equal(res.status, 200);
      assert.equal(res.transport?.flowId, uacFlow, 'response came back on the connection the request used');
    });

    it('reuses the open connection for the next request to the same destination', async () => {
      const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
      const sent = await uac.send(optionsRequest(protocol.toUpperCase(), host, 5060), { protocol, address: host, port: uasPort });
      assert.equal(sent.flowId, uacFlow);
      assert.equal((await arrived).transport?.flowId, uasFlow);
    });

    it('sends a request back over the flow the peer opened (flowId)', async () => {
      const arrived = nextMessage<SipRequest>(uac, (m) => m.isRequest);
      const sent = await uas.send(optionsRequest(protocol.toUpperCase(), host, uasPort), {
        protocol, address: 'client.invalid', port: 5060, flowId: uasFlow,
      });
      assert.equal(sent.flowId, uasFlow);
      assert.equal((await arrived).transport?.flowId, uacFlow);
    });

    it('frames several messages arriving in one segment and one message split byte by byte', async () => {
      const a = optionsRequest(protocol.toUpperCase(), host, 5060);
      const b = optionsRequest(protocol.toUpperCase(), host, 5060);
      b.setBody('hello', 'text/plain');
      const seen: string[] = [];
      const both = new Promise<void>((resolve) => {
        const on = (m: SipRequest): void => {
          seen.push(m.callId);
          if (seen.length === 2) { uas.off('message', on); resolve(); }
        };
        uas.on('message', on);
      });
      if (protocol === 'tcp') {
        const sock = net.connect({ host, port: uasPort });
        await once(sock, 'connect');
        sock.write(Buffer.concat([a.toBuffer(), b.toBuffer()]));
        await both;
        const c = optionsRequest('TCP', host, 5060);
        const got = nextMessage<SipRequest>(uas, (m) => m.callId === c.callId);
        const bytes = c.toBuffer();
        for (let i = 0; i < bytes.length; i += 7) {
          sock.write(bytes.subarray(i, i + 7));
          await new Promise((r) => setImmediate(r));
        }
        assert.equal((await got).callId, c.callId);
        sock.destroy();
      } else {
        await uac.send(a, { protocol, address: host, port: uasPort });
        await uac.send(b, { protocol, address: host, port: uasPort });
        await both;
      }
      assert.deepEqual(seen, [a.callId, b.callId]);
    });

    it('reports the flow closed when the peer goes away', async () => {
      const closed = nextEvent<[string]>(uas, 'flowClosed');
      await uac.close();
      const [flowId] = await closed;
      assert.equal(flowId, uasFlow);
      assert.equal(uas.hasFlow(uasFlow), false);
      await assert.rejects(
        uas.send(optionsRequest(protocol.toUpperCase(), host, uasPort), { protocol, address: host, port: 1, flowId: uasFlow }),
        TransportError,
      );
    });
  });
}

describe('TCP keepalive, idle close and response fallback', { timeout: 15_000 }, () => {
  const uas = new TransportLayer({ idleTimeoutMs: 300 });
  const uac = new TransportLayer();
  let port = 0;
  let uacPort = 0;
  before(async () => {
    port = (await uas.listen({ protocol: 'tcp', address: '127.0.0.1', port: 0 })).port;
    uacPort = (await uac.listen({ protocol: 'tcp', address: '127.0.0.1', port: 0 })).port;
  });
  after(async () => {
    await uas.close();
    await uac.close();
  });

  it('answers a CRLFCRLF ping with a CRLF pong (RFC 5626 §4.4.1)', async () => {
    const sock = net.connect({ host: '127.0.0.1', port });
    try {
      await once(sock, 'connect');
      sock.write('\r\n\r\n');
      const [data] = (await once(sock, 'data')) as [Buffer];
      assert.equal(data.toString('latin1'), '\r\n');
    } finally {
      sock.destroy();
    }
  });

  it('closes a connection idle for longer than idleTimeoutMs', async () => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.on('error', () => undefined);
    const t0 = Date.now();
    await once(sock, 'connect');
    const localPort = sock.localPort;
    const closed = new Promise<void>((resolve) => {
      const on = (_id: string, info: { remotePort: number }): void => {
        if (info.remotePort !== localPort) return;
        uas.off('flowClosed', on);
        resolve();
      };
      uas.on('flowClosed', on);
    });
    await once(sock, 'close');
    await closed;
    assert.ok(Date.now() - t0 >= 250, 'not closed before the idle timeout');
    sock.destroy();
  });

  it('opens a new connection to received:sent-by port when the request flow is gone (RFC 3261 §18.2.2)', async () => {
    const sock = net.connect({ host: '127.0.0.1', port });
    await once(sock, 'connect');
    const req = optionsRequest('TCP', 'client.invalid', uacPort);
    const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
    sock.write(req.toBuffer());
    const got = await arrived;
    const closed = nextEvent(uas, 'flowClosed');
    sock.destroy();
    await closed;
    const answered = nextMessage<SipResponse>(uac, (m) => !m.isRequest);
    const info = await uas.sendResponse(responseTo(got, 200), got);
    assert.notEqual(info.flowId, got.transport?.flowId);
    assert.equal(info.remotePort, uacPort);
    assert.equal((await answered).status, 200);
  });
});

describe('TLS certificate checks', { timeout: 10_000 }, () => {
  const uas = new TransportLayer();
  const untrusting = new TransportLayer();
  after(async () => {
    await uas.close();
    await untrusting.close();
  });
  it('refuses a server whose certificate it cannot verify, with a TransportError (503)', async () => {
    const { port } = await uas.listen({ protocol: 'tls', address: '127.0.0.1', port: 0, tls: cert });
    await assert.rejects(
      untrusting.send(optionsRequest('TLS', '127.0.0.1', 5061), { protocol: 'tls', address: '127.0.0.1', port }),
      (err: unknown) => err instanceof TransportError && err.status === 503 && /tls connect/.test(err.reason),
    );
  });
  it('rejects a connection refused with TransportError', async () => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await assert.rejects(
      untrusting.send(optionsRequest('TCP', '127.0.0.1', 5060), { protocol: 'tcp', address: '127.0.0.1', port }),
      TransportError,
    );
  });
  it('refuses to listen for TLS without a certificate', async () => {
    await assert.rejects(untrusting.listen({ protocol: 'tls', address: '127.0.0.1', port: 0 }), TransportError);
  });
});
