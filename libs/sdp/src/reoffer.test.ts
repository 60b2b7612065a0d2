// Later offers in an established call (RFC 3264 §8): hold and resume from either side
// must keep each leg's m-lines, mids, payload types and DTLS role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rtpAnswerToWebrtcAnswer, rtpOfferToWebrtcOffer, webrtcAnswerToRtpAnswer, webrtcOfferToRtpOffer } from './index.js';
import { ICE, reparse, testdata, TRUNK_LOCAL, WEBRTC_LOCAL } from './test-support.js';

const G711 = { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] };

test('browser-originated call, trunk puts it on hold: the browser re-offer mirrors its own m-lines', () => {
  const o = webrtcOfferToRtpOffer(testdata('chromium-live-audio-video-offer.sdp'), G711, TRUNK_LOCAL);
  const a = rtpAnswerToWebrtcAnswer(o.session, testdata('carrier-bandwidth-answer.sdp'), ICE, WEBRTC_LOCAL);
  assert.deepEqual(a.mapping.map((m) => [m.webrtcPt, m.trunkPt]), [[0, 0], [126, 101]]);
  // The carrier re-INVITEs with a=sendonly (RFC 3264 §8.4 hold).
  const hold = rtpOfferToWebrtcOffer(testdata('carrier-telnyx-hold-offer.sdp'), G711, ICE, WEBRTC_LOCAL,
    { established: a.negotiated, origin: a.origin });
  const s = reparse(hold.sdp);
  assert.equal(s.origin.sessionVersion, a.origin.sessionVersion + 1);
  assert.equal(String(s.origin.sessionId), a.origin.sessionId);
  assert.equal(s.media.length, 2, 'the rejected video m-line stays (RFC 3264 §8)');
  const [audio, video] = s.media as [typeof s.media[0], typeof s.media[0]];
  assert.equal(String(audio.mid), '0');
  assert.equal(audio.direction, 'sendonly');
  assert.equal(audio.payloads, '0 8 126', 'telephone-event keeps the browser\'s 126, not the trunk\'s 101');
  assert.equal(audio.setup, 'passive', 'our DTLS role is kept, not actpass (RFC 8842 §5.5)');
  assert.equal(video.port, 0);
  assert.equal(String(video.mid), '1');
  assert.deepEqual(s.groups?.map((g) => String(g.mids)), ['0']);
  // The browser answers recvonly; the trunk gets one m-line, its own PTs, recvonly.
  const browserAnswer = 'v=0\r\no=- 5 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n'
    + 'm=audio 9 UDP/TLS/RTP/SAVPF 0 126\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n'
    + `a=fingerprint:sha-256 ${ICE.fingerprint.value}\r\na=setup:active\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n`
    + 'a=rtpmap:0 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\n'
    + 'm=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n';
  const back = webrtcAnswerToRtpAnswer(hold.session, browserAnswer, TRUNK_LOCAL);
  assert.match(back.sdp, /m=audio 30000 RTP\/AVP 0 101\r\n/);
  assert.match(back.sdp, /a=recvonly\r\n/);
  assert.equal(back.sdp.match(/^m=/gm)?.length, 1);
  assert.deepEqual(back.mapping.map((m) => [m.webrtcPt, m.trunkPt]), [[0, 0], [126, 101]]);
  assert.equal(back.negotiated.webrtc.setup, 'passive');
});

