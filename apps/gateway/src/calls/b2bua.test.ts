// The B2BUA primitive over the stack's loopback network, with a real media worker:
// provisional responses and failures passed back, early media re-targeted by the 200,
// forks, timeouts, CANCEL, a browser media leg failing mid-call, and every path ending
// both legs and releasing the ports.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SipResponse } from '@trapezoid/sip';
import { isReq } from '@trapezoid/sip/test-support';
import {
  B, B2, BROWSER_ANSWER, BROWSER_OFFER, assertReleased, bench, nextRequest, sleep, trunkSdp, type Bench,
} from './test-support.js';
import type { B2buaOptions } from './b2bua.js';

const PORTS = { min: 11000, max: 11099 };
const CT = 'application/sdp';

/** Browser (a, WebRTC) -> trunk (b, RTP). */
function toTrunk(t: Bench, overrides: Partial<B2buaOptions> = {}): Omit<B2buaOptions, 'call' | 'req'> {
  return {
    profiles: { a: 'webrtc', b: 'rtp' }, policy: { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] },
    send: t.invite([{ uri: 'sip:1000@127.0.0.1:5080', destination: B }]),
    timeoutSeconds: 5, timeoutEvent: 'call-timeout', ...overrides,
  };
}

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !cond();) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('B2BUA primitive (loopback SIP, real media worker)', () => {
  let t: Bench;
  before(async () => { t = await bench(PORTS); });
  after(async () => { await t.close(); });

  it('passes 180 and 183 with early media; the 200 with another address re-targets the trunk leg; a BYE ends both', async () => {
    t.route = () => toTrunk(t);
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    const prov: SipResponse[] = [];
    out.on('provisional', (r: SipResponse) => prov.push(r));
    const inc = await invited;
    assert.match(inc.message.body.toString(), /m=audio \d+ RTP\/AVP 0 8 101\r\n/, 'the browser\'s 126 became 101 toward the trunk');
    assert.doesNotMatch(inc.message.body.toString(), /48000/, 'telephone-event at the bridged codec\'s clock only: not the browser\'s /48000');
    inc.progress(180);
    await until(() => prov.some((r) => r.status === 180), 'the 180');
    inc.progress(183, undefined, { body: trunkSdp(12000), contentType: CT });
    await until(() => prov.some((r) => r.status === 183), 'the 183');
    const early = prov.find((r) => r.status === 183)!;
    assert.match(early.body.toString(), /UDP\/TLS\/RTP\/SAVPF 0 126\r\n/, 'early answer mapped back to the browser\'s PTs, its 8 kHz telephone-event');
    const call = t.started.at(-1)!;
    assert.equal(call.state, 'early');
    const remote = async (): Promise<unknown> => ((await t.engine.exportState(call.media!.id)).legs[1] as { remote: unknown }).remote;
    assert.deepEqual(await remote(), { address: '127.0.0.1', port: 12000, rtcpPort: 12001 }, 'early media goes to the 183\'s address');
    // A 180 after the 183 is relayed and leaves the media alone.
    inc.progress(180);
    await sleep(20);
    assert.equal(prov.filter((r) => r.status === 180).length, 2);
    assert.deepEqual(await remote(), { address: '127.0.0.1', port: 12000, rtcpPort: 12001 });
    inc.answer({ body: trunkSdp(12002, { address: '127.0.0.1', version: 2 }), contentType: CT }).catch(() => undefined);
    const final = await out.final;
    assert.equal(final.status, 200);
    assert.equal(final.body.toString().replace(/^o=.*$/m, ''), early.body.toString().replace(/^o=.*$/m, ''), 'the browser gets the same answer again');
    await until(() => call.state === 'answered', 'answered');
    assert.deepEqual(await remote(), { address: '127.0.0.1', port: 12002, rtcpPort: 12003 }, 'the 200 moved the trunk leg');
    const bDialog = inc.createdDialog!;
    const bye = new Promise<void>((resolve) => bDialog.once('terminated', () => resolve()));
    await out.dialog!.bye();
    await bye;
    const end = await t.ended(t.started.length - 1);
    assert.deepEqual([end.status, end.endedBy, end.cause], [200, 'a', 'hangup']);
    // Both INVITEs' transactions live on 32 s (Timers L and M) and hold the dialogs: the
    // ended call's listeners are gone from them, so they do not hold the call as long.
    for (const side of ['a', 'b'] as const) {
      const d = call.dialog(side)!;
      assert.deepEqual(['terminated', 'updated', 'request', 'refused'].map((e) => d.listenerCount(e)), [0, 0, 0, 0], `${side} dialog let go`);
    }
    await assertReleased(t);
  });

  it('forked early media: the latest 183 with SDP wins, the 200 of the other fork takes the media back', async () => {
    t.route = () => toTrunk(t);
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    const prov: SipResponse[] = [];
    out.on('provisional', (r: SipResponse) => prov.push(r));
    const inc = await invited;
    // Two forks behind the trunk's proxy: the same INVITE answered with two To tags.
    const fork = (status: number, tag: string, port: number): void => {
      const res = inc.createResponse(status);
      res.headers.set('to', `${inc.message.headers.get('to')!.replace(/;tag=[^;]*/, '')};tag=${tag}`);
      res.headers.set('contact', `<sip:fork-${tag}@127.0.0.1:5080>`);
      res.setBody(trunkSdp(port), CT);
      void t.b.transport.sendResponse(res, inc.message);
    };
    const call = t.started.at(-1)!;
    const remote = async (): Promise<number | undefined> => ((await t.engine.exportState(call.media!.id)).legs[1] as { remote?: { port: number } }).remote?.port;
    fork(183, 'one', 12030);
    await until(() => prov.length >= 1, 'the first 183');
    await sleep(20);
    assert.equal(await remote(), 12030);
    fork(183, 'two', 12032);
    await until(() => prov.length >= 2, 'the second 183');
    await sleep(20);
    assert.equal(await remote(), 12032, 'the latest early media wins');
    fork(200, 'one', 12030);
    const final = await out.final;
    assert.equal(final.status, 200);
    await until(() => call.state === 'answered', 'answered');
    assert.equal(await remote(), 12030, 'the answering fork has the media');
    assert.equal(call.bDialog!.state.remoteTag, 'one');
    // The forks were written by hand, so the BYE finds no dialog at B (481): the call ends anyway.
    await out.dialog!.bye();
    await assertReleased(t);
  });

  it('the browser\'s media leg failing mid-call ends the call (media-failed, a BYE to each leg); a leg error before its DTLS was up does not', async () => {
    t.route = () => toTrunk(t);
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    const inc = await invited;
    inc.answer({ body: trunkSdp(12004), contentType: CT }).catch(() => undefined);
    assert.equal((await out.final).status, 200);
    const call = t.started.at(-1)!;
    await until(() => call.state === 'answered', 'answered');
    const aEnded = new Promise<void>((resolve) => out.dialog!.once('terminated', () => resolve()));
    const bEnded = new Promise<void>((resolve) => inc.createdDialog!.once('terminated', () => resolve()));
    // What the media worker reports of the WebRTC leg (bridge leg 0), emitted here: no
    // browser does DTLS in this loopback bench.
    const report = (name: string, detail?: unknown): boolean => t.engine.emit('legEvent', { id: call.media!.id, leg: 0, name, ...(detail ? { detail } : {}) });
    report('error', { message: 'DTLS: handshake failed' });
    await sleep(20);
    assert.equal(call.state, 'answered', 'a handshake failure is the set-up watch\'s business');
    report('dtlsConnected', 'AEAD_AES_128_GCM');
    report('error', { message: 'DTLS: certificate does not match a=fingerprint' });
    await Promise.all([aEnded, bEnded]);
    const end = await t.ended(t.started.length - 1);
    assert.deepEqual([end.status, end.endedBy, end.cause], [500, 'gateway', 'media-failed']);
    await assertReleased(t);
  });

  it('passes a failure back: 486 to the caller, the call ends 486 by leg b', async () => {
    t.route = () => toTrunk(t);
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    (await invited).reply(486);
    assert.equal((await out.final).status, 486);
    const end = await t.ended(t.started.length - 1);
    assert.deepEqual([end.status, end.endedBy, end.cause], [486, 'b', 'rejected']);
    await assertReleased(t);
  });

  it('a trunk challenge it cannot meet is 403 to the caller', async () => {
    t.route = () => toTrunk(t);
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    (await invited).reply(401, { headers: { 'WWW-Authenticate': 'Digest realm="t", nonce="n", qop="auth"' } });
    assert.equal((await out.final).status, 403);
    await assertReleased(t);
  });

  it('an answer that cannot be bridged: the caller gets its status (488) and the call ends with it, the B leg gets a BYE', async () => {
    t.route = () => toTrunk(t);
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    const inc = await invited;
    const bye = nextInDialog(inc, 'BYE');
    inc.answer({ body: trunkSdp(12010, { codecs: '18' }), contentType: CT }).catch(() => undefined);
    assert.equal((await out.final).status, 488);
    await bye;
    const end = await t.ended(t.started.length - 1);
    assert.deepEqual([end.status, end.cause], [488, 'setup-failed'], 'one status for the caller and the call record');
    await assertReleased(t);
  });

  it('forks: one 180 for two ringing branches, the first 2xx wins, the other branch is cancelled', async () => {
    t.route = () => ({
      profiles: { a: 'rtp', b: 'webrtc' }, policy: { codecs: ['PCMU', 'telephone-event/8000'] },
      send: t.invite([{ uri: 'sip:agent@127.0.0.1:5080', destination: B }, { uri: 'sip:agent@127.0.0.1:5090', destination: B2 }]),
      timeoutSeconds: 5, timeoutEvent: 'ring-timeout',
    });
    const one = nextRequest(t.b, 'INVITE');
    const two = nextRequest(t.b2, 'INVITE');
    const out = t.a.request('INVITE', 'sip:2000@127.0.0.1:5060', { body: trunkSdp(12020), contentType: CT });
    const prov: SipResponse[] = [];
    out.on('provisional', (r: SipResponse) => prov.push(r));
    const [i1, i2] = await Promise.all([one, two]);
    assert.match(i1.message.body.toString(), /a=setup:actpass/, 'a WebRTC offer to each contact');
    const canceled = new Promise<void>((resolve) => i2.once('cancel', () => resolve()));
    i1.progress(180);
    i2.progress(180);
    await sleep(20);
    i1.answer({ body: BROWSER_ANSWER, contentType: CT }).catch(() => undefined);
    const final = await out.final;
    assert.equal(final.status, 200);
    assert.match(final.body.toString(), /m=audio \d+ RTP\/AVP 0 101\r\n/, 'the agent\'s answer mapped to RTP for the trunk');
    await canceled;
    assert.equal(prov.filter((r) => r.status === 180).length, 1, 'one 180 for the caller');
    await out.dialog!.bye();
    await assertReleased(t);
  });

  it('nobody answers in time: the branch is cancelled, the caller gets 480', async () => {
    t.route = () => toTrunk(t, { timeoutSeconds: 0.2 });
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    const inc = await invited;
    inc.progress(180);
    assert.equal((await out.final).status, 480);
    assert.equal(inc.canceled, true, 'the trunk got a CANCEL');
    const end = await t.ended(t.started.length - 1);
    assert.deepEqual([end.status, end.cause], [480, 'no-answer']);
    await assertReleased(t);
  });

  it('the caller cancels: CANCEL reaches the trunk, the call ends 487', async () => {
    t.route = () => toTrunk(t);
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    const inc = await invited;
    inc.progress(180);
    await sleep(10);
    const canceled = new Promise<void>((resolve) => inc.once('cancel', () => resolve()));
    out.cancel();
    await canceled;
    assert.equal((await out.final).status, 487);
    const end = await t.ended(t.started.length - 1);
    assert.deepEqual([end.status, end.endedBy], [487, 'a']);
    assert.ok(t.gwTransport.count(isReq('CANCEL')) >= 1);
    await assertReleased(t);
  });
});

/** The next in-dialog request of `method` on the dialog `inc` created. */
function nextInDialog(inc: { createdDialog: unknown }, method: string): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => {
      const d = inc.createdDialog as { terminated: boolean; on(e: string, f: (r: { method: string }) => void): void; once(e: string, f: () => void): void } | undefined;
      if (!d) { setTimeout(poll, 2); return; }
      if (method === 'BYE' && d.terminated) resolve();
      else if (method === 'BYE') d.once('terminated', () => resolve());
      else d.on('request', (r) => { if (r.method === method) resolve(); });
    };
    poll();
  });
}
