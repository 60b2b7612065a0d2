// An INVITE and its CANCEL read together (one TCP segment, one WebSocket read, one
// event-loop turn): the CANCEL is matched while the INVITE's handler is still awaiting
// something (authentication, a lookup). The request must know it was canceled from the
// moment its transaction exists, whatever its handler awaited, and the transaction
// layer must answer both: 200 to the CANCEL and 487 to the INVITE (RFC 3261 §9.2).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { parseMessage } from '../parser/index.js';
import type { SipResponse } from '../message/index.js';
import { TransportLayer } from '../transport/index.js';
import { settle } from '../test-support/loopback-transport.js';
import { uaPair } from '../test-support/pair.js';
import type { DialogState } from '../dialog/state.js';
import type { IncomingRequest } from './incoming-request.js';
import { UserAgent } from './user-agent.js';

function inviteAndCancel(transport: 'TCP' | 'WS', sentBy: string, n: number): string {
  const common = (method: string): string =>
    `Via: SIP/2.0/${transport} ${sentBy};branch=z9hG4bKrace${n};rport\r\n` +
    'Max-Forwards: 70\r\n' +
    `From: <sip:alice@client.invalid>;tag=f${n}\r\n` +
    'To: <sip:bob@127.0.0.1>\r\n' +
    `Call-ID: race-${n}@client.invalid\r\n` +
    `CSeq: 1 ${method}\r\n`;
  const body = 'v=0\r\n';
  return `INVITE sip:bob@127.0.0.1 SIP/2.0\r\n${common('INVITE')}Content-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
    `CANCEL sip:bob@127.0.0.1 SIP/2.0\r\n${common('CANCEL')}Content-Length: 0\r\n\r\n`;
}

/** Splits a stream of SIP responses (each with Content-Length) into messages. */
function responses(chunks: string): SipResponse[] {
  const out: SipResponse[] = [];
  let rest = chunks;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const len = Number(/content-length: *(\d+)/i.exec(rest.slice(0, end))?.[1] ?? 0);
    out.push(parseMessage(Buffer.from(rest.slice(0, end + 4 + len))) as SipResponse);
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

describe('INVITE and CANCEL in one read: the handler that awaited first still sees the CANCEL', { timeout: 20_000 }, () => {
  const layer = new TransportLayer();
  let ua: UserAgent;
  let tcpPort = 0;
  let wsPort = 0;
  const seen: Array<{ canceledAfterAwait: boolean; cancellation: string; finalSent: boolean }> = [];

  before(async () => {
    tcpPort = (await layer.listen({ protocol: 'tcp', address: '127.0.0.1', port: 0 })).port;
    wsPort = (await layer.listen({ protocol: 'ws', address: '127.0.0.1', port: 0 })).port;
    ua = new UserAgent({ transport: layer, timers: { T1: 50, T2: 200, T4: 250 } });
    ua.onRequest('INVITE', async (req: IncomingRequest) => {
      // What the gateway does first: an awaited digest check.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const cancel = await Promise.race([req.cancellation, new Promise<null>((resolve) => setTimeout(() => resolve(null), 500))]);
      seen.push({ canceledAfterAwait: req.canceled, cancellation: cancel?.method ?? 'none', finalSent: req.finalSent });
    });
  });
  after(async () => {
    await ua.close();
    await layer.close();
  });

  async function check(got: SipResponse[], n: number): Promise<void> {
    const statuses = got.map((r) => `${r.status} ${r.headers.get('cseq')}`);
    assert.ok(statuses.includes('200 1 CANCEL'), statuses.join(', '));
    assert.ok(statuses.includes('487 1 INVITE'), statuses.join(', '));
    const tags = got.filter((r) => r.status !== 100).map((r) => /tag=([^;>]+)$/.exec(r.headers.get('to') ?? '')?.[1]);
    assert.equal(new Set(tags).size, 1, 'the CANCEL\'s 200 and the 487 carry the same To tag (§9.2)');
    for (let i = 0; seen.length < n && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(seen[n - 1], { canceledAfterAwait: true, cancellation: 'CANCEL', finalSent: true });
  }

  it('over TCP (one segment)', async () => {
    const socket: Socket = connect(tcpPort, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let text = '';
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    socket.write(inviteAndCancel('TCP', `127.0.0.1:${socket.localPort!}`, 1));
    for (let i = 0; i < 100 && !(text.includes('487 ') && text.includes('CANCEL\r\n')); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await check(responses(text), 1);
    socket.destroy();
  });

  it('over WebSocket (INVITE and CANCEL in one event-loop turn)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}`, 'sip');
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const got: SipResponse[] = [];
    ws.on('message', (d: Buffer) => got.push(parseMessage(d) as SipResponse));
    const both = inviteAndCancel('WS', 'client.invalid', 2);
    const split = both.indexOf('CANCEL sip:');
    // Two frames in one write: the server reads them in one turn.
    ws.send(both.slice(0, split));
    ws.send(both.slice(split));
    for (let i = 0; i < 100 && !(got.some((r) => r.status === 487) && got.some((r) => r.headers.get('cseq') === '1 CANCEL')); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await check(got, 2);
    ws.close();
  });
});

describe('a CANCEL for a re-INVITE whose dialog is still being looked up', () => {
  it('gets 200 (not 481) and the re-INVITE gets 487 once its dialog is restored', async () => {
    const p = uaPair('tcp');
    try {
      // b will learn a's dialog only from its store (a failover survivor), after a delay.
      let stored: DialogState | undefined;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      p.b.onRequest('INVITE', (req) => { void req.answer().then((d) => { stored = d.toState(); }); });
      const out = p.a.request('INVITE', p.bUri);
      assert.equal((await out.final).status, 200);
      await settle();
      // b restarts: only b2 is left, without the dialog.
      await p.b.close();
      const b2 = new UserAgent({
        transport: p.tb, contactUser: 'bob',
        dialogLookup: async () => { await gate; return stored; },
      });
      const reinvites: IncomingRequest[] = [];
      const canceledAtStart: boolean[] = [];
      b2.on('dialog', (d: { on(ev: string, fn: (r: IncomingRequest) => void): void }) => {
        d.on('request', (r) => { reinvites.push(r); canceledAtStart.push(r.canceled); });
      });
      const re = out.dialog!.request('INVITE');
      const cancelStatus = new Promise<number>((resolve) => re.once('cancelResponse', (r: SipResponse) => resolve(r.status)));
      await settle();
      re.cancel();
      await settle();
      // The re-INVITE waited a 100 Trying (200 ms) before the CANCEL could go; give it time.
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      assert.equal(await cancelStatus, 200);
      assert.equal((await re.final).status, 487);
      assert.deepEqual(canceledAtStart, [true], 'the restored dialog handed over a request already canceled');
      assert.ok(reinvites[0]!.finalSent);
      await b2.close();
    } finally {
      await p.close();
    }
  });
});
