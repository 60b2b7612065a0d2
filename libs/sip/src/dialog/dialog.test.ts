// Dialogs (RFC 3261 §12-15) between two UAs on a loopback network, mock clock.
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { SipMessage, SipRequest, SipResponse } from '../message/index.js';
import { DigestServer } from '../auth/index.js';
import { createResponse } from '../transaction/response.js';
import { settle } from '../test-support/loopback-transport.js';
import { uaPair, tick, isReq, isRes, type UaPair } from '../test-support/pair.js';
import { UserAgent } from '../ua/user-agent.js';
import type { IncomingRequest } from '../ua/incoming-request.js';
import type { Dialog } from './dialog.js';

const T1 = 500;

/** a calls b; b answers 200 with SDP-like bodies; resolves with both dialogs. */
async function call(p: UaPair): Promise<{ ad: Dialog; bd: Dialog }> {
  const answered = new Promise<Dialog>((resolve, reject) => {
    p.b.onRequest('INVITE', (req) => { req.answer({ body: 'answer', contentType: 'application/sdp' }).then(resolve, reject); });
  });
  const out = p.a.request('INVITE', p.bUri, { body: 'offer', contentType: 'application/sdp' });
  const res = await out.final;
  assert.equal(res.status, 200);
  const bd = await answered;
  return { ad: out.dialog!, bd };
}

