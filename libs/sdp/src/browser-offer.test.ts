import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rtpAnswerToWebrtcAnswer, webrtcOfferToRtpOffer } from './index.js';
import type { CodecPolicy } from './index.js';
import { attrs, ICE, rawAttr, rawCandidates, reparse, sessionAttrs, testdata, TRUNK_LOCAL, WEBRTC_LOCAL } from './test-support.js';

const G711: CodecPolicy = { codecs: ['PCMU', 'PCMA', 'G722', 'telephone-event/8000'] };

test('Chromium offer -> RTP/AVP offer: profile, PTs, rtpmap, c=, nothing WebRTC-only', () => {
  const r = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), G711, TRUNK_LOCAL);
  const s = reparse(r.sdp);
  assert.equal(s.media.length, 1);
  const m = s.media[0]!;
  assert.equal(m.type, 'audio');
  assert.equal(m.protocol, 'RTP/AVP');
  assert.equal(m.port, 30000);
  assert.equal(m.connection?.ip, '127.0.0.2');
  assert.equal(s.origin.address, '127.0.0.2');
  // Policy order (PCMU, PCMA, G722), then telephone-event/8000 only: no 48 kHz events,
  // no opus, red or CN since the policy does not name them.
  assert.equal(m.payloads, '0 8 9 101');
  assert.deepEqual(attrs(r.sdp), [
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:9 G722/8000', 'a=rtpmap:101 telephone-event/8000',
    'a=ptime:20', 'a=sendrecv',
  ]);
  assert.deepEqual(sessionAttrs(r.sdp), []);
  for (const gone of ['ice-', 'fingerprint', 'setup', 'rtcp-mux', 'mid', 'group', 'extmap', 'ssrc', 'msid', 'rtcp-fb', 'candidate']) {
    assert.ok(!r.sdp.includes(`a=${gone}`), `a=${gone} must not reach the trunk`);
  }
  assert.deepEqual(r.session.codecs.map((c) => [c.name, c.webrtcPt, c.trunkPt]), [
    ['PCMU', 0, 0], ['PCMA', 8, 8], ['G722', 9, 9], ['telephone-event', 126, 101],
  ]);
  assert.deepEqual(r.session.bundle, ['0']);
  assert.equal(r.session.setup, 'actpass');
});

test('Chromium offer: the browser remote carries ICE, DTLS, SSRC and mid for libs/media', () => {
  const offer = testdata('chromium-live-offer.sdp');
  const r = webrtcOfferToRtpOffer(offer, G711, TRUNK_LOCAL);
  assert.equal(r.remote.ufrag, rawAttr(offer, 'ice-ufrag'));
  assert.equal(r.remote.pwd, rawAttr(offer, 'ice-pwd'));
  assert.equal(r.remote.fingerprint.algorithm, 'sha-256');
  assert.equal(`sha-256 ${r.remote.fingerprint.value}`, rawAttr(offer, 'fingerprint'));
  assert.match(r.remote.fingerprint.value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(r.remote.setup, 'actpass');
  assert.equal(r.remote.rtcpMux, true);
  assert.deepEqual(r.remote.ssrc, [Number(rawAttr(offer, 'ssrc').split(' ')[0])]);
  assert.equal(r.remote.mid, '0');
  assert.equal(r.remote.direction, 'sendrecv');
  assert.deepEqual(r.remote.candidates, []);
  assert.equal(r.remote.endOfCandidates, false);
});

test('trunk answer (sipp uas) -> WebRTC answer accepted field by field', () => {
  const o = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), G711, TRUNK_LOCAL);
  const a = rtpAnswerToWebrtcAnswer(o.session, testdata('sipp-uas-answer.sdp'), ICE, WEBRTC_LOCAL,
    { stream: { ssrc: 4242, cname: 'gw' } });
  const s = reparse(a.sdp);
  assert.equal(s.icelite, 'ice-lite');
  assert.deepEqual(s.groups?.map((g) => [g.type, String(g.mids)]), [['BUNDLE', '0']]);
  const m = s.media[0]!;
  assert.equal(m.protocol, 'UDP/TLS/RTP/SAVPF');
  assert.equal(m.port, 40000);
  assert.equal(m.connection?.ip, '127.0.0.1');
  assert.equal(String(m.payloads), '0');
  assert.equal(m.iceUfrag, 'tRpZ');
  assert.equal(m.icePwd, 'trapezoidIceLitePassword22');
  assert.deepEqual(m.fingerprint, { type: 'sha-256', hash: ICE.fingerprint.value });
  assert.equal(m.setup, 'passive');
  assert.equal(String(m.mid), '0');
  assert.equal(m.rtcpMux, 'rtcp-mux');
  assert.equal(m.direction, 'sendrecv');
  assert.equal(m.endOfCandidates, 'end-of-candidates');
  assert.deepEqual(attrs(a.sdp).filter((l) => l.startsWith('a=candidate')),
    ['a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host']);
  assert.deepEqual(m.ssrcs, [{ id: 4242, attribute: 'cname', value: 'gw' }, { id: 4242, attribute: 'msid', value: 'trapezoid audio' }]);
  assert.ok(!a.sdp.includes('a=rtcp:'), 'no a=rtcp (werift rejects it without an address)');
  // sipp answered PCMU only: no telephone-event reaches the browser.
  assert.deepEqual(a.mapping, [{ webrtcPt: 0, trunkPt: 0, codec: 'PCMU', clockRate: 8000 }]);
  assert.deepEqual(a.remote, { address: '127.0.0.1', port: 6000, rtcpPort: 6001, rtcpMux: false, direction: 'sendrecv' });
});

