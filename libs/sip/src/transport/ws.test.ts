// SIP over WebSocket (RFC 7118) against the real `ws` client and between two
// TransportLayers: subprotocol enforcement, flows, keepalive, refusals.

import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket, type RawData } from 'ws';
import { SipRequest, type SipResponse } from '../message/index.js';
import { parseMessage, parseVia } from '../parser/index.js';
import { TransportLayer } from './layer.js';
import { branch, nextEvent, nextMessage, optionsRequest, responseTo, selfSignedCert } from './testing.js';
import { TransportError } from './types.js';

const cert = selfSignedCert();

/** A REGISTER as a browser (JsSIP, SIP.js) sends it: Via and Contact host "*.invalid". */
function browserRegister(): SipRequest {
  const req = new SipRequest('REGISTER', 'sip:127.0.0.1');
  req.headers.append('via', `SIP/2.0/WS df7jal23ls0d.invalid;branch=${branch()}`);
  req.headers.append('max-forwards', '69');
  req.headers.append('to', '<sip:alice@127.0.0.1>');
  req.headers.append('from', '<sip:alice@127.0.0.1>;tag=65bnmj.d');
  req.headers.append('call-id', 'aaa' + branch());
  req.headers.append('cseq', '1 REGISTER');
  req.headers.append('contact', '<sip:alice@df7jal23ls0d.invalid;transport=ws>;expires=600');
  return req;
}

function nextFrame(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no frame')), 3000);
    ws.once('message', (data: RawData, isBinary: boolean) => {
      clearTimeout(t);
      resolve({ data: data as Buffer, isBinary });
    });
  });
}

async function refusal(url: string, protocols: string[], headers?: Record<string, string>): Promise<http.IncomingMessage> {
  const ws = new WebSocket(url, protocols, { headers });
  ws.on('error', () => undefined);
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
  res.resume();
  ws.terminate();
  return res;
}

