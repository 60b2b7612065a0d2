// Transaction state machines (RFC 3261 §17, RFC 6026) under a mock clock.
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { SipRequest, SipResponse } from '../message/index.js';
import { isLocalResponse } from './response.js';
import { settle } from '../test-support/loopback-transport.js';
import { uaPair, tick, isReq, isRes, type UaPair } from '../test-support/pair.js';
import type { IncomingRequest } from '../ua/incoming-request.js';

const T1 = 500;
const T2 = 4000;
const T4 = 5000;

describe('transactions (mock clock, loopback UDP)', () => {
  let p: UaPair;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    p = uaPair();
  });
  afterEach(async () => {
    await p.close();
    mock.timers.reset();
  });

  it('INVITE client: Timer A retransmits at T1, 2T1, 4T1 ...; Timer B gives the TU a 408 at 64*T1', async () => {
    p.net.filter = () => false; // everything is lost
    const out = p.a.request('INVITE', p.bUri);
    const box: { final?: SipResponse } = {};
    void out.final.then((r) => { box.final = r; });
    const invites = (): number => p.ta.count(isReq('INVITE'));
    await settle();
    assert.equal(invites(), 1);
    await tick(T1 - 1);
    assert.equal(invites(), 1);
    await tick(1); // t = T1
    assert.equal(invites(), 2);
    await tick(2 * T1); // t = 3T1
    assert.equal(invites(), 3);
    await tick(4 * T1); // t = 7T1
    assert.equal(invites(), 4);
    await tick(8 * T1 + 16 * T1 + 32 * T1 - 1); // t = 63T1 - 1 (no cap at T2 for INVITE)
    assert.equal(invites(), 6);
    assert.equal(box.final, undefined);
    await tick(1); // t = 63T1
    assert.equal(invites(), 7);
    await tick(T1); // t = 64T1
    const res = await out.final;
    assert.equal(res.status, 408);
    assert.ok(isLocalResponse(res));
    assert.equal(p.a.counters.transactions, 0);
  });

  it('non-INVITE client: Timer E doubles from T1 up to T2; Timer F gives a 408 at 64*T1', async () => {
    p.net.filter = () => false;
    const out = p.a.request('OPTIONS', p.bUri);
    const sent = (): number => p.ta.count(isReq('OPTIONS'));
    const at = [0, 500, 1500, 3500, 7500, 11500, 15500];
    let now = 0;
    for (let i = 0; i < at.length; i++) {
      await tick(at[i]! - now);
      now = at[i]!;
      assert.equal(sent(), i + 1, `sends by t=${now}`);
    }
    await tick(64 * T1 - now - 1);
    assert.equal(sent(), 11); // ... 19500, 23500, 27500, 31500
    await tick(1);
    const res = await out.final;
    assert.equal(res.status, 408);
    assert.equal(p.a.counters.transactions, 0);
  });

  it('non-INVITE client after a provisional retransmits every T2', async () => {
    p.b.onRequest('MESSAGE', (req) => { req.reply(100); });
    p.net.filter = (m, from) => from === p.tb || m.isRequest === false || p.ta.count(isReq('MESSAGE')) === 1;
    const out = p.a.request('MESSAGE', p.bUri, { body: 'hi', contentType: 'text/plain' });
    await settle();
    assert.equal(out.completed, false);
    await tick(T1); // E fires in Proceeding: resend, next interval T2
    assert.equal(p.ta.count(isReq('MESSAGE')), 2);
    await tick(T2 - 1);
    assert.equal(p.ta.count(isReq('MESSAGE')), 2);
    await tick(1);
    assert.equal(p.ta.count(isReq('MESSAGE')), 3);
  });

  it('Timer K (T4) and Timer J (64*T1) clean up completed non-INVITE transactions on UDP', async () => {
    const out = p.a.request('OPTIONS', p.bUri);
    assert.equal((await out.final).status, 200);
    await settle();
    assert.equal(p.a.counters.clientTransactions, 1);
    assert.equal(p.b.counters.serverTransactions, 1);
    await tick(T4);
    assert.equal(p.a.counters.clientTransactions, 0);
    assert.equal(p.b.counters.serverTransactions, 1);
    await tick(64 * T1 - T4);
    assert.equal(p.b.counters.serverTransactions, 0);
  });

  it('a retransmitted request is absorbed by the server transaction, which resends its last response', async () => {
    let calls = 0;
    p.b.onRequest('MESSAGE', (req) => { calls++; req.reply(202); });
    let dropped = false;
    p.net.filter = (m) => {
      if (!m.isRequest && m.status === 202 && !dropped) { dropped = true; return false; }
      return true;
    };
    const out = p.a.request('MESSAGE', p.bUri);
    await tick(T1);
    assert.equal((await out.final).status, 202);
    assert.equal(calls, 1);
    assert.equal(p.tb.count(isRes(202)), 2);
  });

  it('INVITE server: 100 Trying after 200 ms of TU silence; non-2xx final, ACK, Timers D and I', async () => {
    let inc: IncomingRequest | undefined;
    p.b.onRequest('INVITE', (req) => { inc = req; });
    const out = p.a.request('INVITE', p.bUri);
    await tick(199);
    assert.equal(p.tb.count(isRes(100)), 0);
    await tick(1);
    assert.equal(p.tb.count(isRes(100)), 1);
    inc!.reply(486);
    const res = await out.final;
    assert.equal(res.status, 486);
    await settle();
    // §17.1.1.3: the ACK for a non-2xx is the transaction's: same branch as the INVITE.
    const ack = p.ta.sent.find((r) => isReq('ACK')(r.message))!.message as SipRequest;
    const invite = p.ta.sent[0]!.message as SipRequest;
    assert.equal(ack.headers.get('via'), invite.headers.get('via'));
    assert.equal(ack.headers.get('to'), res.headers.get('to'));
    assert.equal(ack.headers.get('cseq'), '1 ACK');
    assert.equal(p.b.counters.serverTransactions, 1); // Confirmed, Timer I
    assert.equal(p.a.counters.clientTransactions, 1); // Completed, Timer D
    await tick(T4);
    assert.equal(p.b.counters.serverTransactions, 0);
    await tick(32000 - T4);
    assert.equal(p.a.counters.clientTransactions, 0);
  });

  it('INVITE server: Timer G retransmits a non-2xx final up to T2 while ACKs are lost; Timer H ends it', async () => {
    let failed: string | undefined;
    p.b.onRequest('INVITE', (req) => {
      req.on('failed', (why: string) => { failed = why; });
      req.reply(603);
    });
    p.net.filter = (m) => !isReq('ACK')(m);
    const out = p.a.request('INVITE', p.bUri);
    assert.equal((await out.final).status, 603);
    const finals = (): number => p.tb.count(isRes(603));
    const at = [500, 1500, 3500, 7500, 11500];
    let now = 0;
    for (let i = 0; i < at.length; i++) {
      await tick(at[i]! - now);
      now = at[i]!;
      assert.equal(finals(), i + 2, `603s by t=${now}`);
    }
    // The client re-ACKs every retransmitted final and shows none of them to the TU.
    assert.equal(p.ta.count(isReq('ACK')), finals());
    await tick(64 * T1 - now);
    assert.equal(failed, 'timeout');
    assert.equal(p.b.counters.serverTransactions, 0);
  });

  it('CANCEL after a provisional: 200 for the CANCEL, 487 for the INVITE', async () => {
    let inc: IncomingRequest | undefined;
    let cancelEvents = 0;
    p.b.onRequest('INVITE', (req) => {
      inc = req;
      req.on('cancel', () => { cancelEvents++; });
      req.progress(180);
    });
    const out = p.a.request('INVITE', p.bUri);
    await new Promise<void>((resolve) => out.once('provisional', () => resolve()));
    let cancelStatus = 0;
    out.on('cancelResponse', (r: SipResponse) => { cancelStatus = r.status; });
    out.cancel();
    const res = await out.final;
    assert.equal(res.status, 487);
    await settle();
    assert.equal(cancelStatus, 200);
    assert.equal(inc!.canceled, true);
    assert.equal(cancelEvents, 1);
    assert.equal(p.b.dialogs.size, 0, 'the early dialog ended');
    assert.equal(p.a.dialogs.size, 0);
  });

  it('CANCEL before any provisional waits for one (here the 100 Trying at 200 ms)', async () => {
    p.b.onRequest('INVITE', () => { /* ringing silently */ });
    const out = p.a.request('INVITE', p.bUri);
    out.cancel();
    await settle();
    assert.equal(p.ta.count(isReq('CANCEL')), 0);
    await tick(200);
    assert.equal(p.ta.count(isReq('CANCEL')), 1);
    assert.equal((await out.final).status, 487);
  });

  it('a CANCEL matching no transaction gets 481', async () => {
    const out = p.a.request('CANCEL', p.bUri);
    assert.equal((await out.final).status, 481);
  });

  it('merged request (same From tag, Call-ID, CSeq; other branch) gets 482', async () => {
    let calls = 0;
    p.b.onRequest('INVITE', () => { calls++; });
    p.a.request('INVITE', p.bUri);
    await settle();
    const copy = (p.ta.sent[0]!.message as SipRequest).clone();
    copy.headers.set('via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKother;rport');
    await p.ta.send(copy, { protocol: 'udp', address: '127.0.0.1', port: 5070 });
    await settle();
    assert.equal(calls, 1);
    assert.equal(p.tb.count(isRes(482)), 1);
    assert.equal(p.b.counters.mergedRequests, 1);
  });

  it('RFC 2543 matching: a branch without the magic cookie still finds its transaction', async () => {
    let calls = 0;
    p.b.onRequest('INVITE', (req) => { calls++; req.reply(480); });
    const dest = { protocol: 'udp' as const, address: '127.0.0.1', port: 5070 };
    const raw = [
      'INVITE sip:bob@127.0.0.1:5070 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=old2543',
      'From: <sip:old@127.0.0.1>;tag=1928',
      'To: <sip:bob@127.0.0.1>',
      'Call-ID: rfc2543@127.0.0.1',
      'CSeq: 7 INVITE',
      'Content-Length: 0', '', '',
    ].join('\r\n');
    const { parseMessage } = await import('../parser/index.js');
    const invite = parseMessage(Buffer.from(raw)) as SipRequest;
    await p.ta.send(invite, dest);
    await settle();
    await p.ta.send(invite, dest); // retransmission: absorbed, 480 resent
    await settle();
    assert.equal(calls, 1);
    assert.equal(p.tb.count(isRes(480)), 2);
    const res480 = p.tb.sent[p.tb.sent.length - 1]!.message as SipResponse;
    const ack = invite.clone();
    ack.method = 'ACK';
    ack.headers.set('cseq', '7 ACK');
    ack.headers.set('to', res480.headers.get('to')!);
    await p.ta.send(ack, dest);
    await settle();
    await tick(T1 * 4); // Timer G would have fired by now had the ACK not matched
    assert.equal(p.tb.count(isRes(480)), 2);
    await tick(T4);
    assert.equal(p.b.counters.serverTransactions, 0);
  });

  it('a send failure reaches the TU as a 503', async () => {
    const out = p.a.request('OPTIONS', 'sip:nobody@127.0.0.1:5999');
    const res = await out.final;
    assert.equal(res.status, 503);
    assert.ok(isLocalResponse(res));
    assert.equal(p.a.counters.transactions, 0);
  });

  it('unknown methods get 501, known but unhandled 405 with Allow, OPTIONS 200 with Allow', async () => {
    const r1 = await p.a.request('FOO', p.bUri).final;
    assert.equal(r1.status, 501);
    const r2 = await p.a.request('MESSAGE', p.bUri).final;
    assert.equal(r2.status, 405);
    assert.match(r2.headers.getRaw('allow') ?? '', /OPTIONS/);
    const r3 = await p.a.request('OPTIONS', p.bUri).final;
    assert.equal(r3.status, 200);
    assert.match(r3.headers.getRaw('allow') ?? '', /BYE/);
  });

  it('a request missing a mandatory header is answered 400 naming it', async () => {
    const out = p.a.request('OPTIONS', p.bUri);
    void out;
    await settle();
    const bad = (p.ta.sent[0]!.message as SipRequest).clone();
    bad.headers.delete('call-id');
    bad.headers.set('via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKbad;rport');
    await p.ta.send(bad, { protocol: 'udp', address: '127.0.0.1', port: 5070 });
    await settle();
    const r = p.tb.sent.find((s) => isRes(400)(s.message))!.message as SipResponse;
    assert.match(r.reason, /Call-ID/);
  });

  it('the transaction tables are empty once many transactions completed and their timers ran', async () => {
    p.b.onRequest('INVITE', (req) => {
      if (req.message.headers.get('subject') === 'reject') req.reply(486);
      else void req.answer().catch(() => undefined);
    });
    p.b.onRequest('MESSAGE', (req) => { req.reply(200); });
    const finals: Array<Promise<SipResponse>> = [];
    for (let i = 0; i < 200; i++) finals.push(p.a.request('MESSAGE', p.bUri).final);
    for (let i = 0; i < 50; i++) finals.push(p.a.request('INVITE', p.bUri, { headers: { Subject: 'reject' } }).final);
    const calls = [];
    for (let i = 0; i < 50; i++) calls.push(p.a.request('INVITE', p.bUri));
    for (const r of await Promise.all(finals)) assert.ok(r.status === 200 || r.status === 486);
    for (const c of calls) {
      assert.equal((await c.final).status, 200);
      assert.equal((await c.dialog!.bye()).status, 200);
    }
    await settle();
    assert.equal(p.b.dialogs.size, 0);
    assert.equal(p.a.dialogs.size, 0);
    await tick(64 * T1);
    assert.equal(p.a.counters.transactions, 0);
    assert.equal(p.b.counters.transactions, 0);
    assert.equal(p.a.counters.clientTransactionsCreated, 350);
  });
});
