import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoCommonCodecError, rtpOfferToWebrtcOffer, webrtcAnswerToRtpAnswer } from './index.js';
import type { CodecPolicy, SdesCrypto } from './index.js';
import { attrs, ICE, rawAttr, reparse, sessionAttrs, testdata, TRUNK_LOCAL, WEBRTC_LOCAL } from './test-support.js';

const G711: CodecPolicy = { codecs: ['PCMU', 'PCMA', 'G722', 'telephone-event/8000'] };
const STREAM = { ssrc: 0x1234567, cname: 'trapezoid' };

test('Twilio-style offer -> WebRTC offer: ICE-lite, actpass, BUNDLE 0, candidate, ssrc/msid', () => {
  const r = rtpOfferToWebrtcOffer(testdata('carrier-twilio-offer.sdp'), G711, ICE, WEBRTC_LOCAL, { stream: STREAM });
  const s = reparse(r.sdp);
  assert.deepEqual(sessionAttrs(r.sdp), ['a=ice-lite', 'a=group:BUNDLE 0']);
  assert.equal(s.media.length, 1);
  const m = s.media[0]!;
  assert.equal(m.protocol, 'UDP/TLS/RTP/SAVPF');
  assert.equal(m.port, 40000);
  assert.equal(m.connection?.ip, '127.0.0.1');
  assert.equal(m.payloads, '0 8 101');
  assert.deepEqual(attrs(r.sdp), [
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
    'a=setup:actpass', 'a=mid:0', 'a=msid:trapezoid audio', 'a=sendrecv', 'a=ice-ufrag:tRpZ',
    'a=ice-pwd:trapezoidIceLitePassword22', `a=fingerprint:sha-256 ${ICE.fingerprint.value}`,
    'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host', 'a=end-of-candidates',
    'a=ssrc:19088743 cname:trapezoid', 'a=ssrc:19088743 msid:trapezoid audio', 'a=rtcp-mux',
  ]);
  assert.deepEqual(r.remote, { address: '203.0.113.10', port: 17562, rtcpPort: 17563, rtcpMux: false, direction: 'sendrecv', ptime: 20 });
  assert.equal(r.session.offerer, 'trunk');
  assert.equal(r.session.ptime, 20);
});

test('Chromium answer (live-captured) -> RTP answer for the trunk, PT mapping identity', () => {
  const trunkOffer = 'v=0\r\no=root 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8 101\r\n'
    + 'a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n';
  const o = rtpOfferToWebrtcOffer(trunkOffer, { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] }, ICE, WEBRTC_LOCAL);
  const a = webrtcAnswerToRtpAnswer(o.session, testdata('chromium-live-answer.sdp'), TRUNK_LOCAL);
  const s = reparse(a.sdp);
  assert.equal(s.media.length, 1);
  const m = s.media[0]!;
  assert.equal(m.protocol, 'RTP/AVP');
  assert.equal(m.port, 30000);
  assert.equal(m.connection?.ip, '127.0.0.2');
  assert.equal(m.payloads, '0 8 101');
  assert.deepEqual(attrs(a.sdp), [
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
    'a=ptime:20', 'a=sendrecv',
  ]);
  assert.deepEqual(a.mapping, [
    { webrtcPt: 0, trunkPt: 0, codec: 'PCMU', clockRate: 8000 },
    { webrtcPt: 8, trunkPt: 8, codec: 'PCMA', clockRate: 8000 },
    { webrtcPt: 101, trunkPt: 101, codec: 'telephone-event', clockRate: 8000 },
  ]);
  assert.equal(a.remote.setup, 'active');
  const chromium = testdata('chromium-live-answer.sdp');
  assert.equal(a.remote.ufrag, rawAttr(chromium, 'ice-ufrag'));
  assert.deepEqual(a.remote.ssrc, [Number(rawAttr(chromium, 'ssrc').split(' ')[0])]);
  assert.equal(a.remote.rtcpMux, true);
});

test('sipp uac offer (PCMU only) -> WebRTC offer with PCMU only', () => {
  const r = rtpOfferToWebrtcOffer(testdata('sipp-uac-offer.sdp'), G711, ICE, WEBRTC_LOCAL);
  assert.match(r.sdp, /m=audio 40000 UDP\/TLS\/RTP\/SAVPF 0\r\n/);
  assert.ok(!r.sdp.includes('a=ssrc'), 'no a=ssrc without a stream');
  assert.deepEqual(r.remote, { address: '127.0.0.1', port: 6000, rtcpPort: 6001, rtcpMux: false, direction: 'sendrecv' });
});

test('PBX audio+video offer: only audio reaches the browser; the trunk answer rejects video with port 0', () => {
  const r = rtpOfferToWebrtcOffer(testdata('pbx-audio-video-offer.sdp'), G711, ICE, WEBRTC_LOCAL);
  const offer = reparse(r.sdp);
  assert.equal(offer.media.length, 1);
  assert.equal(offer.media[0]!.payloads, '0 8 9 101', 'policy order, not the PBX order 9 0 8');
  assert.equal(r.remote.rtcpMux, true);
  assert.equal(r.remote.rtcpPort, undefined);
  const browserAnswer = testdata('chromium-live-answer.sdp').replace('m=audio 9 UDP/TLS/RTP/SAVPF 0 8 101', 'm=audio 9 UDP/TLS/RTP/SAVPF 9 101')
    .replace('a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000', 'a=rtpmap:9 G722/8000');
  const a = webrtcAnswerToRtpAnswer(r.session, browserAnswer, TRUNK_LOCAL, { rtcpMux: true });
  const s = reparse(a.sdp);
  assert.equal(s.media.length, 2);
  assert.equal(s.media[0]!.payloads, '9 101');
  assert.equal(s.media[0]!.rtcpMux, 'rtcp-mux');
  assert.equal(s.media[1]!.type, 'video');
  assert.equal(s.media[1]!.port, 0);
  assert.equal(String(s.media[1]!.payloads), '99');
  assert.equal(s.media[1]!.protocol, 'RTP/AVP');
  assert.equal(a.sdp.match(/^m=/gm)?.length, 2);
});

