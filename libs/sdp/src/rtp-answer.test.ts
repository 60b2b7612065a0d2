import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerRtpOffer, NoCommonCodecError, NotAcceptableSdpError, webrtcOfferToRtpOffer } from './index.js';
import { attrs, reparse, testdata, TRUNK_LOCAL, WEBRTC_LOCAL } from './test-support.js';

const ECHO = { codecs: ['PCMU', 'PCMA', 'G722', 'opus', 'telephone-event'] };

test('the RTP offer the gateway makes from a Chromium offer is answered with its own PTs, ptime and sendrecv', () => {
  const gatewayOffer = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] }, WEBRTC_LOCAL);
  const a = answerRtpOffer(gatewayOffer.sdp, ECHO, TRUNK_LOCAL);
  const s = reparse(a.sdp);
  assert.equal(s.media.length, 1);
  const m = s.media[0]!;
  assert.deepEqual([m.protocol, m.port, m.connection?.ip, m.payloads], ['RTP/AVP', 30000, '127.0.0.2', '0 8 101']);
  assert.deepEqual(attrs(a.sdp), ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:20', 'a=sendrecv']);
  assert.deepEqual([a.remote.address, a.remote.port], ['127.0.0.1', 40000]);
});

test('a PBX audio+video offer: audio answered in policy order, video rejected in place, rtcp-mux only when asked', () => {
  const offer = testdata('pbx-audio-video-offer.sdp');
  const plain = answerRtpOffer(offer, ECHO, TRUNK_LOCAL);
  const s = reparse(plain.sdp);
  assert.deepEqual(s.media.map((m) => [m.type, m.port, String(m.payloads)]), [['audio', 30000, '0 8 9 101'], ['video', 0, '99']]);
  assert.ok(!attrs(plain.sdp).includes('a=rtcp-mux'));
  assert.ok(attrs(answerRtpOffer(offer, ECHO, TRUNK_LOCAL, { rtcpMux: true }).sdp).includes('a=rtcp-mux'));
});

test('a held offer (sendonly) is answered recvonly', () => {
  const held = testdata('carrier-twilio-offer.sdp').replace('a=sendrecv', 'a=sendonly');
  assert.ok(attrs(answerRtpOffer(held, ECHO, TRUNK_LOCAL).sdp).includes('a=recvonly'));
});

test('no allowed codec is 488 No common codec; RTP/SAVP is 488', () => {
  assert.throws(() => answerRtpOffer(testdata('carrier-g729-offer.sdp'), { codecs: ['opus'] }, TRUNK_LOCAL),
    (e: unknown) => e instanceof NoCommonCodecError && e.status === 488);
  assert.throws(() => answerRtpOffer(testdata('carrier-sdes-offer.sdp'), ECHO, TRUNK_LOCAL),
    (e: unknown) => e instanceof NotAcceptableSdpError && e.status === 488 && /RTP\/SAVP/.test(e.reason));
});