test('carrier answer with telephone-event/101 maps 126 <-> 101; 48 kHz events never paired with PCMU', () => {
  const policy: CodecPolicy = { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'], payloadTypes: { 'telephone-event/8000': 126 } };
  const o = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), policy, TRUNK_LOCAL);
  assert.match(o.sdp, /m=audio 30000 RTP\/AVP 0 8 126\r\n/);
  // The carrier answers with its own number (RFC 3264 §6.1 SHOULD, not MUST).
  const a = rtpAnswerToWebrtcAnswer(o.session, testdata('carrier-bandwidth-answer.sdp'), ICE, WEBRTC_LOCAL);
  assert.deepEqual(a.mapping, [
    { webrtcPt: 0, trunkPt: 0, codec: 'PCMU', clockRate: 8000 },
    { webrtcPt: 126, trunkPt: 101, codec: 'telephone-event', clockRate: 8000 },
  ]);
  const m = reparse(a.sdp).media[0]!;
  assert.equal(m.payloads, '0 126');
  assert.deepEqual(m.rtp, [{ payload: 0, codec: 'PCMU', rate: 8000 }, { payload: 126, codec: 'telephone-event', rate: 8000 }]);
  assert.ok(!a.sdp.includes('telephone-event/48000'));
  assert.deepEqual(a.remote, { address: '198.51.100.20', port: 20134, rtcpPort: 20135, rtcpMux: false, direction: 'sendrecv', ptime: 20 });
});

test('opus policy: 48 kHz telephone-event pairs with opus, 8 kHz with PCMU, and the answer keeps one', () => {
  const policy: CodecPolicy = { codecs: ['opus/48000/2', 'PCMU', 'telephone-event'] };
  const o = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), policy, TRUNK_LOCAL);
  assert.match(o.sdp, /m=audio 30000 RTP\/AVP 111 0 110 101\r\n/);
  assert.match(o.sdp, /a=rtpmap:111 opus\/48000\/2\r\n/);
  assert.match(o.sdp, /a=fmtp:111 minptime=10;useinbandfec=1\r\n/);
  const answer = 'v=0\r\no=- 1 1 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\n'
    + 'm=audio 7000 RTP/AVP 111 110 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:110 telephone-event/48000\r\n'
    + 'a=rtpmap:101 telephone-event/8000\r\n';
  const a = rtpAnswerToWebrtcAnswer(o.session, answer, ICE, WEBRTC_LOCAL);
  assert.deepEqual(a.mapping, [
    { webrtcPt: 111, trunkPt: 111, codec: 'opus', clockRate: 48000, channels: 2 },
    { webrtcPt: 110, trunkPt: 110, codec: 'telephone-event', clockRate: 48000 },
  ]);
  assert.match(a.sdp, /m=audio 40000 UDP\/TLS\/RTP\/SAVPF 111 110\r\n/);
});