describe('WS server with a plain ws client (a browser stand-in)', { timeout: 15_000 }, () => {
  const gw = new TransportLayer({ keepaliveIntervalMs: 100 });
  let url = '';
  before(async () => {
    const lp = await gw.listen({
      protocol: 'ws', address: '127.0.0.1', port: 0, wsPath: '/sip',
      wsAdmit: (req) => (req.headers.origin === 'https://evil.example' ? false : req.headers.origin === 'https://nocred.example' ? 401 : true),
    });
    url = `ws://127.0.0.1:${lp.port}/sip`;
  });
  after(() => gw.close());

  it('negotiates "sip", answers REGISTER over the flow, and reaches the browser by flowId', async () => {
    const ws = new WebSocket(url, 'sip');
    try {
      await once(ws, 'open');
      assert.equal(ws.protocol, 'sip');
      const arrived = nextMessage<SipRequest>(gw, (m) => m.isRequest);
      ws.send(browserRegister().toString());
      const reg = await arrived;
      assert.equal(reg.method, 'REGISTER');
      assert.equal(reg.transport?.protocol, 'ws');
      assert.match(reg.transport?.flowId ?? '', /^ws:127\.0\.0\.1:\d+#\d+$/);
      const via = parseVia(reg.headers.get('via')!);
      assert.equal(via.received, '127.0.0.1');

      const reply = nextFrame(ws);
      await gw.sendResponse(responseTo(reg, 200), reg);
      const frame = await reply;
      assert.equal(frame.isBinary, false, 'RFC 7118: sent as a text frame');
      const res = parseMessage(frame.data) as SipResponse;
      assert.equal(res.status, 200);

      // A request to the registered contact can only use the flow.
      const toBrowser = nextFrame(ws);
      const info = await gw.send(optionsRequest('WS', 'gw.invalid', 0, 'sip:alice@df7jal23ls0d.invalid;transport=ws'), {
        protocol: 'ws', address: 'df7jal23ls0d.invalid', port: 0, flowId: reg.transport!.flowId!,
      });
      assert.equal(info.flowId, reg.transport!.flowId);
      const opt = parseMessage((await toBrowser).data) as SipRequest;
      assert.equal(opt.method, 'OPTIONS');

      // Binary frames are accepted too.
      const bin = nextMessage<SipRequest>(gw, (m) => m.isRequest);
      ws.send(browserRegister().toBuffer(), { binary: true });
      assert.equal((await bin).method, 'REGISTER');

      const closed = nextEvent<[string]>(gw, 'flowClosed');
      ws.close();
      assert.equal((await closed)[0], reg.transport!.flowId);
      await assert.rejects(
        gw.send(optionsRequest('WS', 'gw.invalid', 0), { protocol: 'ws', address: 'df7jal23ls0d.invalid', port: 0, flowId: reg.transport!.flowId! }),
        (err: unknown) => err instanceof TransportError && err.status === 503,
      );
      await assert.rejects(
        gw.send(optionsRequest('WS', 'gw.invalid', 0), { protocol: 'ws', address: 'df7jal23ls0d.invalid', port: 0 }),
        TransportError,
      );
      await assert.rejects(gw.sendResponse(responseTo(reg, 200), reg), TransportError);
    } finally {
      ws.terminate();
    }
  });

  it('refuses a handshake without the "sip" subprotocol with HTTP 400 and a reason', async () => {
    const res = await refusal(url, ['chat']);
    assert.equal(res.statusCode, 400);
    assert.match(res.statusMessage ?? '', /subprotocol "sip" required/);
    const none = await refusal(url, []);
    assert.equal(none.statusCode, 400);
  });

  it('refuses other paths (404) and what wsAdmit refuses (403, or its status)', async () => {
    assert.equal((await refusal(url.replace('/sip', '/other'), ['sip'])).statusCode, 404);
    assert.equal((await refusal(url, ['sip'], { Origin: 'https://evil.example' })).statusCode, 403);
    assert.equal((await refusal(url, ['sip'], { Origin: 'https://nocred.example' })).statusCode, 401);
  });

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(url.replace('ws:', 'http:'), resolve).on('error', reject);
    });
    res.resume();
    assert.equal(res.statusCode, 426);
  });

  it('pings clients and drops the one that stops answering', async () => {
    const live = new WebSocket(url, 'sip');
    const dead = new WebSocket(url, 'sip', { autoPong: false });
    try {
      await Promise.all([once(live, 'open'), once(dead, 'open')]);
      const [code] = (await once(dead, 'close')) as [number];
      assert.equal(code, 1006, 'terminated, not closed politely');
      assert.equal(live.readyState, WebSocket.OPEN, 'a client that pongs stays connected');
    } finally {
      live.terminate();
      dead.terminate();
    }
  });

  it('closes a connection that sends a message larger than the limit (1009)', async () => {
    const ws = new WebSocket(url, 'sip');
    try {
      await once(ws, 'open');
      ws.send(Buffer.alloc(70_000, 0x41));
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 1009);
    } finally {
      ws.terminate();
    }
  });
});

for (const protocol of ['ws', 'wss'] as const) {
  describe(`${protocol.toUpperCase()} between two TransportLayers`, { timeout: 15_000 }, () => {
    const uac = new TransportLayer({ tlsClient: { ca: cert.cert } });
    const uas = new TransportLayer();
    let port = 0;
    before(async () => {
      port = (await uas.listen({ protocol, address: '127.0.0.1', port: 0, tls: cert })).port;
    });
    after(async () => {
      await uac.close();
      await uas.close();
    });

    it('a request crosses on a client connection and the response returns on it', async () => {
      const req = optionsRequest(protocol.toUpperCase(), 'uac.invalid', 0);
      const arrived = nextMessage<SipRequest>(uas, (m) => m.isRequest);
      const sent = await uac.send(req, { protocol, address: '127.0.0.1', port });
      assert.match(sent.flowId ?? '', new RegExp(`^${protocol}:127\\.0\\.0\\.1:${port}#`));
      const got = await arrived;
      assert.equal(got.transport?.protocol, protocol);
      assert.equal(parseVia(got.headers.get('via')!).rport, sent.localPort);
      const answered = nextMessage<SipResponse>(uac, (m) => !m.isRequest);
      await uas.sendResponse(responseTo(got, 200), got);
      const res = await answered;
      assert.equal(res.status, 200);
      assert.equal(res.transport?.flowId, sent.flowId);
      const again = await uac.send(optionsRequest(protocol.toUpperCase(), 'uac.invalid', 0), { protocol, address: '127.0.0.1', port });
      assert.equal(again.flowId, sent.flowId, 'connection reused');
    });
  });
}
