// RFC 3262 (100rel/PRACK) between two UAs on a loopback network, mock clock: the UAS
// retransmits reliable provisionals until PRACKed, the UAC PRACKs each once and
// absorbs retransmissions, offer/answer rides in provisional and PRACK (§5).
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { SipRequest, SipResponse } from '../message/index.js';
import { settle } from '../test-support/loopback-transport.js';
import { uaPair, tick, isReq, isRes, type UaPair } from '../test-support/pair.js';
import type { IncomingRequest } from './incoming-request.js';
import { parseRAck, RSeqWindow } from './reliable-provisionals.js';

const T1 = 500;

describe('reliable provisionals (RFC 3262, mock clock, loopback UDP)', () => {
  let p: UaPair;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    p = uaPair('udp', { supported: ['100rel'] });
  });
  afterEach(async () => {
    await p.close();
    mock.timers.reset();
  });

  it('INVITE carries Supported: 100rel; Require: 100rel gets a reliable 183, PRACKed once, then the 2xx', async () => {
    let inc: IncomingRequest | undefined;
    const pracks: IncomingRequest[] = [];
    p.b.onRequest('INVITE', (req) => {
      inc = req;
      req.on('prack', (pr: IncomingRequest) => pracks.push(pr));
      req.progress(183, undefined, { body: 'early answer', contentType: 'application/sdp' });
    });
    const out = p.a.request('INVITE', p.bUri, { body: 'offer', contentType: 'application/sdp', headers: { Require: '100rel' } });
    const provisionals: SipResponse[] = [];
    out.on('provisional', (r: SipResponse) => provisionals.push(r));
    await settle();
    const sentInvite = p.ta.sent[0]!.message as SipRequest;
    assert.equal(sentInvite.headers.get('supported'), '100rel');
    assert.equal(provisionals.length, 1);
    const r183 = provisionals[0]!;
    assert.equal(r183.headers.get('require'), '100rel');
    const rseq = Number(r183.headers.get('rseq'));
    assert.ok(rseq >= 1 && rseq < 2 ** 31);
    await settle();
    assert.equal(pracks.length, 1);
    assert.deepEqual(parseRAck(pracks[0]!.message.headers.get('rack')), { rseq, cseq: 1, method: 'INVITE' });
    assert.equal(p.tb.count(isRes(200, 'PRACK')), 1);
    await tick(8 * T1);
    assert.equal(p.tb.count(isRes(183)), 1, 'no retransmission after the PRACK');
    const answered = inc!.answer({ body: 'answer', contentType: 'application/sdp' });
    assert.equal((await out.final).status, 200);
    await answered;
    assert.equal(out.dialog!.state.localSeq, 2, 'the PRACK took CSeq 2 in the dialog');
  });

  it('a lost PRACK: the 183 is retransmitted at T1, 2T1; the UAC absorbs the copies (passed up once), its PRACK retransmits itself', async () => {
    let lost = 0;
    p.net.filter = (m) => !(isReq('PRACK')(m) && lost++ < 2);
    let inc: IncomingRequest | undefined;
    p.b.onRequest('INVITE', (req) => { inc = req; req.progress(180); });
    const out = p.a.request('INVITE', p.bUri, { headers: { Require: '100rel' } });
    let passedUp = 0;
    out.on('provisional', () => passedUp++);
    await settle();
    await tick(T1);
    assert.equal(p.tb.count(isRes(180)), 2);
    await tick(2 * T1);
    assert.equal(p.tb.count(isRes(180)), 3);
    assert.equal(passedUp, 1, 'retransmissions are not passed up');
    assert.equal(p.ta.count(isRes(200, 'PRACK')), 0);
    assert.equal(p.tb.count(isRes(200, 'PRACK')), 1, 'the third PRACK copy (Timer E) got through');
    assert.equal(p.ta.count(isReq('PRACK')), 3, 'one PRACK transaction, retransmitted by its own timer');
    await tick(8 * T1);
    assert.equal(p.tb.count(isRes(180)), 3);
    inc!.reply(486);
    assert.equal((await out.final).status, 486);
  });

  it('a second reliable provisional waits for the first PRACK; RSeq counts up by one', async () => {
    p.net.filter = (m) => !isReq('PRACK')(m) || p.ta.count(isReq('PRACK')) > 1;
    let inc: IncomingRequest | undefined;
    p.b.onRequest('INVITE', (req) => { inc = req; req.progress(180); req.progress(183); });
    const out = p.a.request('INVITE', p.bUri, { headers: { Require: '100rel' } });
    const seen: SipResponse[] = [];
    out.on('provisional', (r: SipResponse) => seen.push(r));
    await settle();
    assert.equal(p.tb.count(isRes(183)), 0, 'held back while the 180 is unacknowledged');
    await tick(T1);
    assert.equal(p.tb.count(isRes(183)), 1);
    await settle();
    assert.deepEqual(seen.map((r) => r.status), [180, 183]);
    assert.equal(Number(seen[1]!.headers.get('rseq')), Number(seen[0]!.headers.get('rseq')) + 1);
    inc!.reply(480);
    await out.final;
  });

  it('the 2xx waits for the PRACK of a reliable provisional that carried SDP (§3)', async () => {
    let pracksLost = true;
    p.net.filter = (m) => !(isReq('PRACK')(m) && pracksLost);
    p.b.onRequest('INVITE', (req) => {
      req.progress(183, undefined, { body: 'early', contentType: 'application/sdp' });
      req.answer({ body: 'answer', contentType: 'application/sdp' }).catch(() => undefined);
    });
    const out = p.a.request('INVITE', p.bUri, { body: 'offer', contentType: 'application/sdp', headers: { Require: '100rel' } });
    await settle();
    assert.equal(p.tb.count(isRes(200, 'INVITE')), 0);
    pracksLost = false;
    await tick(T1);
    assert.equal((await out.final).status, 200);
    assert.equal(p.tb.count(isRes(200, 'INVITE')), 1);
  });

  it('offer in a reliable provisional, answer in the PRACK (§5)', async () => {
    let prackBody = '';
    p.b.onRequest('INVITE', (req) => {
      req.on('prack', (pr: IncomingRequest) => { prackBody = pr.message.body.toString(); });
      req.progress(183, undefined, { body: 'offer in 183', contentType: 'application/sdp' });
    });
    const out = p.a.request('INVITE', p.bUri, {
      headers: { Require: '100rel' },
      prack: (res) => ({ body: 'answer to ' + res.body.toString(), contentType: 'application/sdp' }),
    });
    await settle();
    await settle();
    assert.equal(prackBody, 'answer to offer in 183');
    out.cancel();
    assert.equal((await out.final).status, 487);
  });

  it('no PRACK within 64*T1: the INVITE is rejected with 504', async () => {
    p.net.filter = (m) => !isReq('PRACK')(m);
    let failed = '';
    p.b.onRequest('INVITE', (req) => { req.on('failed', (why: string) => { failed = why; }); req.progress(180); });
    const out = p.a.request('INVITE', p.bUri, { headers: { Require: '100rel' } });
    await settle();
    await tick(64 * T1);
    assert.equal(failed, 'prack-timeout');
    const res = await out.final;
    assert.equal(res.status, 504);
    assert.equal(p.tb.count(isRes(180)), 7, 'sent at 0, T1, 3T1, 7T1, 15T1, 31T1, 63T1');
  });

  it('Supported only: unreliable unless the UAS asks; asked, it goes reliable; no Supported: never', async () => {
    const got: SipResponse[] = [];
    let n = 0;
    p.b.onRequest('INVITE', (req) => { req.progress(180); req.progress(183, undefined, { reliable: true }); if (++n === 2) req.reply(486); else req.reply(480); });
    const out = p.a.request('INVITE', p.bUri);
    out.on('provisional', (r: SipResponse) => got.push(r));
    await out.final;
    assert.equal(got[0]!.headers.get('rseq'), undefined);
    assert.ok(got[1]!.headers.get('rseq'), 'the INVITE said Supported: 100rel');
    const out2 = p.a.request('INVITE', p.bUri, { headers: { Supported: 'timer' } });
    const got2: SipResponse[] = [];
    out2.on('provisional', (r: SipResponse) => got2.push(r));
    await out2.final;
    assert.equal(got2.filter((r) => r.headers.has('rseq')).length, 0);
  });

  it('a PRACK naming no reliable provisional gets 481', async () => {
    let inc: IncomingRequest | undefined;
    p.b.onRequest('INVITE', (req) => { inc = req; req.progress(180); });
    const out = p.a.request('INVITE', p.bUri, { headers: { Require: '100rel' } });
    let early: import('../dialog/dialog.js').Dialog | undefined;
    out.on('earlyDialog', (d: import('../dialog/dialog.js').Dialog) => { early = d; });
    await settle();
    const bad = early!.request('PRACK', { headers: { RAck: '1 99 INVITE' } });
    assert.equal((await bad.final).status, 481);
    inc!.reply(603);
    await out.final;
  });

  it('RSeqWindow: first any, then each next by one', () => {
    const w = new RSeqWindow();
    assert.equal(w.accept(7), true);
    assert.equal(w.accept(7), false);
    assert.equal(w.accept(9), false);
    assert.equal(w.accept(8), true);
  });
});
