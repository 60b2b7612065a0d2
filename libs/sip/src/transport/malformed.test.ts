// Bad input on every transport: the layer answers what it can with a stateless
// error response, drops the rest, reports a parseError, and never throws.

import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, type RawData } from 'ws';
import type { SipRequest, SipResponse, TransportInfo } from '../message/index.js';
import { parseMessage, SipParseError } from '../parser/index.js';
import { TransportLayer } from './layer.js';
import { nextEvent, nextMessage } from './testing.js';
import { RFC4475_DIR as torture, tortureIndex } from '../test-support/testdata.js';


/** Well-formed headers under a start line with two spaces (malformed Request-Line). */
const BAD_START_LINE =
  'OPTIONS  sip:gw@127.0.0.1 SIP/2.0\r\n' +
  'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKbadstart\r\n' +
  'Max-Forwards: 70\r\n' +
  'From: <sip:alice@client.invalid>;tag=a1\r\n' +
  'To: <sip:gw@127.0.0.1>\r\n' +
  'Call-ID: badstart@client.invalid\r\n' +
  'CSeq: 7 OPTIONS\r\n' +
  'Content-Length: 0\r\n\r\n';

function withTransport(msg: string, transport: string): string {
  return msg.replace('SIP/2.0/UDP', 'SIP/2.0/' + transport);
}

type ParseErrorEvent = [SipParseError, TransportInfo];

