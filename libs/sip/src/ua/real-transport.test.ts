// Two UserAgents over the real TransportLayer on loopback (UDP, TCP, WebSocket), in real time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransportLayer } from '../transport/index.js';
import type { Dialog } from '../dialog/dialog.js';
import type { IncomingRequest } from './incoming-request.js';
import { UserAgent } from './user-agent.js';

describe('UserAgent over UDP on loopback (real time)', { timeout: 20000 }, () => {
  const ta = new TransportLayer();
  const tb = new TransportLayer();
  const tc = new TransportLayer();
  let a: UserAgent;
  let b: UserAgent;
  let bUri = '';
  // Short timers: a lost datagram on loopback would still be retransmitted quickly.
  const timers = { T1: 100, T2: 400, T4: 500 };

  before(async () => {
    await ta.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
    const pb = await tb.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
    await tc.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
    a = new UserAgent({ transport: ta, timers, contactUser: 'alice' });
    b = new UserAgent({ transport: tb, timers, contactUser: 'bob' });
    bUri = `sip:bob@127.0.0.1:${pb.port}`;
  });
  after(async () => {
    await a.close();
    await b.close();
    await Promise.all([ta.close(), tb.close(), tc.close()]);
  });

  it('INVITE / 180 / 200 / ACK, re-INVITE, BYE', async () => {
    const bDialog = new Promise<Dialog>((resolve, reject) => {
      b.onRequest('INVITE', (req) => {
        req.progress(180);
        setTimeout(() => { req.answer({ body: 'v=0 answer\r\n', contentType: 'application/sdp' }).then(resolve, reject); }, 20);
      });
    });
    const out = a.request('INVITE', bUri, { body: 'v=0 offer\r\n', contentType: 'application/sdp' });
    const provisional = new Promise((resolve) => out.once('provisional', resolve));
    const res = await out.final;
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'v=0 answer\r\n');
    await provisional;
    const bd = await bDialog;
    const ad = out.dialog!;
    assert.equal(ad.state.state, 'confirmed');
    assert.equal(bd.state.remoteTag, ad.state.localTag);

    bd.on('request', (req: IncomingRequest) => {
      if (req.method === 'INVITE') req.answer({ body: 'v=0 hold answer\r\n', contentType: 'application/sdp' }).catch(() => undefined);
      else req.reply(200);
    });
    const re = ad.request('INVITE', { body: 'v=0 hold\r\n', contentType: 'application/sdp' });
    assert.equal((await re.final).status, 200);
    const byeSeen = new Promise((resolve) => bd.once('bye', resolve));
    assert.equal((await ad.bye()).status, 200);
    await byeSeen;
    assert.equal(a.dialogs.size, 0);
    assert.equal(b.dialogs.size, 0);
  });

  it('a dialog restored on another UA (other socket) ends the call with a BYE the peer accepts', async () => {
    b.onRequest('INVITE', (req) => { req.answer().catch(() => undefined); });
    const out = a.request('INVITE', bUri);
    assert.equal((await out.final).status, 200);
    const state = JSON.parse(JSON.stringify(out.dialog!.toState()));
    out.dialog!.terminate('closed'); // the old owner forgets it without a BYE
    const c = new UserAgent({ transport: tc, timers, contactUser: 'alice' });
    const restored = c.restoreDialog(state);
    const bd = [...b.dialogs.values()][0]!;
    const ended = new Promise((resolve) => bd.once('terminated', resolve));
    assert.equal((await restored.bye()).status, 200);
    assert.equal(await ended, 'bye');
    await c.close();
  });

  it('OPTIONS out of dialog is answered 200 with Allow; CANCEL gets the INVITE a 487', async () => {
    const opt = await a.request('OPTIONS', bUri).final;
    assert.equal(opt.status, 200);
    assert.match(opt.headers.getRaw('allow') ?? '', /INVITE/);
    b.onRequest('INVITE', (req) => { req.progress(180); });
    const out = a.request('INVITE', bUri);
    out.once('provisional', () => out.cancel());
    assert.equal((await out.final).status, 487);
  });
});

for (const protocol of ['tcp', 'ws'] as const) {
  describe(`UserAgent over ${protocol} on loopback (real time)`, { timeout: 20000 }, () => {
    const ta = new TransportLayer();
    const tb = new TransportLayer();
    let a: UserAgent;
    let b: UserAgent;
    let bUri = '';

    before(async () => {
      // a listens on nothing for this protocol: like a browser, it is reachable only
      // over the connection it opens (its Via/Contact host is *.invalid for ws).
      if (protocol === 'tcp') await ta.listen({ protocol, address: '127.0.0.1', port: 0 });
      const pb = await tb.listen({ protocol, address: '127.0.0.1', port: 0 });
      a = new UserAgent({ transport: ta, contactUser: 'alice' });
      b = new UserAgent({ transport: tb, contactUser: 'bob' });
      bUri = `sip:bob@127.0.0.1:${pb.port};transport=${protocol}`;
    });
    after(async () => {
      await a.close();
      await b.close();
      await Promise.all([ta.close(), tb.close()]);
    });

    it('INVITE / 200 / ACK, then the callee sends INFO and BYE back over the same flow', async () => {
      const bDialog = new Promise<Dialog>((resolve, reject) => {
        b.onRequest('INVITE', (req) => { req.answer().then(resolve, reject); });
      });
      const out = a.request('INVITE', bUri);
      assert.equal((await out.final).status, 200);
      const bd = await bDialog;
      assert.equal(bd.state.protocol, protocol);
      assert.ok(bd.state.flow?.flowId, 'the UAS dialog remembers the flow');
      const ad = out.dialog!;
      ad.on('request', (req: IncomingRequest) => req.reply(200));
      assert.equal((await bd.request('INFO', { body: 'Signal=1', contentType: 'application/dtmf-relay' }).final).status, 200);
      const ended = new Promise((resolve) => ad.once('terminated', resolve));
      assert.equal((await bd.bye()).status, 200);
      assert.equal(await ended, 'bye');
      // Reliable: Timers J/K are zero, so only the two INVITE transactions remain, in
      // Accepted (RFC 6026 Timers L/M run on every transport).
      assert.equal(a.counters.clientTransactions, 1);
      assert.equal(b.counters.serverTransactions, 1);
    });
  });
}
