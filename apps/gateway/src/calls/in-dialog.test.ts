// In-dialog relay of an answered call over the stack's loopback network with a real
// media worker: hold and resume both ways (RFC 3264 §8.4, RFC 2543 c=0.0.0.0), UPDATE
// mapped to a re-INVITE for a party that does not announce UPDATE, refreshes answered
// on their own leg, the offerless re-INVITE (answer in the ACK), codec change and ICE
// restart reaching the media worker, glare (491) within one leg and across the two, a
// stray PRACK refused by the stack and logged with the call.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dialog, IncomingRequest } from '@trapezoid/sip';
import { isReq } from '@trapezoid/sip/test-support';
import {
  B, BROWSER_OFFER, assertReleased, bench, browserOffer, nextRequest, sleep, trunkSdp, type Bench,
} from './test-support.js';
import type { Call, InDialogActivity } from './call.js';

const PORTS = { min: 11100, max: 11199 };
const CT = 'application/sdp';

interface Answered {
  call: Call;
  /** The browser's dialog (leg a, UAC) and the trunk's (leg b, UAS), on the parties' side. */
  a: Dialog;
  b: Dialog;
  /** In-dialog requests the trunk received. */
  atTrunk: IncomingRequest[];
  activity: InDialogActivity[];
}

/** A browser (a) -> trunk (b) call, answered; `allow` is what the trunk announces in its 200. */
async function answered(t: Bench, allow?: string): Promise<Answered> {
  t.route = () => ({
    profiles: { a: 'webrtc', b: 'rtp' }, policy: { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] },
    send: t.invite([{ uri: 'sip:1000@127.0.0.1:5080', destination: B }]), timeoutSeconds: 5, timeoutEvent: 'call-timeout',
  });
  const invited = nextRequest(t.b, 'INVITE');
  const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
  const inc = await invited;
  const bDialog = inc.answer({ body: trunkSdp(12100, { codecs: '0 8 101' }), contentType: CT, ...(allow ? { headers: { Allow: allow } } : {}) });
  assert.equal((await out.final).status, 200);
  const call = t.started.at(-1)!;
  for (let i = 0; i < 100 && call.state !== 'answered'; i++) await sleep(5);
  const atTrunk: IncomingRequest[] = [];
  const b = await bDialog;
  b.on('request', (r: IncomingRequest) => atTrunk.push(r));
  const activity: InDialogActivity[] = [];
  call.on('inDialog', (x) => activity.push(x));
  return { call, a: out.dialog!, b, atTrunk, activity };
}

async function nextAt(list: IncomingRequest[], n: number): Promise<IncomingRequest> {
  for (let i = 0; i < 400 && list.length < n; i++) await sleep(5);
  assert.ok(list.length >= n, `request ${n} reached the trunk`);
  return list[n - 1]!;
}

async function remote(t: Bench, call: Call): Promise<{ address: string; port: number } | null> {
  const legs = (await t.engine.exportState(call.media!.id)).legs;
  return (legs[1] as { remote: { address: string; port: number } | null }).remote;
}

async function hangUp(t: Bench, x: Answered): Promise<void> {
  await x.a.bye();
  await assertReleased(t);
}