test('Telnyx-style hold (a=sendonly) -> browser offered sendonly; browser recvonly -> trunk recvonly', () => {
  const r = rtpOfferToWebrtcOffer(testdata('carrier-telnyx-hold-offer.sdp'), G711, ICE, WEBRTC_LOCAL);
  assert.equal(r.remote.direction, 'sendonly');
  assert.equal(reparse(r.sdp).media[0]!.direction, 'sendonly');
  const answer = testdata('chromium-live-answer.sdp').replace('a=sendrecv', 'a=recvonly');
  const a = webrtcAnswerToRtpAnswer(r.session, answer, TRUNK_LOCAL);
  assert.equal(reparse(a.sdp).media[0]!.direction, 'recvonly');
});

test('RFC 2543 hold (c=0.0.0.0, no direction) is read as sendonly; with legacyHold our hold answer is c=0.0.0.0', () => {
  const r = rtpOfferToWebrtcOffer(testdata('carrier-rfc2543-hold-offer.sdp'), G711, ICE, WEBRTC_LOCAL);
  assert.equal(r.remote.address, '0.0.0.0');
  assert.equal(r.remote.direction, 'sendonly');
  assert.equal(reparse(r.sdp).media[0]!.direction, 'sendonly');
  assert.equal(reparse(r.sdp).media[0]!.connection?.ip, '127.0.0.1', 'the browser offer keeps our real address');
  const answer = testdata('chromium-live-answer.sdp').replace('a=sendrecv', 'a=inactive');
  const a = webrtcAnswerToRtpAnswer(r.session, answer, TRUNK_LOCAL, { legacyHold: true });
  const m = reparse(a.sdp).media[0]!;
  assert.equal(m.direction, 'inactive');
  assert.equal(m.connection?.ip, '0.0.0.0');
});

test('G729-only carrier -> NoCommonCodecError 488 naming both sides', () => {
  assert.throws(
    () => rtpOfferToWebrtcOffer(testdata('carrier-g729-offer.sdp'), { codecs: ['PCMU', 'PCMA'] }, ICE, WEBRTC_LOCAL),
    (e: unknown) => e instanceof NoCommonCodecError && e.status === 488
      && e.reason === 'No common codec: offered G729/8000; allowed PCMU, PCMA',
  );
});

test('Chromium offer with a G729-only policy -> 488 listing opus/48000 and friends', () => {
  assert.throws(
    () => rtpOfferToWebrtcOffer(testdata('chromium-live-offer.sdp').replace(/UDP\/TLS\/RTP\/SAVPF/, 'RTP/AVP'), { codecs: ['G729'] }, ICE, WEBRTC_LOCAL),
    (e: unknown) => e instanceof NoCommonCodecError && e.status === 488
      && e.reason === 'No common codec: offered opus/48000, G722/8000, PCMU/8000, PCMA/8000; allowed G729',
  );
});

test('SDES trunk (RTP/SAVP): keys read from the offer; the answer keeps RTP/SAVP and carries our key', () => {
  const r = rtpOfferToWebrtcOffer(testdata('carrier-sdes-offer.sdp'), G711, ICE, WEBRTC_LOCAL);
  assert.equal(r.remote.crypto?.length, 2);
  assert.deepEqual(r.remote.crypto?.[0], {
    tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', keyParams: 'inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:1',
  });
  const ours: SdesCrypto[] = [{ tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', keyParams: 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^31' }];
  const a = webrtcAnswerToRtpAnswer(r.session, testdata('chromium-live-answer.sdp'), TRUNK_LOCAL, { crypto: ours });
  assert.match(a.sdp, /m=audio 30000 RTP\/SAVP 0 8 101\r\n/);
  assert.match(a.sdp, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\|2\^31\r\n/);
  assert.throws(() => webrtcAnswerToRtpAnswer(r.session, testdata('chromium-live-answer.sdp'), TRUNK_LOCAL),
    (e: unknown) => e instanceof Error && (e as { status?: number }).status === 488);
});

test('werift answer with OPUS/48000/2 listed first still maps the G.711 codec the trunk offered', () => {
  const r = rtpOfferToWebrtcOffer(testdata('sipp-uac-offer.sdp'), G711, ICE, WEBRTC_LOCAL);
  const answer = testdata('werift-offer.sdp').replace('a=setup:actpass', 'a=setup:active');
  const a = webrtcAnswerToRtpAnswer(r.session, answer, TRUNK_LOCAL);
  assert.deepEqual(a.mapping, [{ webrtcPt: 0, trunkPt: 0, codec: 'PCMU', clockRate: 8000 }]);
  assert.match(a.sdp, /m=audio 30000 RTP\/AVP 0\r\n/);
});