describe('dialogs (mock clock, loopback UDP)', () => {
  let p: UaPair;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    p = uaPair();
  });
  afterEach(async () => {
    await p.close();
    mock.timers.reset();
  });

  it('INVITE/200/ACK/BYE: both sides hold a confirmed dialog with mirrored ids, BYE ends both', async () => {
    const { ad, bd } = await call(p);
    assert.equal(ad.state.state, 'confirmed');
    assert.equal(bd.state.state, 'confirmed');
    assert.equal(ad.state.role, 'uac');
    assert.equal(bd.state.role, 'uas');
    assert.equal(ad.state.localTag, bd.state.remoteTag);
    assert.equal(ad.state.remoteTag, bd.state.localTag);
    assert.equal(ad.state.remoteTarget, 'sip:bob@127.0.0.1:5070');
    assert.equal(bd.state.remoteTarget, 'sip:alice@127.0.0.1:5060');
    assert.equal(p.a.dialogs.size, 1);
    assert.equal(p.b.dialogs.size, 1);
    const events: string[] = [];
    bd.on('bye', () => events.push('bye'));
    bd.on('terminated', (why: string) => events.push('terminated:' + why));
    const res = await ad.bye();
    assert.equal(res.status, 200);
    assert.deepEqual(events, ['bye', 'terminated:bye']);
    assert.equal(p.a.dialogs.size, 0);
    assert.equal(p.b.dialogs.size, 0);
    const bye = p.ta.sent.find((s) => isReq('BYE')(s.message))!.message as SipRequest;
    assert.equal(bye.headers.get('cseq'), '2 BYE');
  });

  it('the UAS retransmits its 2xx (T1, 2T1 ...) until the ACK arrives; the UAC ACKs each one', async () => {
    let lostAcks = 0;
    p.net.filter = (m) => !(isReq('ACK')(m) && lostAcks++ < 2);
    let acked = false;
    p.b.onRequest('INVITE', (req) => { void req.answer().then(() => { acked = true; }); });
    const out = p.a.request('INVITE', p.bUri);
    assert.equal((await out.final).status, 200);
    assert.equal(p.tb.count(isRes(200)), 1);
    await tick(T1);
    assert.equal(p.tb.count(isRes(200)), 2);
    assert.equal(acked, false);
    await tick(2 * T1);
    assert.equal(p.tb.count(isRes(200)), 3);
    assert.equal(acked, true);
    assert.equal(p.ta.count(isReq('ACK')), 3);
    await tick(64 * T1);
    assert.equal(p.tb.count(isRes(200)), 3, 'no retransmission after the ACK');
    assert.equal(p.a.counters.transactions, 0);
    assert.equal(p.b.counters.transactions, 0);
  });

  it('no ACK within 64*T1: answer() rejects, the UAS sends BYE and ends the dialog', async () => {
    p.net.filter = (m) => !isReq('ACK')(m);
    let err: Error | undefined;
    let bd: Dialog | undefined;
    p.b.onRequest('INVITE', (req) => {
      req.answer().catch((e: Error) => { err = e; });
      bd = req.createdDialog;
    });
    const out = p.a.request('INVITE', p.bUri);
    await out.final;
    let why = '';
    bd!.on('terminated', (r: string) => { why = r; });
    await tick(64 * T1 - 1);
    assert.equal(err, undefined);
    await tick(1);
    assert.match(err!.message, /ACK/);
    assert.equal(why, 'ack-timeout');
    await settle();
    assert.equal(p.tb.count(isReq('BYE')), 1);
    assert.equal(p.a.dialogs.size, 0, 'the UAC dialog ended with the BYE');
  });

  it('autoAck false: the caller sends the ACK itself, with a body', async () => {
    let ackBody = '';
    p.b.onRequest('INVITE', (req) => {
      req.answer().catch(() => undefined);
      req.createdDialog!.once('ack', (ack: SipRequest) => { ackBody = ack.body.toString(); });
    });
    const out = p.a.request('INVITE', p.bUri, { autoAck: false });
    assert.equal((await out.final).status, 200);
    await settle();
    assert.equal(p.ta.count(isReq('ACK')), 0);
    out.dialog!.ack({ body: 'late offer answer', contentType: 'application/sdp' });
    await settle();
    assert.equal(ackBody, 'late offer answer');
    const ack = p.ta.sent.find((s) => isReq('ACK')(s.message))!.message as SipRequest;
    assert.equal(ack.headers.get('cseq'), '1 ACK');
    assert.notEqual(ack.headers.get('via'), (p.ta.sent[0]!.message as SipRequest).headers.get('via'));
  });

  it('re-INVITE refreshes the remote target; its 2xx is ACKed with the re-INVITE CSeq', async () => {
    const { ad, bd } = await call(p);
    bd.on('request', (req: IncomingRequest) => {
      assert.equal(req.method, 'INVITE');
      req.answer({ body: 'answer2', contentType: 'application/sdp' }).catch(() => undefined);
    });
    const re = ad.request('INVITE', { body: 'offer2', contentType: 'application/sdp', headers: { Contact: '<sip:alice@127.0.0.1:5060;moved=1>' } });
    assert.equal((await re.final).status, 200);
    await settle();
    assert.equal(bd.state.remoteTarget, 'sip:alice@127.0.0.1:5060;moved=1');
    const acks = p.ta.sent.filter((s) => isReq('ACK')(s.message));
    assert.equal((acks[1]!.message as SipRequest).headers.get('cseq'), '2 ACK');
    const info = bd.request('INFO');
    assert.equal(info.message.uri, 'sip:alice@127.0.0.1:5060;moved=1');
    assert.equal(info.message.headers.get('cseq'), '1 INFO');
  });

  it('glare: re-INVITEs crossing each other both get 491 (§14.2)', async () => {
    const { ad, bd } = await call(p);
    const x = ad.request('INVITE');
    const y = bd.request('INVITE');
    assert.equal((await x.final).status, 491);
    assert.equal((await y.final).status, 491);
  });

  it('a re-INVITE while the previous one is unanswered gets 500 with Retry-After', async () => {
    const { ad, bd } = await call(p);
    bd.on('request', () => { /* keep the first unanswered */ });
    ad.request('INVITE');
    await settle();
    // The second one comes from "another" request of the peer: a raw copy with a higher CSeq.
    const first = p.ta.sent.filter((s) => isReq('INVITE')(s.message))[1]!.message as SipRequest;
    const second = first.clone();
    second.headers.set('via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsecond;rport');
    second.headers.set('cseq', '3 INVITE');
    await p.ta.send(second, { protocol: 'udp', address: '127.0.0.1', port: 5070 });
    await settle();
    const r = p.tb.sent.find((s) => isRes(500, 'INVITE')(s.message))!.message as SipResponse;
    assert.ok(r.headers.has('retry-after'));
  });

  it('an in-dialog request with a lower CSeq than the last one gets 500', async () => {
    const { ad, bd } = await call(p);
    bd.on('request', (req: IncomingRequest) => req.reply(200));
    assert.equal((await ad.request('INFO').final).status, 200);
    const info = p.ta.sent.filter((s) => isReq('INFO')(s.message))[0]!.message as SipRequest;
    const old = info.clone();
    old.headers.set('via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKold;rport');
    old.headers.set('cseq', '1 INFO');
    await p.ta.send(old, { protocol: 'udp', address: '127.0.0.1', port: 5070 });
    await settle();
    const r = p.tb.sent.find((s) => isRes(500, 'INFO')(s.message))!.message as SipResponse;
    assert.equal(r.reason, 'CSeq Out Of Order');
  });

  it('a request whose To tag matches no dialog gets 481; such an ACK is dropped', async () => {
    const dest = { protocol: 'udp' as const, address: '127.0.0.1', port: 5070 };
    const bye = p.a.request('BYE', p.bUri, { to: '<sip:bob@127.0.0.1:5070>;tag=nosuch' });
    assert.equal((await bye.final).status, 481);
    const ack = bye.message.clone();
    ack.method = 'ACK';
    ack.headers.set('cseq', '1 ACK');
    ack.headers.set('via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKack;rport');
    const before = p.tb.sent.length;
    await p.ta.send(ack, dest);
    await settle();
    assert.equal(p.tb.sent.length, before);
  });

  it('route set: Record-Route is kept in order by the UAS and reversed by the UAC', async () => {
    const rr = ['<sip:p1.example;lr>', '<sip:p2.example;lr>'];
    let bd: Dialog | undefined;
    p.b.onRequest('INVITE', (req) => { req.answer().catch(() => undefined); bd = req.createdDialog; });
    const out = p.a.request('INVITE', p.bUri, { headers: { 'Record-Route': rr }, autoAck: false });
    await out.final;
    assert.deepEqual(bd!.state.routeSet, rr);
    assert.deepEqual(out.dialog!.state.routeSet, [...rr].reverse());
    const { req } = out.dialog!.buildRequest('BYE', 9, 'z9hG4bKx');
    assert.equal(req.uri, 'sip:bob@127.0.0.1:5070');
    assert.deepEqual(req.headers.getAll('route'), [...rr].reverse());
  });

  it('early dialogs per forked 1xx; the answering fork confirms, a late second 2xx is ACKed and BYEd', async () => {
    const c = p.net.endpoint({ port: 5080 });
    const sent: SipResponse[] = [];
    const reply = (req: SipRequest, status: number, tag: string): void => {
      const r = createResponse(req, status, undefined, tag);
      r.headers.set('contact', `<sip:fork-${tag}@127.0.0.1:5080>`);
      sent.push(r);
      void c.sendResponse(r, req);
    };
    let byes = 0;
    c.on('message', (m: SipMessage) => {
      if (!m.isRequest) return;
      if (m.method === 'INVITE') {
        reply(m, 180, 'one');
        reply(m, 183, 'two');
        setImmediate(() => { reply(m, 200, 'two'); setImmediate(() => reply(m, 200, 'one')); });
      } else if (m.method === 'BYE') {
        byes++;
        void c.sendResponse(createResponse(m, 200), m);
      }
    });
    const out = p.a.request('INVITE', 'sip:forked@127.0.0.1:5080');
    const early: Dialog[] = [];
    out.on('earlyDialog', (d: Dialog) => early.push(d));
    const res = await out.final;
    assert.equal(res.status, 200);
    assert.equal(early.length, 2);
    assert.equal(out.dialog!.state.remoteTag, 'two');
    assert.equal(out.dialog!.state.remoteTarget, 'sip:fork-two@127.0.0.1:5080');
    assert.equal(early.find((d) => d.state.remoteTag === 'one')!.state.state, 'terminated');
    await new Promise((r) => setImmediate(r));
    await settle();
    assert.equal(byes, 1);
    const bye = c.sent.length; void bye;
    assert.equal(p.a.dialogs.size, 1);
    await c.close();
  });

  it('a dialog rebuilt from JSON on another UA sends a BYE that the peer accepts', async () => {
    const { ad, bd } = await call(p);
    const json = JSON.stringify(ad.toState());
    assert.deepEqual(ad.toState(), JSON.parse(json), 'the state is plain data: what JSON keeps of it, no undefined fields');
    await p.a.close();
    const t2 = p.net.endpoint({ port: 5061 });
    const a2 = new UserAgent({ transport: t2, contactUser: 'alice' });
    const restored = a2.restoreDialog(JSON.parse(json));
    assert.deepEqual(restored.toState(), JSON.parse(json));
    let ended = false;
    bd.on('terminated', () => { ended = true; });
    assert.equal((await restored.bye()).status, 200);
    assert.equal(ended, true);
    await a2.close();
    await t2.close();
  });

  it('digest: a 401 is answered once with credentials, with the next CSeq and the same Call-ID', async () => {
    const server = new DigestServer({ realm: 'test', lookup: () => ({ password: 'secret' }) });
    p.b.onRequest('MESSAGE', async (req) => {
      const v = await server.verify({ method: req.method, uri: req.message.uri, authorization: req.message.headers.get('authorization') });
      if (v.ok) req.reply(200);
      else if (v.status === 401) req.reply(401, { headers: { 'WWW-Authenticate': server.challenge() } });
      else req.reply(v.status);
    });
    const out = p.a.request('MESSAGE', p.bUri, { credentials: { username: 'alice', password: 'secret' } });
    const res = await out.final;
    assert.equal(res.status, 200);
    const msgs = p.ta.sent.filter((s) => isReq('MESSAGE')(s.message)).map((s) => s.message as SipRequest);
    assert.equal(msgs.length, 2);
    assert.equal(msgs[1]!.headers.get('cseq'), '2 MESSAGE');
    assert.equal(msgs[1]!.callId, msgs[0]!.callId);
    const wrong = p.a.request('MESSAGE', p.bUri, { credentials: { username: 'alice', password: 'nope' } });
    assert.equal((await wrong.final).status, 403);
  });

  it('a UAS BYE asked for before the ACK waits for it (§15)', async () => {
    let lost = 0;
    p.net.filter = (m) => !(isReq('ACK')(m) && lost++ < 1);
    let bd: Dialog | undefined;
    p.b.onRequest('INVITE', (req) => { req.answer().catch(() => undefined); bd = req.createdDialog; });
    const out = p.a.request('INVITE', p.bUri);
    assert.equal((await out.final).status, 200);
    await settle();
    const bye = bd!.bye();
    await settle();
    assert.equal(p.tb.count(isReq('BYE')), 0);
    await tick(T1); // 2xx retransmitted, ACKed again, then the BYE goes
    assert.equal((await bye).status, 200);
    assert.equal(p.tb.count(isReq('BYE')), 1);
    assert.equal(p.a.dialogs.size, 0);
  });

  it('rebindFlow: requests toward the peer leave over the new flow, and the state says so (RFC 5626 §5.3)', async () => {
    const { bd } = await call(p);
    const updates: string[] = [];
    bd.on('updated', () => updates.push('updated'));
    const flow = { protocol: 'ws' as const, address: '127.0.0.3', port: 40000, flowId: 'ws:127.0.0.3:40000#7' };
    bd.rebindFlow(flow);
    assert.deepEqual(bd.state.flow, flow);
    assert.deepEqual(bd.toState().flow, flow);
    assert.deepEqual(bd.buildRequest('BYE', 2, 'z9hG4bKrebind').dest, flow);
    assert.deepEqual(updates, ['updated']);
  });
});
