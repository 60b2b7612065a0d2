// Session timers (RFC 4028) per leg over the loopback network, with short intervals:
// the caller's refreshes answered on its leg only, the gateway refreshing a trunk that
// makes it the refresher, a refresh left unanswered ending the call both ways, 422.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dialog, IncomingRequest } from '@trapezoid/sip';
import { B, BROWSER_OFFER, assertReleased, bench, nextRequest, sleep, trunkSdp, type Bench } from './test-support.js';

const PORTS = { min: 11200, max: 11299 };
const CT = 'application/sdp';

async function call(t: Bench, o: { callerSe?: string; calleeSe?: string }): Promise<{ a: Dialog; b: Dialog; atTrunk: IncomingRequest[]; invite: IncomingRequest; ok: { headers: { get(n: string): string | undefined; getAll(n: string): string[] } } }> {
  t.route = () => ({
    profiles: { a: 'webrtc', b: 'rtp' }, policy: { codecs: ['PCMU', 'telephone-event/8000'] },
    send: t.invite([{ uri: 'sip:1000@127.0.0.1:5080', destination: B }]), timeoutSeconds: 5, timeoutEvent: 'call-timeout',
    sessionTimers: { expires: 1800, minExpires: 90 },
  });
  const invited = nextRequest(t.b, 'INVITE');
  const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', {
    body: BROWSER_OFFER, contentType: CT, headers: { Supported: 'timer', ...(o.callerSe ? { 'Session-Expires': o.callerSe } : {}) },
  });
  const invite = await invited;
  const bDialog = invite.answer({ body: trunkSdp(12200), contentType: CT, headers: o.calleeSe ? { 'Session-Expires': o.calleeSe, Require: 'timer' } : {} });
  const ok = await out.final;
  assert.equal(ok.status, 200);
  const b = await bDialog;
  const atTrunk: IncomingRequest[] = [];
  b.on('request', (r: IncomingRequest) => atTrunk.push(r));
  return { a: out.dialog!, b, atTrunk, invite, ok };
}

describe('session timers per leg (loopback SIP)', () => {
  let t: Bench;
  before(async () => { t = await bench(PORTS); });
  after(async () => { await t.close(); });

  it('the caller refreshes its own leg: our 200 makes it the refresher, its UPDATE is answered with Session-Expires and never relayed', async () => {
    const x = await call(t, { callerSe: '90' });
    assert.equal(x.ok.headers.get('session-expires'), '90;refresher=uac');
    assert.ok(x.ok.headers.getAll('require').includes('timer'));
    assert.equal(x.invite.message.headers.get('session-expires'), '1800', 'the trunk is asked our interval');
    assert.ok(x.invite.message.headers.getAll('supported').includes('timer'));
    const refresh = await x.a.request('UPDATE', { headers: { 'Session-Expires': '90;refresher=uac' } }).final;
    assert.equal(refresh.status, 200);
    assert.equal(refresh.headers.get('session-expires'), '90;refresher=uac');
    await sleep(30);
    assert.equal(x.atTrunk.length, 0, 'the trunk saw nothing of it');
    await x.a.bye();
    await assertReleased(t);
  });

  it('a trunk that makes the gateway its refresher is refreshed at half the interval; the refresh left unanswered ends the call both ways', async () => {
    const x = await call(t, { calleeSe: '2;refresher=uac' });
    assert.equal(x.ok.headers.get('session-expires'), '1800;refresher=uac', 'the caller gets our interval, refresher itself');
    const first = await until(() => x.atTrunk[0], 'the first refresh');
    assert.equal(first.method, 'INVITE', 'a re-INVITE: the trunk did not announce UPDATE');
    assert.match(first.message.body.toString(), /m=audio \d+ RTP\/AVP 0 101/, 'with the SDP in force');
    assert.equal(first.message.headers.get('session-expires'), '2;refresher=uac');
    first.reply(200, { body: trunkSdp(12200), contentType: CT, headers: { 'Session-Expires': '2;refresher=uac' } });
    // The second refresh is never answered: the session expires, both legs get a BYE.
    const aBye = new Promise<void>((resolve) => x.a.once('terminated', () => resolve()));
    const bBye = new Promise<void>((resolve) => x.b.once('terminated', () => resolve()));
    const started = Date.now();
    await until(() => x.atTrunk[1], 'the second refresh');
    await Promise.all([aBye, bBye]);
    const end = await t.ended(t.started.length - 1);
    assert.deepEqual([end.status, end.cause, end.endedBy], [408, 'session-expired', 'gateway']);
    assert.ok(Date.now() - started < 3500, 'ended within the interval after the last refresh, not at Timer F (32 s)');
    await assertReleased(t);
  });

  it('a party that should refresh and does not: the call ends before the interval runs out (RFC 4028 §10)', async () => {
    const x = await call(t, { calleeSe: '3;refresher=uas' });
    const started = Date.now();
    const bBye = new Promise<void>((resolve) => x.b.once('terminated', () => resolve()));
    await bBye;
    const took = Date.now() - started;
    assert.ok(took >= 1800 && took < 2800, `ended at 3 s - 1 s (${took} ms)`);
    assert.equal((await t.ended(t.started.length - 1)).cause, 'session-expired');
    assert.equal(x.atTrunk.length, 0, 'the gateway did not refresh: the trunk was the refresher');
    await assertReleased(t);
  });

  it('a callee that wants a longer interval (422 with Min-SE) is asked again with it, once, and the call connects', async () => {
    t.route = () => ({
      profiles: { a: 'webrtc', b: 'rtp' }, policy: { codecs: ['PCMU'] },
      send: t.invite([{ uri: 'sip:1000@127.0.0.1:5080', destination: B }]), timeoutSeconds: 5, timeoutEvent: 'call-timeout',
      sessionTimers: { expires: 1800, minExpires: 90 },
    });
    const invites: IncomingRequest[] = [];
    t.b.onRequest('INVITE', (r) => {
      invites.push(r);
      if (invites.length === 1) r.reply(422, 'Session Interval Too Small', { headers: { 'Min-SE': '3600' } });
      else r.answer({ body: trunkSdp(12202, { codecs: '0' }), contentType: CT, headers: { 'Session-Expires': '3600;refresher=uas' } }).catch(() => undefined);
    });
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    assert.equal((await out.final).status, 200);
    assert.deepEqual(invites.map((r) => r.message.headers.get('session-expires')), ['1800', '3600']);
    await out.dialog!.bye();
    await assertReleased(t);
  });

  it('an interval below Min-SE is refused 422 with Min-SE (RFC 4028 §5)', async () => {
    t.route = () => ({
      profiles: { a: 'webrtc', b: 'rtp' }, policy: { codecs: ['PCMU'] },
      send: t.invite([{ uri: 'sip:1000@127.0.0.1:5080', destination: B }]), timeoutSeconds: 5, timeoutEvent: 'call-timeout',
      sessionTimers: { expires: 1800, minExpires: 90 },
    });
    const res = await t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', {
      body: BROWSER_OFFER, contentType: CT, headers: { Supported: 'timer', 'Session-Expires': '30' },
    }).final;
    assert.equal(res.status, 422);
    assert.equal(res.headers.get('min-se'), '90');
    await assertReleased(t);
  });
});

async function until<T>(get: () => T | undefined, what: string, ms = 5000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) {
    const v = get();
    if (v !== undefined) return v;
  }
  assert.fail(`timed out waiting for ${what}`);
}
