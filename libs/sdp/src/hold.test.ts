import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { answerDirection, nextOrigin, parseDirection, reverseDirection, rtpOfferToWebrtcOffer, scanDirection, webrtcOfferToRtpOffer, withDirection } from './index.js';
import type { Direction } from './index.js';
import { ICE, reparse, testdata, TRUNK_LOCAL, WEBRTC_LOCAL } from './test-support.js';

const G711 = { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] };

test('RFC 3264 §6.1 answer directions', () => {
  const table: [Direction, Direction, Direction][] = [
    ['sendrecv', 'sendrecv', 'sendrecv'], ['sendrecv', 'recvonly', 'recvonly'], ['sendonly', 'sendrecv', 'recvonly'],
    ['sendonly', 'sendonly', 'inactive'], ['recvonly', 'sendrecv', 'sendonly'], ['inactive', 'sendrecv', 'inactive'],
  ];
  for (const [offered, wanted, expected] of table) assert.equal(answerDirection(offered, wanted), expected, `${offered}/${wanted}`);
  assert.equal(reverseDirection('sendonly'), 'recvonly');
  assert.equal(reverseDirection('sendrecv'), 'sendrecv');
});

test('parseDirection: RFC 3264 attributes, session-level default, RFC 2543 c=0.0.0.0 on plain RTP only', () => {
  assert.equal(parseDirection(testdata('carrier-telnyx-hold-offer.sdp')), 'sendonly');
  assert.equal(parseDirection(testdata('carrier-rfc2543-hold-offer.sdp')), 'sendonly');
  assert.equal(parseDirection(testdata('carrier-rfc2543-hold-offer.sdp').replace(/c=IN IP4 0.0.0.0\r\nt=/, 'c=IN IP4 0.0.0.0\r\nt=').replace('a=fmtp:101 0-16', 'a=fmtp:101 0-16\r\na=recvonly')), 'inactive');
  assert.equal(parseDirection(testdata('sipp-uac-offer.sdp')), 'sendrecv');
  // Chromium's c=IN IP4 0.0.0.0 is ICE's default address, not hold.
  assert.equal(parseDirection(testdata('chromium-live-offer.sdp')), 'sendrecv');
  const sessionLevel = testdata('sipp-uac-offer.sdp').replace('t=0 0', 't=0 0\r\na=inactive');
  assert.equal(parseDirection(sessionLevel), 'inactive');
});

test('scanDirection (the monitor\'s line scan) agrees with parseDirection on every SDP of the corpus and its hold variants', () => {
  const corpus = readdirSync(new URL('../testdata/', import.meta.url)).filter((f) => f.endsWith('.sdp')).map(testdata);
  const variants = corpus.flatMap((sdp) => [
    sdp,
    sdp.replace(/\r?\nm=audio/, '\r\na=inactive\r\nm=audio'), // session-level direction
    sdp.replace(/(m=audio[^\r\n]*)/, '$1\r\na=sendonly'), // media-level direction wins over the session's
    sdp.replace(/c=IN IP4 [^\s/]+/g, 'c=IN IP4 0.0.0.0'), // RFC 2543 hold (plain RTP only)
    sdp.replace(/c=IN IP4 [^\s/]+/g, 'c=IN IP4 0.0.0.0').replace(/(m=audio[^\r\n]*)/, '$1\r\na=recvonly'),
    sdp.replace(/m=audio \d+/, 'm=audio 0'), // no active audio stream
    sdp.replace(/\r\n/g, '\n'),
  ]);
  let compared = 0;
  for (const sdp of variants) {
    let expected: Direction | undefined;
    try {
      expected = parseDirection(sdp);
    } catch {
      expected = undefined;
    }
    assert.equal(scanDirection(sdp), expected, sdp.slice(0, 400));
    compared++;
  }
  assert.ok(compared >= 7 * 17, `${compared} SDPs compared`);
});

test('withDirection: hold and resume our own trunk offer, o= version +1 each time', () => {
  const o = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), G711, TRUNK_LOCAL);
  const hold = withDirection(o.sdp, 'sendonly');
  assert.equal(hold.origin.sessionId, o.origin.sessionId);
  assert.equal(hold.origin.sessionVersion, o.origin.sessionVersion + 1);
  assert.equal(reparse(hold.sdp).media[0]!.direction, 'sendonly');
  assert.equal(reparse(hold.sdp).media[0]!.connection?.ip, '127.0.0.2');
  const legacy = withDirection(o.sdp, 'inactive', { legacyHold: true });
  assert.equal(reparse(legacy.sdp).media[0]!.connection?.ip, '0.0.0.0');
  assert.equal(parseDirection(legacy.sdp), 'inactive');
  const resume = withDirection(legacy.sdp, 'sendrecv', { legacyHold: true });
  assert.equal(reparse(resume.sdp).media[0]!.connection?.ip, '127.0.0.2');
  assert.equal(resume.origin.sessionVersion, o.origin.sessionVersion + 2);
});

test('withDirection on our WebRTC offer never writes c=0.0.0.0 (RFC 2543 hold is for plain RTP)', () => {
  const o = rtpOfferToWebrtcOffer(testdata('sipp-uac-offer.sdp'), G711, ICE, WEBRTC_LOCAL);
  const hold = withDirection(o.sdp, 'sendonly', { legacyHold: true });
  const m = reparse(hold.sdp).media[0]!;
  assert.equal(m.direction, 'sendonly');
  assert.equal(m.connection?.ip, '127.0.0.1');
  assert.equal(m.iceUfrag, ICE.ufrag);
});

test('nextOrigin: fresh ids differ and fit 63 bits; a follow-up keeps the id', () => {
  const a = nextOrigin(undefined, '127.0.0.1');
  const b = nextOrigin(undefined, '127.0.0.1');
  assert.notEqual(a.sessionId, b.sessionId);
  assert.ok(BigInt(a.sessionId) < 2n ** 63n);
  assert.deepEqual(nextOrigin(a, '::1'), { ...a, sessionVersion: a.sessionVersion + 1, address: '::1' });
});