test('trunk-originated call, browser holds: the trunk re-offer keeps the trunk\'s m-lines and PTs', () => {
  const o = rtpOfferToWebrtcOffer(testdata('pbx-audio-video-offer.sdp'), G711, ICE, WEBRTC_LOCAL);
  const answer = testdata('chromium-live-answer.sdp').replace('m=audio 9 UDP/TLS/RTP/SAVPF 0 8 101', 'm=audio 9 UDP/TLS/RTP/SAVPF 0 101')
    .replace('a=rtpmap:8 PCMA/8000\r\n', '');
  const a = webrtcAnswerToRtpAnswer(o.session, answer, TRUNK_LOCAL);
  assert.equal(a.negotiated.webrtc.setup, 'passive', 'Chromium answered active');
  assert.equal(a.negotiated.trunk.media.length, 2);
  // The browser re-offers with a=sendonly (and actpass, as Chromium 156 does in re-offers);
  // its telephone-event is numbered 126 this time.
  const reoffer = testdata('chromium-live-offer.sdp').replace('a=sendrecv', 'a=sendonly');
  const r = webrtcOfferToRtpOffer(reoffer, G711, TRUNK_LOCAL, { established: a.negotiated, origin: a.origin });
  const s = reparse(r.sdp);
  assert.equal(s.origin.sessionVersion, a.origin.sessionVersion + 1);
  assert.equal(s.media.length, 2, 'the PBX\'s video m-line is re-offered disabled');
  assert.equal(s.media[0]!.payloads, '0 8 101');
  assert.equal(s.media[0]!.direction, 'sendonly');
  assert.equal(s.media[1]!.type, 'video');
  assert.equal(s.media[1]!.port, 0);
  assert.equal(String(s.media[1]!.payloads), '99');
  // The PBX answers with two m-lines; our WebRTC answer keeps the role passive.
  const pbxAnswer = testdata('pbx-audio-video-offer.sdp').replace('a=sendrecv', 'a=recvonly').replace('m=video 12036', 'm=video 0');
  // Even when configured to prefer active, the role in use (passive) is kept.
  const w = rtpAnswerToWebrtcAnswer(r.session, pbxAnswer, { ...ICE, setup: 'active' }, WEBRTC_LOCAL);
  const m = reparse(w.sdp).media[0]!;
  assert.equal(m.setup, 'passive');
  assert.equal(m.direction, 'recvonly');
  assert.equal(m.payloads, '0 8 126', 'the PBX accepted 0 8 101 of our 0 8 101');
  assert.deepEqual(w.mapping.map((x) => [x.webrtcPt, x.trunkPt]), [[0, 0], [8, 8], [126, 101]]);
});

test('IPv6 endpoints: c=IN IP6, o= IP6, candidate on ::1', () => {
  const six = { address: '::1', port: 41000 };
  const o = rtpOfferToWebrtcOffer(testdata('sipp-uac-offer.sdp').replace(/IN IP4 127.0.0.1/g, 'IN IP6 ::1'), G711, ICE, six);
  assert.match(o.sdp, /^o=- \d+ 1 IN IP6 ::1\r\n/m);
  assert.match(o.sdp, /c=IN IP6 ::1\r\n/);
  assert.match(o.sdp, /a=candidate:1 1 udp 2130706431 ::1 41000 typ host\r\n/);
  assert.equal(o.remote.address, '::1');
});

test('Chromium\'s real hold re-offer (actpass, sendonly) after our offer: trunk gets sendonly, DTLS role kept', () => {
  const trunkOffer = 'v=0\r\no=root 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8 101\r\n'
    + 'a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n';
  const o = rtpOfferToWebrtcOffer(trunkOffer, G711, ICE, WEBRTC_LOCAL);
  const a = webrtcAnswerToRtpAnswer(o.session, testdata('chromium-live-answer.sdp'), TRUNK_LOCAL);
  const hold = testdata('chromium-live-hold-reoffer.sdp');
  const r = webrtcOfferToRtpOffer(hold, G711, TRUNK_LOCAL, { established: a.negotiated, origin: a.origin });
  assert.equal(r.remote.setup, 'actpass');
  assert.equal(r.remote.direction, 'sendonly');
  assert.match(r.sdp, /m=audio 30000 RTP\/AVP 0 8 101\r\n/);
  assert.match(r.sdp, /a=sendonly\r\n/);
  const w = rtpAnswerToWebrtcAnswer(r.session, trunkOffer.replace('a=ptime:20', 'a=ptime:20\r\na=recvonly'), { ...ICE, setup: 'active' }, WEBRTC_LOCAL,
    { origin: o.origin });
  const m = reparse(w.sdp).media[0]!;
  assert.equal(m.setup, 'passive');
  assert.equal(m.direction, 'recvonly');
  assert.equal(reparse(w.sdp).origin.sessionVersion, o.origin.sessionVersion + 1);
});