test('audio+video offer: video rejected with port 0 and its mid, BUNDLE keeps the audio tag only', () => {
  const offer = testdata('chromium-live-audio-video-offer.sdp');
  const o = webrtcOfferToRtpOffer(offer, G711, TRUNK_LOCAL);
  assert.equal(reparse(o.sdp).media.length, 1, 'video is not forwarded to the trunk');
  assert.ok(!o.sdp.includes('m=video'));
  const a = rtpAnswerToWebrtcAnswer(o.session, testdata('sipp-uas-answer.sdp'), ICE, WEBRTC_LOCAL);
  const s = reparse(a.sdp);
  assert.equal(s.media.length, 2);
  assert.equal(String(s.media[0]!.mid), '0');
  assert.equal(s.media[1]!.type, 'video');
  assert.equal(s.media[1]!.port, 0);
  assert.equal(String(s.media[1]!.mid), '1');
  assert.equal(s.media[1]!.payloads, reparse(offer).media[1]!.payloads);
  // RFC 8843 §7.3.3; Chromium 156 accepted exactly this (testdata/chromium-accepted-answer-audio-video.sdp).
  assert.deepEqual(s.groups?.map((g) => [g.type, String(g.mids)]), [['BUNDLE', '0']]);
});

test('Firefox offer: session-level fingerprint, opus/109, G722/8000/1, telephone-event/101', () => {
  const o = webrtcOfferToRtpOffer(testdata('firefox-offer.sdp'), G711, TRUNK_LOCAL);
  assert.match(o.sdp, /m=audio 30000 RTP\/AVP 0 8 9 101\r\n/);
  assert.match(o.sdp, /a=fmtp:101 0-15\r\n/);
  assert.equal(o.remote.fingerprint.value.slice(0, 8), '3B:5C:1E');
  assert.equal(o.remote.ufrag, '4f2a9c1e');
  assert.deepEqual(o.remote.ssrc, [2655508255]);
  const a = rtpAnswerToWebrtcAnswer(o.session, testdata('carrier-bandwidth-answer.sdp'), ICE, WEBRTC_LOCAL);
  assert.deepEqual(a.mapping.map((x) => [x.webrtcPt, x.trunkPt]), [[0, 0], [101, 101]]);
  assert.match(a.sdp, /a=fmtp:101 0-15\r\n/);
});

test('JsSIP (Chromium, gathering complete): candidates and real port read, no end-of-candidates', () => {
  const offer = testdata('jssip-chromium-offer.sdp');
  const o = webrtcOfferToRtpOffer(offer, G711, TRUNK_LOCAL);
  const raw = rawCandidates(offer);
  const port = Number(/^m=audio (\d+) /m.exec(offer)?.[1]);
  assert.ok(port > 9, 'JsSIP sends the real port after gathering');
  assert.equal(o.remote.port, port);
  assert.equal(o.remote.address, '127.0.0.1');
  assert.ok(raw.length >= 2);
  assert.equal(o.remote.candidates.length, raw.length);
  o.remote.candidates.forEach((c, i) => {
    const f = raw[i] as string[];
    assert.deepEqual([c.foundation, String(c.component), c.transport, String(c.priority), c.address, String(c.port), c.type],
      [f[0], f[1], (f[2] as string).toLowerCase(), f[3], f[4], f[5], f[7]]);
    if (c.transport === 'tcp') assert.equal(c.tcpType, 'active');
  });
  assert.deepEqual(o.remote.candidates[0], {
    foundation: raw[0]![0], component: 1, transport: 'udp', priority: Number(raw[0]![3]), address: '127.0.0.1', port, type: 'host',
  });
  assert.ok(o.remote.candidates.some((c) => c.address === '::1'), 'Chromium gathers ::1 with loopback allowed');
});

test('werift offer (recorded): OPUS upper-case, PCMU only common codec with a G.711 policy', () => {
  const o = webrtcOfferToRtpOffer(testdata('werift-offer.sdp'), G711, TRUNK_LOCAL);
  assert.match(o.sdp, /m=audio 30000 RTP\/AVP 0\r\n/);
  assert.equal(o.remote.candidates[0]!.address, '192.0.2.2');
  assert.equal(o.remote.endOfCandidates, true);
  const withOpus = webrtcOfferToRtpOffer(testdata('werift-offer.sdp'), { codecs: ['opus/48000/2', 'PCMU'] }, TRUNK_LOCAL);
  assert.match(withOpus.sdp, /a=rtpmap:96 OPUS\/48000\/2\r\n/);
});

