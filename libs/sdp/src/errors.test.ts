import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MalformedSdpError, NoCommonCodecError, NotAcceptableSdpError, parseCodecPolicy, rtpAnswerToWebrtcAnswer,
  rtpOfferToWebrtcOffer, SdpError, SdpUsageError, webrtcAnswerToRtpAnswer, webrtcOfferToRtpOffer,
} from './index.js';
import type { CodecPolicy } from './index.js';
import { ICE, testdata, TRUNK_LOCAL, WEBRTC_LOCAL } from './test-support.js';

const G711: CodecPolicy = { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] };
const CHROME = testdata('chromium-live-offer.sdp');
const SIPP = testdata('sipp-uac-offer.sdp');

function rejects(fn: () => unknown, status: number, reason: RegExp, type: new (...a: never[]) => SdpError = SdpError): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.equal((e as SdpError).status, status);
    assert.match((e as SdpError).reason, reason);
    return true;
  });
}

test('Chromium offer against a G729/G723 policy -> NoCommonCodecError 488 naming both sides', () => {
  rejects(() => webrtcOfferToRtpOffer(CHROME, { codecs: ['G729', 'G723', 'telephone-event'] }, TRUNK_LOCAL), 488,
    /^No common codec: offered opus\/48000, G722\/8000, PCMU\/8000, PCMA\/8000; allowed G729, G723$/, NoCommonCodecError);
});

const malformed: [string, string, RegExp][] = [
  ['empty body', '', /is empty/],
  ['not SDP', 'hello world\r\n', /does not start with v=0/],
  ['v=1', SIPP.replace('v=0', 'v=1'), /does not start with v=0/],
  ['garbage line', SIPP.replace('s=-', 's=-\r\nthis is not sdp'), /line 4 is not <type>=<value>/],
  ['no o=', SIPP.replace(/o=[^\r]*\r\n/, ''), /no o= line/],
  ['bad o=', SIPP.replace('IN IP4 127.0.0.1\r\ns=', 'IN IPX 127.0.0.1\r\ns='), /malformed o= line/],
  ['bad c=', SIPP.replace('c=IN IP4 127.0.0.1', 'c=IN IP4'), /malformed c= line/],
  ['no c= anywhere', SIPP.replace(/c=[^\r]*\r\n/, ''), /no c= for m=audio/],
  ['port > 65535', SIPP.replace('m=audio 6000', 'm=audio 70000'), /malformed m= line/],
  ['m= without formats', SIPP.replace('RTP/AVP 0', 'RTP/AVP'), /malformed m= line/],
  ['m= port not a number', SIPP.replace('m=audio 6000', 'm=audio abc'), /malformed m= line/],
  ['huge', `${SIPP}${'a=x:y\r\n'.repeat(20000)}`, /larger than/],
];

for (const [name, body, reason] of malformed) {
  test(`malformed trunk offer (${name}) -> MalformedSdpError 400`, () => {
    rejects(() => rtpOfferToWebrtcOffer(body, G711, ICE, WEBRTC_LOCAL), 400, reason, MalformedSdpError);
  });
}

test('malformed WebRTC offer -> 400; a non-string body -> 400', () => {
  rejects(() => webrtcOfferToRtpOffer(CHROME.replace('v=0', 'v=9'), G711, TRUNK_LOCAL), 400, /WebRTC offer does not start/, MalformedSdpError);
  rejects(() => webrtcOfferToRtpOffer(undefined as unknown as string, G711, TRUNK_LOCAL), 400, /empty/, MalformedSdpError);
});

test('WebRTC offer without DTLS fingerprint or ICE credentials -> 488', () => {
  rejects(() => webrtcOfferToRtpOffer(CHROME.replace(/a=fingerprint[^\r\n]*\r?\n/, ''), G711, TRUNK_LOCAL), 488, /no a=fingerprint/, NotAcceptableSdpError);
  rejects(() => webrtcOfferToRtpOffer(CHROME.replace(/a=ice-pwd[^\r\n]*\r?\n/, ''), G711, TRUNK_LOCAL), 488, /no a=ice-ufrag/, NotAcceptableSdpError);
  rejects(() => webrtcOfferToRtpOffer(CHROME.replace('a=setup:actpass', 'a=setup:holdconn'), G711, TRUNK_LOCAL), 488, /a=setup:holdconn/);
});

test('plain RTP where WebRTC is expected and the other way round -> 488', () => {
  rejects(() => webrtcOfferToRtpOffer(SIPP, G711, TRUNK_LOCAL), 488, /uses RTP\/AVP; expected UDP\/TLS\/RTP\/SAVPF/, NotAcceptableSdpError);
  rejects(() => rtpOfferToWebrtcOffer(CHROME, G711, ICE, WEBRTC_LOCAL), 488, /uses UDP\/TLS\/RTP\/SAVPF; expected RTP\/AVP/);
});

test('no audio stream (video only, or every m-line disabled) -> 488', () => {
  const video = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n';
  rejects(() => rtpOfferToWebrtcOffer(video, G711, ICE, WEBRTC_LOCAL), 488, /no audio stream/);
  rejects(() => rtpOfferToWebrtcOffer(SIPP.replace('m=audio 6000', 'm=audio 0'), G711, ICE, WEBRTC_LOCAL), 488, /no audio stream/);
});

