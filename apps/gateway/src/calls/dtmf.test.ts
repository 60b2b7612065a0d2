// DTMF sent as SIP INFO (loopback SIP, real media worker): the browser's digit reaches
// the trunk as RFC 4733 events decoded here from what the trunk's media address got
// (event, marker, end bits, duration), or as INFO per trunk setting or when no
// telephone-event was negotiated; a trunk's INFO reaches the browser as INFO.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { Dialog, IncomingRequest } from '@trapezoid/sip';
import { B, BROWSER_OFFER, assertReleased, bench, nextRequest, sleep, trunkSdp, type Bench } from './test-support.js';
import { dtmfRelayBody, parseDtmfInfo, type DtmfPolicy } from './dtmf.js';

const PORTS = { min: 11460, max: 11559 };
/** The trunk's media address in its SDP: a socket of this test. */
const TRUNK_MEDIA = 11560;
const CT = 'application/sdp';

describe('DTMF over SIP INFO (loopback SIP, real media worker)', () => {
  let t: Bench;
  let media: Socket;
  const rtp: Buffer[] = [];
  before(async () => {
    t = await bench(PORTS);
    media = createSocket('udp4');
    media.on('message', (m) => rtp.push(m));
    await new Promise<void>((resolve) => media.bind(TRUNK_MEDIA, '127.0.0.1', () => resolve()));
  });
  after(async () => {
    await t.close();
    await new Promise<void>((resolve) => media.close(() => resolve()));
  });

  async function call(dtmf: DtmfPolicy, codecs = '0 101'): Promise<{ a: Dialog; b: Dialog; atTrunk: IncomingRequest[] }> {
    t.route = () => ({
      profiles: { a: 'webrtc', b: 'rtp' }, policy: { codecs: ['PCMU', 'telephone-event/8000'] }, dtmf,
      send: t.invite([{ uri: 'sip:1000@127.0.0.1:5080', destination: B }]), timeoutSeconds: 5, timeoutEvent: 'call-timeout',
    });
    const invited = nextRequest(t.b, 'INVITE');
    const out = t.a.request('INVITE', 'sip:1000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    const inc = await invited;
    const bDialog = inc.answer({ body: trunkSdp(TRUNK_MEDIA, { codecs }), contentType: CT });
    assert.equal((await out.final).status, 200);
    const b = await bDialog;
    const atTrunk: IncomingRequest[] = [];
    b.on('request', (r: IncomingRequest) => { atTrunk.push(r); r.reply(200); });
    await sleep(50);
    return { a: out.dialog!, b, atTrunk };
  }

  it('reads application/dtmf-relay and application/dtmf, and writes dtmf-relay', () => {
    assert.deepEqual(parseDtmfInfo('application/dtmf-relay', 'Signal=#\r\nDuration=250\r\n'), { event: 11, durationMs: 250 });
    assert.deepEqual(parseDtmfInfo('Application/DTMF-Relay; charset=x', 'signal = 5\nduration=10\n'), { event: 5, durationMs: 40 }, 'too short: 40 ms');
    assert.deepEqual(parseDtmfInfo('application/dtmf', '*'), { event: 10, durationMs: 160 });
    assert.deepEqual(parseDtmfInfo('application/dtmf-relay', 'Signal=16\r\n'), { event: 16, durationMs: 160 }, 'flash');
    assert.equal(parseDtmfInfo('application/dtmf-relay', 'Signal=Z\r\n'), null);
    assert.equal(parseDtmfInfo('application/media_control+xml', '<x/>'), null);
    assert.equal(dtmfRelayBody({ event: 11, durationMs: 160 }), 'Signal=#\r\nDuration=160\r\n');
  });

  it('a browser INFO digit reaches the trunk as RFC 4733: one event, marker first, three end packets, its duration at 8 kHz', async () => {
    const x = await call({ toTrunk: 'rfc4733', toBrowser: 'info' });
    rtp.length = 0;
    const res = await x.a.request('INFO', { body: 'Signal=7\r\nDuration=200\r\n', contentType: 'application/dtmf-relay' }).final;
    assert.equal(res.status, 200);
    for (let i = 0; i < 100 && rtp.filter((b) => (b[13]! & 0x80) !== 0).length < 3; i++) await sleep(10);
    const events = rtp.filter((b) => (b[1]! & 0x7f) === 101).map((b) => ({
      marker: (b[1]! & 0x80) !== 0, seq: b.readUInt16BE(2), ts: b.readUInt32BE(4), event: b[12], end: (b[13]! & 0x80) !== 0, duration: b.readUInt16BE(14),
    }));
    assert.ok(events.length >= 4, JSON.stringify(events));
    assert.ok(events.every((e) => e.event === 7 && e.ts === events[0]!.ts));
    assert.deepEqual(events.map((e) => e.marker), events.map((_, i) => i === 0));
    assert.deepEqual(events.slice(-3).map((e) => [e.end, e.duration]), [[true, 1600], [true, 1600], [true, 1600]], '200 ms at 8000 Hz, E bit, three times');
    assert.ok(events.slice(0, -3).every((e) => !e.end && e.duration < 1600));
    assert.ok(events.every((e, i) => i === 0 || e.seq === ((events[i - 1]!.seq + 1) & 0xffff)), 'consecutive sequence numbers');
    assert.equal(x.atTrunk.length, 0, 'no INFO reached the trunk');
    await x.a.bye();
    await assertReleased(t);
  });

  it('per trunk setting the INFO is relayed as it came; so it is when no telephone-event was negotiated', async () => {
    const x = await call({ toTrunk: 'info', toBrowser: 'info' });
    const res = await x.a.request('INFO', { body: 'Signal=1\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' }).final;
    assert.equal(res.status, 200);
    assert.equal(x.atTrunk.length, 1);
    assert.equal(x.atTrunk[0]!.message.headers.get('content-type'), 'application/dtmf-relay');
    assert.equal(x.atTrunk[0]!.message.body.toString(), 'Signal=1\r\nDuration=160\r\n');
    await x.a.bye();
    await assertReleased(t);
    const y = await call({ toTrunk: 'rfc4733', toBrowser: 'info' }, '0');
    rtp.length = 0;
    assert.equal((await y.a.request('INFO', { body: '5', contentType: 'application/dtmf' }).final).status, 200);
    assert.equal(y.atTrunk.length, 1, 'relayed: the trunk knows no telephone-event');
    assert.equal(rtp.filter((b) => (b[1]! & 0x7f) === 101).length, 0);
    await y.a.bye();
    await assertReleased(t);
  });

  it('a trunk INFO digit reaches the browser as INFO, with the trunk\'s answer passed back', async () => {
    const x = await call({ toTrunk: 'rfc4733', toBrowser: 'info' });
    const atBrowser: IncomingRequest[] = [];
    x.a.on('request', (r: IncomingRequest) => { atBrowser.push(r); r.reply(200); });
    const res = await x.b.request('INFO', { body: 'Signal=9\r\nDuration=120\r\n', contentType: 'application/dtmf-relay' }).final;
    assert.equal(res.status, 200);
    assert.equal(atBrowser[0]?.message.body.toString(), 'Signal=9\r\nDuration=120\r\n');
    await x.b.bye();
    await assertReleased(t);
  });
});
