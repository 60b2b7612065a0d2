// Browser side of test/src/media/webrtc-browser.test.ts: one RTCPeerConnection that
// offers audio, posts the offer to the test server and applies the gateway's answer.
window.startCall = async function startCall() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  window.pc = pc;
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const res = await fetch('/offer', { method: 'POST', body: pc.localDescription.sdp });
  if (!res.ok) throw new Error('offer rejected: ' + res.status + ' ' + (await res.text()));
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
};

// The numbers a person would look at in chrome://webrtc-internals.
window.callStats = async function callStats() {
  const out = { inboundPackets: 0, outboundPackets: 0, dtlsState: '', srtpCipher: '', iceState: window.pc.iceConnectionState,
    selectedPair: null };
  const report = await window.pc.getStats();
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') out.inboundPackets += s.packetsReceived || 0;
    if (s.type === 'outbound-rtp' && s.kind === 'audio') out.outboundPackets += s.packetsSent || 0;
    if (s.type === 'transport') {
      out.dtlsState = s.dtlsState;
      out.srtpCipher = s.srtpCipher || '';
      const pair = s.selectedCandidatePairId && report.get(s.selectedCandidatePairId);
      if (pair) {
        const remote = report.get(pair.remoteCandidateId);
        out.selectedPair = { state: pair.state, nominated: pair.nominated, remote: remote ? remote.address + ':' + remote.port : '' };
      }
    }
  });
  return out;
};

window.endCall = function endCall() {
  if (window.pc) window.pc.close();
};

// The other direction (a trunk calls a browser agent): the gateway offers, we answer.
window.answerCall = async function answerCall(offerSdp) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  window.pc = pc;
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.sdp;
};