describe('in-dialog relay (loopback SIP, real media worker)', () => {
  let t: Bench;
  before(async () => { t = await bench(PORTS); });
  after(async () => { await t.close(); });

  it('the browser holds and resumes by re-INVITE: the trunk gets sendonly then sendrecv, the browser its mapped answers', async () => {
    const x = await answered(t);
    const hold = x.a.request('INVITE', { body: browserOffer({ version: 3, direction: 'sendonly' }), contentType: CT });
    const r1 = await nextAt(x.atTrunk, 1);
    assert.equal(r1.method, 'INVITE');
    assert.match(r1.message.body.toString(), /a=sendonly\r\n/);
    assert.match(r1.message.body.toString(), /^o=- \d+ 2 /m, 'our o= version on the trunk leg went up by one');
    assert.match(r1.message.headers.getAll('allow').join(', '), /UPDATE/, 'the re-INVITE tells the trunk what we handle');
    r1.reply(200, { body: trunkSdp(12100, { version: 2, direction: 'recvonly', codecs: '0 8 101' }), contentType: CT });
    const h = await hold.final;
    assert.equal(h.status, 200);
    assert.match(h.body.toString(), /a=recvonly\r\n/);
    assert.match(h.body.toString(), /a=setup:passive\r\n/, 'our DTLS role is kept');
    const held = (await t.engine.exportState(x.call.media!.id)).bridge as { flow: unknown };
    assert.deepEqual(held.flow, { toA: false, toB: true }, 'nothing is sent to the browser on hold');
    const resume = x.a.request('INVITE', { body: browserOffer({ version: 4 }), contentType: CT });
    const r2 = await nextAt(x.atTrunk, 2);
    assert.match(r2.message.body.toString(), /a=sendrecv\r\n/);
    r2.reply(200, { body: trunkSdp(12100, { version: 3, codecs: '0 8 101' }), contentType: CT });
    assert.equal((await resume.final).status, 200);
    const resumed = (await t.engine.exportState(x.call.media!.id)).bridge as { flow: unknown };
    assert.deepEqual(resumed.flow, { toA: true, toB: true });
    assert.deepEqual(x.activity.map((y) => [y.side, y.method, y.status, y.relayed, y.purpose]),
      [['a', 'INVITE', 200, true, 'hold'], ['a', 'INVITE', 200, true, 'resume']]);
    assert.equal(x.call.sdp!.legs.a.direction, 'sendrecv');
    await hangUp(t, x);
  });

  it('an UPDATE hold goes to a trunk that does not announce UPDATE as a re-INVITE, and as an UPDATE to one that does', async () => {
    const x = await answered(t);
    const u = x.a.request('UPDATE', { body: browserOffer({ version: 3, direction: 'sendonly' }), contentType: CT });
    const r = await nextAt(x.atTrunk, 1);
    assert.equal(r.method, 'INVITE');
    r.reply(200, { body: trunkSdp(12100, { version: 2, direction: 'recvonly', codecs: '0 8 101' }), contentType: CT });
    const res = await u.final;
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /a=recvonly/);
    await hangUp(t, x);
    const y = await answered(t, 'INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE');
    const u2 = y.a.request('UPDATE', { body: browserOffer({ version: 3, direction: 'sendonly' }), contentType: CT });
    const r2 = await nextAt(y.atTrunk, 1);
    assert.equal(r2.method, 'UPDATE');
    r2.reply(200, { body: trunkSdp(12100, { version: 2, direction: 'recvonly', codecs: '0 8 101' }), contentType: CT });
    assert.equal((await u2.final).status, 200);
    await hangUp(t, y);
  });

  it('refreshes stay on their leg: an UPDATE without SDP and a re-INVITE with the same o= version are answered, not relayed', async () => {
    const x = await answered(t);
    const u = await x.a.request('UPDATE').final;
    assert.equal(u.status, 200);
    const same = await x.a.request('INVITE', { body: BROWSER_OFFER, contentType: CT }).final;
    assert.equal(same.status, 200);
    assert.match(same.body.toString(), /^o=- \d+ 1 /m, 'our last answer, its version unchanged');
    await sleep(20);
    assert.equal(x.atTrunk.length, 0, 'nothing reached the trunk');
    assert.deepEqual(x.activity.map((y) => [y.method, y.relayed, y.purpose]), [['UPDATE', false, 'refresh'], ['INVITE', false, 'refresh']]);
    await hangUp(t, x);
  });

  it('the trunk holds with c=0.0.0.0 (RFC 2543): the browser is offered sendonly, the media address is kept; resume moves it', async () => {
    const x = await answered(t);
    const seen: IncomingRequest[] = [];
    x.a.on('request', (r: IncomingRequest) => {
      seen.push(r);
      r.reply(200, { body: BROWSER_OFFER.replace('a=setup:actpass', 'a=setup:active').replace('a=sendrecv', seen.length === 1 ? 'a=recvonly' : 'a=sendrecv'), contentType: CT });
    });
    const hold = await x.b.request('INVITE', { body: trunkSdp(12100, { version: 2, address: '0.0.0.0', codecs: '0 8 101' }), contentType: CT }).final;
    assert.equal(hold.status, 200);
    assert.match(seen[0]!.message.body.toString(), /a=sendonly\r\n/, 'c=0.0.0.0 sendrecv is a hold: the browser gets sendonly');
    assert.match(seen[0]!.message.body.toString(), /a=setup:passive\r\n/, 'the re-offer keeps our DTLS role');
    assert.match(hold.body.toString(), /a=recvonly\r\n/);
    assert.deepEqual(await remote(t, x.call), { address: '127.0.0.1', port: 12100, rtcpPort: 12101 }, 'nothing is sent to 0.0.0.0');
    const resume = await x.b.request('INVITE', { body: trunkSdp(12110, { version: 3, codecs: '0 8 101' }), contentType: CT }).final;
    assert.equal(resume.status, 200);
    assert.match(seen[1]!.message.body.toString(), /a=sendrecv\r\n/);
    assert.deepEqual(await remote(t, x.call), { address: '127.0.0.1', port: 12110, rtcpPort: 12111 }, 'the trunk\'s new address');
    await hangUp(t, x);
  });

  it('an offerless re-INVITE from the trunk gets our full offer; its answer in the ACK moves the media', async () => {
    const x = await answered(t);
    const out = x.b.request('INVITE', { autoAck: false });
    const res = await out.final;
    assert.equal(res.status, 200);
    const offer = res.body.toString();
    assert.match(offer, /m=audio \d+ RTP\/AVP 0 8 101\r\n/, 'every codec in force, with the trunk\'s PTs');
    assert.match(offer, /a=sendrecv/);
    x.b.ack({ body: trunkSdp(12120, { version: 2, codecs: '0 8 101' }), contentType: CT });
    for (let i = 0; i < 100 && (await remote(t, x.call))?.port !== 12120; i++) await sleep(10);
    assert.deepEqual(await remote(t, x.call), { address: '127.0.0.1', port: 12120, rtcpPort: 12121 });
    assert.equal(x.call.sdp!.busy, false);
    await hangUp(t, x);
  });

  it('a codec change from the trunk re-maps the live bridge; an ICE restart from the browser gets new credentials', async () => {
    const x = await answered(t);
    x.a.on('request', (r: IncomingRequest) => r.reply(200, {
      body: BROWSER_OFFER.replace('a=setup:actpass', 'a=setup:active').replace('111 0 8 126', '8 126'), contentType: CT,
    }));
    const before = (await t.engine.exportState(x.call.media!.id)).bridge as { payloadTypes: number[][] };
    assert.deepEqual(before.payloadTypes, [[0, 0], [8, 8], [126, 101]]);
    const pcma = await x.b.request('INVITE', { body: trunkSdp(12100, { version: 2, codecs: '8 101' }), contentType: CT }).final;
    assert.equal(pcma.status, 200);
    const after = (await t.engine.exportState(x.call.media!.id)).bridge as { payloadTypes: number[][] };
    assert.deepEqual(after.payloadTypes, [[8, 8], [126, 101]], 'the bridge now maps PCMA only');

    const ufrag = /a=ice-ufrag:(\S+)/.exec(x.call.sdp!.legs.a.local!)![1];
    const restart = x.a.request('INVITE', { body: browserOffer({ version: 3, ufrag: 'NEW1', pwd: 'newPasswordForIceRestart1' }), contentType: CT });
    const r = await nextAt(x.atTrunk, 1);
    r.reply(200, { body: trunkSdp(12100, { version: 3, codecs: '8 101' }), contentType: CT });
    const res = await restart.final;
    assert.equal(res.status, 200);
    const fresh = /a=ice-ufrag:(\S+)/.exec(res.body.toString())![1];
    assert.notEqual(fresh, ufrag, 'an ICE restart is answered with new credentials (RFC 8839 §4.4.1.1.1)');
    const leg = (await t.engine.exportState(x.call.media!.id)).legs[0] as { ice: { ufrag: string }; remote: { ufrag: string } };
    assert.equal(leg.ice.ufrag, fresh, 'the worker answers checks with them');
    assert.equal(leg.remote.ufrag, 'NEW1');
    await hangUp(t, x);
  });

  it('glare: an offer from either leg while one is in progress is 491; a 491 from the far leg is passed back', async () => {
    const x = await answered(t, 'INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE');
    const first = x.a.request('INVITE', { body: browserOffer({ version: 3, direction: 'sendonly' }), contentType: CT });
    const pending = await nextAt(x.atTrunk, 1);
    // Same leg: the browser's UPDATE while its re-INVITE is being relayed (RFC 3311 §5.2).
    const own = await x.a.request('UPDATE', { body: browserOffer({ version: 4 }), contentType: CT }).final;
    assert.equal(own.status, 491);
    // Other leg: the trunk's UPDATE with an offer while ours to it is pending.
    const cross = await x.b.request('UPDATE', { body: trunkSdp(12100, { version: 2, codecs: '0 101' }), contentType: CT }).final;
    assert.equal(cross.status, 491);
    // The trunk also sees glare on its side and refuses ours: the browser gets the 491.
    pending.reply(491);
    assert.equal((await first.final).status, 491);
    assert.equal(x.call.sdp!.busy, false, 'nothing pending any more');
    assert.equal(x.call.sdp!.legs.a.direction, 'sendrecv', 'the session is as it was (RFC 3261 §14.1)');
    const refused = x.activity.filter((y) => y.status === 491).map((y) => [y.side, y.method, y.relayed]);
    assert.deepEqual(refused, [['a', 'UPDATE', false], ['b', 'UPDATE', false], ['a', 'INVITE', true]]);
    // And the retry after glare goes through.
    const retry = x.a.request('INVITE', { body: browserOffer({ version: 5, direction: 'sendonly' }), contentType: CT });
    (await nextAt(x.atTrunk, 2)).reply(200, { body: trunkSdp(12100, { version: 2, direction: 'recvonly', codecs: '0 8 101' }), contentType: CT });
    assert.equal((await retry.final).status, 200);
    await hangUp(t, x);
  });

  it('OPTIONS in a dialog is answered with the truth; a method not handled gets 405 with the same Allow', async () => {
    const x = await answered(t);
    const o = await x.a.request('OPTIONS').final;
    assert.equal(o.status, 200);
    const allow = o.headers.getAll('allow').join(', ');
    assert.match(allow, /UPDATE/);
    assert.equal(o.headers.get('accept'), 'application/sdp');
    const m = await x.b.request('MESSAGE', { body: 'hi', contentType: 'text/plain' }).final;
    assert.equal(m.status, 405);
    assert.equal(m.headers.getAll('allow').join(', '), allow, 'one list for both');
    assert.ok(!allow.split(', ').includes('MESSAGE'));
    assert.equal(t.gwTransport.count(isReq('MESSAGE')), 0, 'not relayed');
    await hangUp(t, x);
  });

  it('a PRACK naming no reliable provisional is refused 481 by the stack, and the refusal is logged with the call', async () => {
    const x = await answered(t);
    const p = await x.b.request('PRACK', { headers: { RAck: '1 1 INVITE' } }).final;
    assert.equal(p.status, 481);
    assert.deepEqual(x.activity.map((y) => [y.side, y.method, y.status, y.relayed, y.purpose]), [['b', 'PRACK', 481, false, 'No Such Reliable Provisional']]);
    assert.equal(t.gwTransport.count(isReq('PRACK')), 0, 'not relayed to the browser');
    await hangUp(t, x);
  });
});

