// UA core behaviour under a mock clock: reliable-transport timers, 420/483, failover lookup.
import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../test-support/loopback-transport.js';
import { uaPair, tick, isReq, type UaPair } from '../test-support/pair.js';
import type { DialogState } from '../dialog/state.js';
import { UserAgent } from './user-agent.js';

const T1 = 500;

describe('UserAgent (mock clock, loopback)', () => {
  let p: UaPair;
  afterEach(async () => {
    await p.close();
    mock.timers.reset();
  });

  it('reliable transport: no retransmissions, Timer B still answers 408 at 64*T1', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    p = uaPair('tcp');
    p.net.filter = () => false;
    const out = p.a.request('INVITE', p.bUri);
    await tick(32 * T1);
    assert.equal(p.ta.count(isReq('INVITE')), 1);
    await tick(32 * T1);
    assert.equal((await out.final).status, 408);
  });

  it('reliable transport: completed transactions leave the table at once (Timers D, I, J, K = 0)', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    p = uaPair('tcp');
    p.b.onRequest('INVITE', (req) => req.reply(486));
    assert.equal((await p.a.request('OPTIONS', p.bUri).final).status, 200);
    assert.equal((await p.a.request('INVITE', p.bUri).final).status, 486);
    await settle();
    assert.equal(p.a.counters.transactions, 0);
    assert.equal(p.b.counters.transactions, 0);
  });

  it('a Require naming an unsupported extension gets 420 with Unsupported', async () => {
    p = uaPair();
    p.b.onRequest('INVITE', (req) => req.reply(200));
    const res = await p.a.request('INVITE', p.bUri, { headers: { Require: '100rel, foo' } }).final;
    assert.equal(res.status, 420);
    assert.equal(res.headers.getRaw('unsupported'), '100rel, foo');
  });

  it('a Require that is no option-tag (not a token) gets 400, not a 420 that copies it into Unsupported', async () => {
    p = uaPair();
    p.b.onRequest('OPTIONS', (req) => req.reply(200));
    const res = await p.a.request('OPTIONS', p.bUri, { headers: { Require: 'foo, "bar baz"' } }).final;
    assert.deepEqual([res.status, res.reason, res.headers.has('unsupported')], [400, 'Bad Request: malformed Require', false]);
  });

  it('screenRequest refuses requests outside a dialog before their handler, then runs after(); in-dialog ones pass', async () => {
    const screened: string[] = [];
    let after = 0;
    p = uaPair('udp', {
      b: {
        screenRequest: (req) => {
          screened.push(req.method);
          return /sip:mallory@/.test(req.headers.get('from') ?? '') ? { status: 403, reason: 'From user does not match the credentials', after: () => { after++; } } : undefined;
        },
      },
    });
    let handled = 0;
    p.b.onRequest('INVITE', (req) => { handled++; void req.answer(); });
    p.b.onRequest('MESSAGE', (req) => { handled++; req.reply(200); });
    const refused = await p.a.request('MESSAGE', p.bUri, { from: 'sip:mallory@example.com' }).final;
    assert.deepEqual([refused.status, refused.reason, after, handled], [403, 'From user does not match the credentials', 1, 0]);
    assert.ok(refused.headers.get('to')?.includes('tag='), 'the refusal carries a To tag');
    const call = p.a.request('INVITE', p.bUri, { from: 'sip:alice@example.com' });
    assert.equal((await call.final).status, 200);
    // In the dialog nothing is screened: the BYE is not asked about.
    const before = screened.length;
    assert.equal((await call.dialog!.bye()).status, 200);
    assert.equal(screened.length, before);
    assert.deepEqual(screened, ['MESSAGE', 'INVITE']);
  });

  it('Max-Forwards 0 gets 483', async () => {
    p = uaPair();
    const res = await p.a.request('MESSAGE', p.bUri, { headers: { 'Max-Forwards': '0' } }).final;
    assert.equal(res.status, 483);
  });

  it('a handler that throws a SipError answers with its status; any other error with 500', async () => {
    p = uaPair();
    const { SipError } = await import('../message/index.js');
    p.b.onRequest('MESSAGE', () => { throw new SipError(488, 'No Thanks'); });
    p.b.onRequest('INFO', async () => { throw new Error('boom'); });
    const r1 = await p.a.request('MESSAGE', p.bUri).final;
    assert.deepEqual([r1.status, r1.reason], [488, 'No Thanks']);
    assert.equal((await p.a.request('INFO', p.bUri).final).status, 500);
  });

  it('dialogLookup: an in-dialog request for a dialog this UA never had is served from a stored state', async () => {
    p = uaPair();
    p.b.onRequest('INVITE', (req) => { req.answer().catch(() => undefined); });
    const out = p.a.request('INVITE', p.bUri);
    assert.equal((await out.final).status, 200);
    await settle();
    const stored: DialogState = [...p.b.dialogs.values()][0]!.toState();
    // b's node dies; a survivor on the same address takes over with the stored state.
    await p.b.close();
    await p.tb.close();
    const tb2 = p.net.endpoint({ port: 5070 });
    const store = new Map([[stored.callId, stored]]);
    const b2 = new UserAgent({ transport: tb2, dialogLookup: async (callId) => store.get(callId) });
    let bye = false;
    b2.on('dialog', (d) => d.once('bye', () => { bye = true; }));
    assert.equal((await out.dialog!.bye()).status, 200);
    assert.equal(bye, true);
    const unknown = await p.a.request('BYE', p.bUri, { to: '<sip:bob@127.0.0.1:5070>;tag=gone' }).final;
    assert.equal(unknown.status, 481);
    await b2.close();
    await tb2.close();
  });

  it('close() ends pending requests with a local 503 and leaves no transaction or dialog behind', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    p = uaPair();
    p.b.onRequest('INVITE', (req) => { req.progress(180); });
    const out = p.a.request('INVITE', p.bUri);
    await settle();
    assert.equal(p.a.dialogs.size, 1); // early
    await p.a.close();
    const res = await out.final;
    assert.deepEqual([res.status, res.reason], [503, 'User Agent Closed']);
    assert.equal(p.a.counters.transactions, 0);
    assert.equal(p.a.dialogs.size, 0);
  });

  it('an in-dialog re-INVITE nobody listens for gets 488; OPTIONS 200', async () => {
    p = uaPair();
    p.b.onRequest('INVITE', (req) => { req.answer().catch(() => undefined); });
    const out = p.a.request('INVITE', p.bUri);
    assert.equal((await out.final).status, 200);
    assert.equal((await out.dialog!.request('INVITE').final).status, 488);
    assert.equal((await out.dialog!.request('OPTIONS').final).status, 200);
  });
});