test('no common codec in an answer -> 488; trunk rejecting audio -> 488; wrong m-line count -> 400', () => {
  const o = webrtcOfferToRtpOffer(CHROME, G711, TRUNK_LOCAL);
  const g729 = testdata('carrier-g729-offer.sdp');
  rejects(() => rtpAnswerToWebrtcAnswer(o.session, g729, ICE, WEBRTC_LOCAL), 488,
    /^No common codec: offered G729\/8000; allowed PCMU\/8000, PCMA\/8000$/, NoCommonCodecError);
  rejects(() => rtpAnswerToWebrtcAnswer(o.session, SIPP.replace('m=audio 6000', 'm=audio 0'), ICE, WEBRTC_LOCAL), 488, /rejected the audio/);
  const two = `${SIPP}m=video 0 RTP/AVP 99\r\n`;
  rejects(() => rtpAnswerToWebrtcAnswer(o.session, two, ICE, WEBRTC_LOCAL), 400, /2 m-lines; the offer had 1/, MalformedSdpError);
  rejects(() => rtpAnswerToWebrtcAnswer(o.session, SIPP.replace('RTP/AVP', 'RTP/SAVP'), ICE, WEBRTC_LOCAL), 488, /answered RTP\/SAVP to an RTP\/AVP offer/);
});

test('browser answer with a=setup:actpass -> 400 (RFC 8842 §5.3); browser rejecting audio -> 488', () => {
  const o = rtpOfferToWebrtcOffer(SIPP, G711, ICE, WEBRTC_LOCAL);
  const answer = testdata('chromium-live-answer.sdp');
  rejects(() => webrtcAnswerToRtpAnswer(o.session, answer.replace('a=setup:active', 'a=setup:actpass'), TRUNK_LOCAL), 400, /actpass/);
  rejects(() => webrtcAnswerToRtpAnswer(o.session, answer.replace('m=audio 9', 'm=audio 0'), TRUNK_LOCAL), 488, /browser rejected/);
});

test('our own bad input is a typed 500: policy, ICE parameters, endpoint, offer state', () => {
  rejects(() => webrtcOfferToRtpOffer(CHROME, { codecs: [] }, TRUNK_LOCAL), 500, /lists no codecs/, SdpUsageError);
  rejects(() => webrtcOfferToRtpOffer(CHROME, { codecs: ['PCMU/eight'] }, TRUNK_LOCAL), 500, /PCMU\/eight/, SdpUsageError);
  rejects(() => webrtcOfferToRtpOffer(CHROME, G711, { address: '127.0.0.1', port: 0 }), 500, /port/, SdpUsageError);
  rejects(() => rtpOfferToWebrtcOffer(SIPP, G711, { ...ICE, pwd: 'short' }, WEBRTC_LOCAL), 500, /ufrag\/pwd/, SdpUsageError);
  const o = rtpOfferToWebrtcOffer(SIPP, G711, ICE, WEBRTC_LOCAL);
  rejects(() => rtpAnswerToWebrtcAnswer(o.session, SIPP, ICE, WEBRTC_LOCAL), 500, /not from a webrtc offer/, SdpUsageError);
  rejects(() => parseCodecPolicy({ codecs: ['PCMU'], payloadTypes: { 'telephone-event/8000': 13 } }), 500, /96-127/);
  assert.deepEqual(parseCodecPolicy(G711), G711);
});

test('random corruption of real SDPs never throws anything but an SdpError', () => {
  const bodies = [CHROME, SIPP, testdata('firefox-offer.sdp'), testdata('pbx-audio-video-offer.sdp'), testdata('carrier-sdes-offer.sdp')];
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  for (let i = 0; i < 400; i++) {
    const b = bodies[i % bodies.length] as string;
    const lines = b.split('\r\n');
    const k = rnd(lines.length);
    const line = lines[k] as string;
    const cut = rnd(line.length + 1);
    lines[k] = rnd(2) === 0 ? line.slice(0, cut) : `${line.slice(0, cut)}${'x9: /'[rnd(5)]}${line.slice(cut)}`;
    const body = lines.join('\r\n');
    for (const fn of [
      () => webrtcOfferToRtpOffer(body, G711, TRUNK_LOCAL),
      () => rtpOfferToWebrtcOffer(body, G711, ICE, WEBRTC_LOCAL),
    ]) {
      try { fn(); } catch (e) {
        assert.ok(e instanceof SdpError, `untyped ${String(e)} for ${JSON.stringify(body)}`);
        assert.ok([400, 488].includes(e.status));
      }
    }
  }
});

test('all-digit ICE credentials and mids (sdp-transform makes numbers of them) come back as strings', () => {
  const offer = CHROME.replace(/a=ice-ufrag:[^\r\n]*/, 'a=ice-ufrag:7440').replace(/a=ice-pwd:[^\r\n]*/, 'a=ice-pwd:1234567890123456789012');
  const r = webrtcOfferToRtpOffer(offer, G711, TRUNK_LOCAL);
  assert.equal(r.remote.ufrag, '7440');
  assert.equal(r.remote.pwd, '1234567890123456789012');
  assert.equal(r.remote.mid, '0');
  assert.deepEqual(r.session.bundle, ['0']);
});