test('browser hold (sendonly) reaches the trunk as sendonly, or c=0.0.0.0 with legacyHold; trunk recvonly -> browser recvonly', () => {
  const held = testdata('chromium-live-offer.sdp').replace('a=sendrecv', 'a=sendonly');
  const o = webrtcOfferToRtpOffer(held, G711, TRUNK_LOCAL);
  assert.match(o.sdp, /a=sendonly\r\n/);
  assert.match(o.sdp, /c=IN IP4 127.0.0.2\r\n/);
  const legacy = webrtcOfferToRtpOffer(held, G711, TRUNK_LOCAL, { legacyHold: true });
  assert.match(legacy.sdp, /m=audio 30000 RTP\/AVP[^\r]*\r\nc=IN IP4 0.0.0.0\r\n/);
  const answer = testdata('sipp-uas-answer.sdp').replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:0 PCMU/8000\r\na=recvonly');
  const a = rtpAnswerToWebrtcAnswer(o.session, answer, ICE, WEBRTC_LOCAL);
  assert.equal(reparse(a.sdp).media[0]!.direction, 'recvonly');
  // An answer that claims more than the offer allows is clamped (RFC 3264 §6.1).
  const b = rtpAnswerToWebrtcAnswer(o.session, testdata('sipp-uas-answer.sdp'), ICE, WEBRTC_LOCAL);
  assert.equal(reparse(b.sdp).media[0]!.direction, 'recvonly');
});

test('re-offer on the same leg keeps the o= session id and increments the version (RFC 3264 §8)', () => {
  const first = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), G711, TRUNK_LOCAL);
  const second = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), G711, TRUNK_LOCAL, { origin: first.origin });
  assert.equal(second.origin.sessionId, first.origin.sessionId);
  assert.equal(second.origin.sessionVersion, first.origin.sessionVersion + 1);
  const o1 = reparse(first.sdp).origin;
  const o2 = reparse(second.sdp).origin;
  assert.equal(String(o2.sessionId), String(o1.sessionId));
  assert.equal(o2.sessionVersion, o1.sessionVersion + 1);
});

test('DTLS role: actpass -> passive by default or active when asked; active offer -> passive', () => {
  const o = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), G711, TRUNK_LOCAL);
  const act = rtpAnswerToWebrtcAnswer(o.session, testdata('sipp-uas-answer.sdp'), { ...ICE, setup: 'active' }, WEBRTC_LOCAL);
  assert.equal(reparse(act.sdp).media[0]!.setup, 'active');
  const forced = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp').replace('a=setup:actpass', 'a=setup:active'), G711, TRUNK_LOCAL);
  const p = rtpAnswerToWebrtcAnswer(forced.session, testdata('sipp-uas-answer.sdp'), { ...ICE, setup: 'active' }, WEBRTC_LOCAL);
  assert.equal(reparse(p.sdp).media[0]!.setup, 'passive');
});

test('offer state is plain JSON: a round trip through JSON (Redis) gives the same answer', () => {
  const o = webrtcOfferToRtpOffer(testdata('chromium-live-audio-video-offer.sdp'), G711, TRUNK_LOCAL);
  const restored = JSON.parse(JSON.stringify(o.session));
  const a1 = rtpAnswerToWebrtcAnswer(o.session, testdata('carrier-bandwidth-answer.sdp'), ICE, WEBRTC_LOCAL, { origin: o.origin });
  const a2 = rtpAnswerToWebrtcAnswer(restored, testdata('carrier-bandwidth-answer.sdp'), ICE, WEBRTC_LOCAL, { origin: o.origin });
  assert.equal(a2.sdp, a1.sdp);
  assert.deepEqual(a2.mapping, a1.mapping);
});

test('data channel m-line is rejected (port 0, UDP/DTLS/SCTP webrtc-datachannel, mid kept)', () => {
  const offer = testdata('chromium-live-offer.sdp').replace('a=group:BUNDLE 0', 'a=group:BUNDLE 0 1')
    + 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n';
  const o = webrtcOfferToRtpOffer(offer, G711, TRUNK_LOCAL);
  assert.ok(!o.sdp.includes('m=application'));
  const a = rtpAnswerToWebrtcAnswer(o.session, testdata('sipp-uas-answer.sdp'), ICE, WEBRTC_LOCAL);
  assert.match(a.sdp, /\r\nm=application 0 UDP\/DTLS\/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n$/);
  assert.match(a.sdp, /a=group:BUNDLE 0\r\n/);
});
