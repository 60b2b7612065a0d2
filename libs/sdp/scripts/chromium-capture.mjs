/* global navigator, window, RTCPeerConnection */
// Hands SDP produced by libs/sdp to Chromium's setRemoteDescription (answers to its
// audio and audio+video offers, our offer and its answer back) and prints what it
// accepted. With --record it also rewrites the captured offers in ../testdata (the unit
// tests assert their exact values, so update those after recording).
// Run by hand, never beside another Chromium suite (pgrep -f chromium shows none):
//   npx tsc -b libs/sdp && node libs/sdp/scripts/chromium-capture.mjs [--record]
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const testdata = join(here, '..', 'testdata');
const sdp = await import(join(here, '..', 'dist', 'index.js'));

const dir = mkdtempSync(join(tmpdir(), 'sdp-chromium-'));
const browser = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'],
});
const results = {};
try {
  const page = await browser.newPage();
  // A secure origin served from memory: getUserMedia needs one, and nothing leaves the machine.
  await page.route('https://trapezoid.invalid/', (r) => r.fulfill({ body: '<html></html>', contentType: 'text/html' }));
  await page.goto('https://trapezoid.invalid/');
  const version = browser.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
  results.version = version;
  // 1. Offers as Chromium writes them.
  const offers = await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const a = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    a.addTrack(stream.getAudioTracks()[0], stream);
    const audio = (await a.createOffer()).sdp;
    const b = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    for (const t of stream.getTracks()) b.addTrack(t, stream);
    const av = (await b.createOffer()).sdp;
    // What JsSIP sends: it waits for ICE gathering to complete (no trickle) and sends
    // pc.localDescription, host candidates included.
    const c = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    c.addTrack(stream.getAudioTracks()[0], stream);
    await c.setLocalDescription(await c.createOffer());
    await new Promise((resolve) => {
      if (c.iceGatheringState === 'complete') resolve();
      c.onicegatheringstatechange = () => { if (c.iceGatheringState === 'complete') resolve(); };
      setTimeout(resolve, 5000);
    });
    const gathered = c.localDescription.sdp;
    c.close();
    window.__pcs = { a, b };
    window.__stream = stream;
    return { audio, av, gathered };
  });
  const record = process.argv.includes('--record');
  if (record) {
    writeFileSync(join(testdata, 'chromium-live-offer.sdp'), offers.audio);
    writeFileSync(join(testdata, 'chromium-live-audio-video-offer.sdp'), offers.av);
    writeFileSync(join(testdata, 'jssip-chromium-offer.sdp'), offers.gathered);
  }

  const ice = { ufrag: 'tRpZ', pwd: 'trapezoidIceLitePassword22', fingerprint: { algorithm: 'sha-256',
    value: Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0').slice(-2)).join(':') } };
  const local = { address: '127.0.0.1', port: 40000 };
  const policy = { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] };
  const trunkAnswer = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n';
  const stream = { ssrc: 0x1234567, cname: 'trapezoid' };

  // 2. Our answers to Chromium's offers.
  let avCall;
  for (const [name, offer, pcName] of [['audio', offers.audio, 'a'], ['audio+video', offers.av, 'b']]) {
    const o = sdp.webrtcOfferToRtpOffer(offer, policy, local);
    const ans = sdp.rtpAnswerToWebrtcAnswer(o.session, trunkAnswer, ice, local, { stream });
    if (pcName === 'b') avCall = ans;
    results[`answer to ${name} offer`] = await page.evaluate(async ([pcName, offer, answer]) => {
      const pc = window.__pcs[pcName];
      try {
        await pc.setLocalDescription({ type: 'offer', sdp: offer });
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        return { accepted: true, signalingState: pc.signalingState,
          transceivers: pc.getTransceivers().map((t) => `${t.mid}:${t.currentDirection ?? 'stopped'}`) };
      } catch (e) { return { accepted: false, error: String(e) }; }
    }, [pcName, offer, ans.sdp]);
    if (record && name === 'audio+video') writeFileSync(join(testdata, 'chromium-accepted-answer-audio-video.sdp'), ans.sdp);
  }

  // 2b. The trunk puts that audio+video call on hold: our re-offer to Chromium.
  const holdOffer = trunkAnswer.replace('o=- 1 1', 'o=- 1 2') + 'a=sendonly\r\n';
  const reoffer = sdp.rtpOfferToWebrtcOffer(holdOffer, policy, ice, local,
    { established: avCall.negotiated, origin: avCall.origin, stream });
  const held = await page.evaluate(async (offer) => {
    const pc = window.__pcs.b;
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      return { accepted: true, answer: answer.sdp };
    } catch (e) { return { accepted: false, error: String(e) }; }
  }, reoffer.sdp);
  results['trunk hold re-offer to Chromium'] = { accepted: held.accepted, error: held.error };
  if (held.accepted) {
    const back = sdp.webrtcAnswerToRtpAnswer(reoffer.session, held.answer, local);
    results['trunk hold re-offer to Chromium'].chromiumDirection = back.remote.direction;
    results['trunk hold re-offer to Chromium'].chromiumSetup = back.remote.setup;
    results['trunk hold re-offer to Chromium'].trunkAnswer = back.sdp.split('\r\n').filter((l) => l.startsWith('m=') || l.startsWith('a=')).join(' | ');
  }

  // 3. Our offer (from a trunk's RTP offer) into a fresh Chromium peer, and its answer back.
  const trunkOffer = 'v=0\r\no=root 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n';
  const wo = sdp.rtpOfferToWebrtcOffer(trunkOffer, policy, { ...ice, setup: 'actpass' }, local, { stream });
  const r = await page.evaluate(async (offer) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    window.__pcs.c = pc;
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      pc.addTrack(window.__stream.getAudioTracks()[0], window.__stream);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      return { accepted: true, answer: answer.sdp };
    } catch (e) { return { accepted: false, error: String(e) }; }
  }, wo.sdp);
  results['our offer'] = { accepted: r.accepted, error: r.error };
  if (r.accepted) {
    if (record) writeFileSync(join(testdata, 'chromium-live-answer.sdp'), r.answer);
    const back = sdp.webrtcAnswerToRtpAnswer(wo.session, r.answer, local);
    results['chromium answer -> trunk answer'] = { mapping: back.mapping, setup: back.remote.setup };
    // 3b. The browser agent puts the trunk's call on hold: Chromium re-offers sendonly.
    const hold = await page.evaluate(async () => {
      const pc = window.__pcs.c;
      pc.getTransceivers()[0].direction = 'sendonly';
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp;
    });
    if (record) writeFileSync(join(testdata, 'chromium-live-hold-reoffer.sdp'), hold);
    const toTrunk = sdp.webrtcOfferToRtpOffer(hold, policy, local, { established: back.negotiated, origin: back.origin });
    const trunkHoldAnswer = trunkOffer.replace('a=ptime:20', 'a=ptime:20\r\na=recvonly');
    const ours = sdp.rtpAnswerToWebrtcAnswer(toTrunk.session, trunkHoldAnswer, ice, local, { stream });
    const applied = await page.evaluate(async (answer) => {
      const pc = window.__pcs.c;
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        return { accepted: true, currentDirection: pc.getTransceivers()[0].currentDirection };
      } catch (e) { return { accepted: false, error: String(e) }; }
    }, ours.sdp);
    results['browser hold re-offer, our answer'] = { chromiumSetup: toTrunk.remote.setup, trunkOffer: toTrunk.sdp.split('\r\n').filter((l) => l.startsWith('m=') || l.startsWith('a=')).join(' | '), ...applied };
  }
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(results, null, 2));
