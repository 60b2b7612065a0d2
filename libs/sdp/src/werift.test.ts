// werift (the library libs/media builds its WebRTC leg on) as a live peer: its own offer
// goes through libs/sdp, and it must accept our answer and our offer.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaStreamTrack, RTCPeerConnection, RTCSessionDescription } from 'werift';
import { rtpAnswerToWebrtcAnswer, rtpOfferToWebrtcOffer, webrtcAnswerToRtpAnswer, webrtcOfferToRtpOffer } from './index.js';
import { ICE, reparse, testdata, TRUNK_LOCAL, WEBRTC_LOCAL } from './test-support.js';

const G711 = { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] };
const opened: RTCPeerConnection[] = [];
after(async () => { await Promise.all(opened.map((pc) => pc.close())); });

function peer(): RTCPeerConnection {
  // No STUN server (werift's default is a public one); a loopback host candidate first.
  // werift also gathers the machine's other interfaces, but only ever checks toward our
  // candidate, 127.0.0.1.
  const pc = new RTCPeerConnection({
    iceServers: [], iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'],
  });
  opened.push(pc);
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
  return pc;
}

test('werift offer -> RTP offer; werift accepts our WebRTC answer', { timeout: 20_000 }, async () => {
  const pc = peer();
  await pc.setLocalDescription(await pc.createOffer());
  const offer = pc.localDescription!.sdp;
  const o = webrtcOfferToRtpOffer(offer, G711, TRUNK_LOCAL);
  assert.match(o.sdp, /m=audio 30000 RTP\/AVP 0\r\n/, 'werift offers OPUS and PCMU; the G.711 policy keeps PCMU');
  // sdp-transform turns an all-digit ufrag into a number; ours stays a string.
  assert.equal(o.remote.ufrag, String(reparse(offer).media[0]!.iceUfrag));
  assert.equal(typeof o.remote.ufrag, 'string');
  assert.equal(o.remote.setup, 'actpass');
  const a = rtpAnswerToWebrtcAnswer(o.session, testdata('sipp-uas-answer.sdp'), ICE, WEBRTC_LOCAL,
    { stream: { ssrc: 11223344, cname: 'gw' } });
  await pc.setRemoteDescription(new RTCSessionDescription(a.sdp, 'answer'));
  assert.equal(pc.signalingState, 'stable');
  const t = pc.getTransceivers()[0]!;
  assert.equal(t.currentDirection, 'sendrecv');
  assert.deepEqual(t.codecs.map((c) => [c.payloadType, c.mimeType.toLowerCase()]), [[0, 'audio/pcmu']]);
  assert.equal(pc.remoteDescription?.sdp.includes('a=ice-lite'), true);
  // werift takes the DTLS client role against our passive answer.
  assert.equal(t.dtlsTransport.role, 'client');
});

test('our WebRTC offer (from a trunk offer) -> werift answer -> RTP answer', { timeout: 20_000 }, async () => {
  const pc = peer();
  const o = rtpOfferToWebrtcOffer(testdata('carrier-twilio-offer.sdp'), G711, ICE, WEBRTC_LOCAL,
    { stream: { ssrc: 55667788, cname: 'gw' } });
  await pc.setRemoteDescription(new RTCSessionDescription(o.sdp, 'offer'));
  await pc.setLocalDescription(await pc.createAnswer());
  const answer = pc.localDescription!.sdp;
  const a = webrtcAnswerToRtpAnswer(o.session, answer, TRUNK_LOCAL);
  assert.deepEqual(a.mapping, [{ webrtcPt: 0, trunkPt: 0, codec: 'PCMU', clockRate: 8000 }]);
  assert.match(a.sdp, /m=audio 30000 RTP\/AVP 0\r\n/);
  assert.ok(a.remote.setup === 'active' || a.remote.setup === 'passive');
  assert.equal(a.remote.rtcpMux, true);
  assert.equal(a.remote.mid, '0');
  assert.ok(a.remote.candidates.some((c) => c.address === '127.0.0.1' && c.type === 'host' && c.transport === 'udp'));
  // werift saw our stream's SSRC, so it will route our RTP to its receiver.
  assert.match(pc.remoteDescription!.sdp, /a=ssrc:55667788 cname:gw/);
});
