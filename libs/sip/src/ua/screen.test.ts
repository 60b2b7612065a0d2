// The request screen (RFC 3261 §8.2.7 stateless UAS) under a mock clock: a stateless
// challenge is sent once per request copy and never retransmitted, creates no
// transaction, carries the same To tag for every copy, and its ACK is absorbed; a
// dropped request gets nothing; a request with a live transaction still reaches it.
import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { LoopbackNetwork, type LoopbackTransport } from '../test-support/loopback-transport.js';
import { tick, isReq, isRes } from '../test-support/pair.js';
import { tagOf } from '../parser/index.js';
import type { SipRequest } from '../message/index.js';
import { UserAgent } from './user-agent.js';
import type { RequestScreen } from './screen.js';

const T1 = 500;

describe('request screen (§8.2.7)', () => {
  let a: UserAgent;
  let b: UserAgent;
  let ta: LoopbackTransport;
  let tb: LoopbackTransport;
  afterEach(async () => {
    await a.close();
    await b.close();
    await ta.close();
    await tb.close();
    mock.timers.reset();
  });

  function pair(screen: RequestScreen): void {
    const net = new LoopbackNetwork();
    ta = net.endpoint({ port: 5060 });
    tb = net.endpoint({ port: 5070 });
    a = new UserAgent({ transport: ta, contactUser: 'alice' });
    b = new UserAgent({ transport: tb, contactUser: 'bob', userAgentName: 'b', statelessScreen: screen });
  }

  const noCredentials: RequestScreen = (req) => (req.method === 'INVITE' && !req.headers.has('proxy-authorization')
    ? { action: 'reply', status: 407, headers: { 'Proxy-Authenticate': 'Digest realm="r", nonce="n"' } }
    : undefined);

  it('answers an INVITE without credentials with one 407, no transaction, no retransmission; the ACK is absorbed', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    pair(noCredentials);
    let handled = 0;
    b.onRequest('INVITE', (req) => { handled++; req.reply(200); });
    const out = a.request('INVITE', 'sip:bob@127.0.0.1:5070');
    const res = await out.final;
    assert.equal(res.status, 407);
    assert.equal(res.headers.get('proxy-authenticate'), 'Digest realm="r", nonce="n"');
    assert.equal(res.headers.get('server'), 'b');
    assert.equal(b.counters.serverTransactionsCreated, 0, 'no server transaction');
    assert.equal(b.counters.statelessResponses, 1);
    await tick(64 * T1);
    assert.equal(tb.count(isRes(407)), 1, 'the 407 is never retransmitted');
    assert.equal(ta.count(isReq('ACK')), 1, 'the client ACKed it (§17.1.1.3)');
    assert.equal(tb.sent.length, 1, 'the ACK got nothing back');
    assert.equal(handled, 0);
    assert.equal(b.counters.transactions, 0);
  });

  it('every copy of a request gets the same To tag (§8.2.7); a different request another', async () => {
    pair(noCredentials);
    const first = a.request('INVITE', 'sip:bob@127.0.0.1:5070');
    await first.final;
    // A retransmission as the network would replay it: the same bytes again.
    const invite = ta.sent.find((r) => isReq('INVITE')(r.message))!.message as SipRequest;
    tb.emit('message', Object.assign(invite, { transport: { protocol: 'udp', localAddress: '127.0.0.1', localPort: 5070, remoteAddress: '127.0.0.1', remotePort: 5060 } }));
    await tick(0);
    const tags = tb.sent.filter((r) => isRes(407)(r.message)).map((r) => tagOf(r.message.headers.get('to')!));
    assert.equal(tags.length, 2);
    assert.equal(tags[0], tags[1]);
    await a.request('INVITE', 'sip:bob@127.0.0.1:5070').final;
    const third = tb.sent.filter((r) => isRes(407)(r.message)).map((r) => tagOf(r.message.headers.get('to')!))[2];
    assert.notEqual(third, tags[0]);
  });

  it('a dropped request gets no answer at all and leaves nothing', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    pair((req) => (req.method === 'OPTIONS' ? { action: 'drop' } : undefined));
    const out = a.request('OPTIONS', 'sip:bob@127.0.0.1:5070');
    await tick(64 * T1);
    assert.equal((await out.final).status, 408, 'the client times out');
    assert.equal(tb.sent.length, 0);
    assert.equal(b.counters.screenedDrops, 11, 'the original and its 10 retransmissions (Timer E)');
    assert.equal(b.counters.serverTransactionsCreated, 0);
  });

  it('requests the screen lets through get transactions and handlers as usual; a retransmission reaches its transaction', async () => {
    let replyNow = false;
    pair(() => (replyNow ? { action: 'reply', status: 503 } : undefined));
    b.onRequest('MESSAGE', (req) => { req.reply(202); });
    const res = await a.request('MESSAGE', 'sip:bob@127.0.0.1:5070').final;
    assert.equal(res.status, 202);
    assert.equal(b.counters.serverTransactionsCreated, 1);
    // The same MESSAGE again while its transaction lives: the transaction answers (202), not the screen.
    replyNow = true;
    const message = ta.sent.find((r) => isReq('MESSAGE')(r.message))!.message as SipRequest;
    tb.emit('message', Object.assign(message, { transport: { protocol: 'udp', localAddress: '127.0.0.1', localPort: 5070, remoteAddress: '127.0.0.1', remotePort: 5060 } }));
    await tick(0);
    assert.deepEqual(tb.sent.filter((r) => !r.message.isRequest).map((r) => (r.message as { status: number }).status), [202, 202]);
    assert.equal(b.counters.statelessResponses, 0);
  });
});

describe('replyOnce (§8.2.7 after a transaction exists)', () => {
  it('sends the final once, never retransmits it, and ends the transaction at once', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    const net = new LoopbackNetwork();
    const ta = net.endpoint({ port: 5060 });
    const tb = net.endpoint({ port: 5070 });
    const a = new UserAgent({ transport: ta, contactUser: 'alice' });
    const b = new UserAgent({ transport: tb, contactUser: 'bob' });
    try {
      b.onRequest('INVITE', (req) => { req.replyOnce(407, undefined, { headers: { 'Proxy-Authenticate': 'Digest realm="r", nonce="n2"' } }); });
      const res = await a.request('INVITE', 'sip:bob@127.0.0.1:5070').final;
      assert.equal(res.status, 407);
      assert.equal(b.counters.transactions, 0, 'the server transaction is gone at once');
      await tick(64 * T1);
      assert.equal(tb.count(isRes(407)), 1, 'never retransmitted');
    } finally {
      await a.close();
      await b.close();
      await ta.close();
      await tb.close();
      mock.timers.reset();
    }
  });
});