describe('malformed input over UDP', { timeout: 20_000 }, () => {
  const gw = new TransportLayer({ limits: { maxMessageBytes: 4000 } });
  const peer = dgram.createSocket('udp4');
  let port = 0;
  const replies: Buffer[] = [];
  before(async () => {
    port = (await gw.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 })).port;
    peer.bind(0, '127.0.0.1');
    await once(peer, 'listening');
    peer.on('message', (m) => replies.push(m));
  });
  after(async () => {
    peer.close();
    await gw.close();
  });

  /** Sends a datagram and waits for the layer's verdict plus time for any reply. */
  async function sendAndSettle(data: Buffer | string): Promise<ParseErrorEvent> {
    replies.length = 0;
    const ev = nextEvent<ParseErrorEvent>(gw, 'parseError');
    peer.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, port, '127.0.0.1');
    const got = await ev;
    await new Promise((r) => setTimeout(r, 100));
    return got;
  }

  it('a garbage datagram gets nothing back but a parseError event', async () => {
    const [err, info] = await sendAndSettle(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a]));
    assert.ok(err instanceof SipParseError);
    assert.equal(err.status, 400);
    assert.equal(info.remotePort, peer.address().port);
    assert.equal(replies.length, 0);
  });

  it('a bad start line with good headers gets a 400 naming the fault', async () => {
    const [err] = await sendAndSettle(BAD_START_LINE);
    assert.match(err.reason, /Request-Line/);
    assert.equal(replies.length, 1);
    const res = parseMessage(replies[0]!) as SipResponse;
    assert.equal(res.status, 400);
    assert.equal(res.reason, err.reason);
    assert.equal(res.headers.get('call-id'), 'badstart@client.invalid');
    assert.equal(res.headers.get('cseq'), '7 OPTIONS');
    assert.match(res.headers.get('to')!, /;tag=\w+/);
    assert.match(res.headers.get('via')!, /branch=z9hG4bKbadstart/);
  });

  it('a bad start line whose copied fields are not UTF-8 gets a 400 about the size of the request, not three times it (those bytes read as "?")', async () => {
    // Found by the long wire fuzz run: 20,000 such bytes in a Via, each read as U+FFFD
    // (three bytes written back), made a 60 KB answer.
    const head = Buffer.from(BAD_START_LINE.replace('branch=z9hG4bKbadstart', `branch=z9hG4bK${'@'.repeat(2000)}`), 'latin1');
    const at = head.indexOf('@@@@');
    head.fill(0xff, at, at + 2000);
    const [err] = await sendAndSettle(head);
    assert.match(err.reason, /Request-Line/);
    assert.equal(replies.length, 1);
    assert.ok(replies[0]!.length < head.length + 200, `${replies[0]!.length} bytes back for ${head.length}, not three times as many`);
    assert.match((parseMessage(replies[0]!) as SipResponse).headers.get('via')!, new RegExp(`branch=z9hG4bK\\?{2000}`));
  });

  it('an ACK is never answered, even when malformed', async () => {
    await sendAndSettle(BAD_START_LINE.replace('OPTIONS  sip', 'ACK  sip').replace('7 OPTIONS', '7 ACK'));
    assert.equal(replies.length, 0);
  });

  it('a request without Via is reported and not answered', async () => {
    const [err] = await sendAndSettle(BAD_START_LINE.replace('OPTIONS  sip', 'OPTIONS sip').replace(/^Via:.*\r\n/m, ''));
    assert.match(err.reason, /Via/);
    assert.equal(replies.length, 0);
  });

  it('a request with a malformed top Via is reported', async () => {
    const [err] = await sendAndSettle(BAD_START_LINE.replace('OPTIONS  sip', 'OPTIONS sip').replace('SIP/2.0/UDP 127.0.0.1:5999', 'SIP/2.0/UDP'));
    assert.match(err.reason, /Via/);
  });

  it('a malformed response is dropped', async () => {
    const bad = 'SIP/2.0 2000 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\nCall-ID: r\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nContent-Length: 0\r\n\r\n';
    const [err] = await sendAndSettle(bad);
    assert.ok(err.partial === undefined || !err.partial.isRequest);
    assert.equal(replies.length, 0);
  });

  it('an oversize datagram is refused with 513 Message Too Large, its header fields read to address the answer', async () => {
    const big = BAD_START_LINE.replace('OPTIONS  sip', 'OPTIONS sip').replace('Content-Length: 0\r\n\r\n', `Content-Length: 6000\r\n\r\n${'x'.repeat(6000)}`);
    const [err] = await sendAndSettle(big);
    assert.equal(err.status, 513);
    assert.equal(replies.length, 1);
    const res = parseMessage(replies[0]!) as SipResponse;
    assert.deepEqual([res.status, res.reason], [513, 'Message Too Large']);
    assert.equal(res.headers.get('call-id'), 'badstart@client.invalid');
  });

  it('an oversize datagram whose header section is itself over the limit is dropped (nothing to address)', async () => {
    const huge = 'OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKhuge\r\nX-Pad: ' + 'p'.repeat(5000) + '\r\n\r\n';
    const [err] = await sendAndSettle(huge);
    assert.equal(err.status, 513);
    assert.equal(replies.length, 0);
  });

  it('survives every RFC 4475 torture message: one message or parseError event each', async () => {
    const index = tortureIndex();
    const layer = new TransportLayer();
    try {
      const p = (await layer.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 })).port;
      for (const entry of index) {
        const data = readFileSync(torture + entry.file);
        const verdict = new Promise<string>((resolve) => {
          const onMsg = (): void => { done('message'); };
          const onErr = (e: SipParseError): void => { done('parseError ' + e.reason); };
          const timer = setTimeout(() => done('nothing'), 2000);
          const done = (v: string): void => {
            clearTimeout(timer);
            layer.off('message', onMsg);
            layer.off('parseError', onErr);
            resolve(v);
          };
          layer.on('message', onMsg);
          layer.on('parseError', onErr);
        });
        peer.send(data, p, '127.0.0.1');
        const v = await verdict;
        assert.notEqual(v, 'nothing', `${entry.file}: no event`);
        if (entry.kind === 'valid') assert.equal(v, 'message', `${entry.file} is valid per RFC 4475`);
      }
    } finally {
      await layer.close();
    }
  });
});

describe('malformed input over TCP', { timeout: 15_000 }, () => {
  const gw = new TransportLayer({ limits: { maxMessageBytes: 8000 } });
  let port = 0;
  before(async () => {
    port = (await gw.listen({ protocol: 'tcp', address: '127.0.0.1', port: 0 })).port;
  });
  after(() => gw.close());

  async function connect(): Promise<{ sock: net.Socket; received: () => string }> {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.on('error', () => undefined);
    let text = '';
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    await once(sock, 'connect');
    return { sock, received: () => text };
  }

  it('answers a bad start line with 400 and keeps the connection', async () => {
    const { sock, received } = await connect();
    try {
      const ev = nextEvent<ParseErrorEvent>(gw, 'parseError');
      sock.write(withTransport(BAD_START_LINE, 'TCP'));
      const [err, info] = await ev;
      assert.ok(info.flowId);
      while (!received().includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 10));
      const res = parseMessage(Buffer.from(received(), 'latin1')) as SipResponse;
      assert.equal(res.status, 400);
      assert.equal(res.reason, err.reason);
      // Framing was intact, so the connection goes on.
      const good = nextMessage<SipRequest>(gw, (m) => m.isRequest);
      sock.write(withTransport(BAD_START_LINE, 'TCP').replace('OPTIONS  sip', 'OPTIONS sip'));
      assert.equal((await good).method, 'OPTIONS');
    } finally {
      sock.destroy();
    }
  });

  it('answers a request without Content-Length with 400, then closes the connection', async () => {
    const { sock, received } = await connect();
    const ev = nextEvent<ParseErrorEvent>(gw, 'parseError');
    sock.write(withTransport(BAD_START_LINE, 'TCP').replace('OPTIONS  sip', 'OPTIONS sip').replace('Content-Length: 0\r\n', ''));
    const [err] = await ev;
    assert.match(err.reason, /Content-Length/);
    await once(sock, 'close');
    const res = parseMessage(Buffer.from(received(), 'latin1')) as SipResponse;
    assert.equal(res.status, 400);
    assert.match(res.reason, /Content-Length/);
  });

  it('disconnects a peer that sends an oversized header block', async () => {
    const { sock } = await connect();
    const ev = nextEvent<ParseErrorEvent>(gw, 'parseError');
    const closed = once(sock, 'close');
    sock.write('OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\n');
    for (let i = 0; i < 200 && !sock.destroyed; i++) sock.write(`X-Filler-${i}: ${'y'.repeat(80)}\r\n`);
    const [err] = await ev;
    assert.equal(err.status, 513);
    await closed;
  });
});

describe('malformed input over WS', { timeout: 10_000 }, () => {
  const gw = new TransportLayer();
  let url = '';
  before(async () => {
    url = `ws://127.0.0.1:${(await gw.listen({ protocol: 'ws', address: '127.0.0.1', port: 0 })).port}`;
  });
  after(() => gw.close());

  it('reports a garbage frame, answers a bad start line with 400, keeps the connection', async () => {
    const ws = new WebSocket(url, 'sip');
    try {
      await once(ws, 'open');
      const frames: Buffer[] = [];
      ws.on('message', (d: RawData) => frames.push(d as Buffer));
      let ev = nextEvent<ParseErrorEvent>(gw, 'parseError');
      ws.send('hello there');
      await ev;
      ev = nextEvent<ParseErrorEvent>(gw, 'parseError');
      ws.send(withTransport(BAD_START_LINE, 'WS'));
      const [err] = await ev;
      while (frames.length === 0) await new Promise((r) => setTimeout(r, 10));
      assert.equal(frames.length, 1);
      const res = parseMessage(frames[0]!) as SipResponse;
      assert.equal(res.status, 400);
      assert.equal(res.reason, err.reason);
      assert.equal(ws.readyState, WebSocket.OPEN);
    } finally {
      ws.terminate();
    }
  });
});
