// A hand-written WebRTC answer for the browser test (libs/sdp owns the real offer/answer
// logic): ICE-lite, our ufrag/pwd and fingerprint, one host candidate, rtcp-mux, and the
// BUNDLE group and mid the browser offered (Chrome rejects an answer that drops them).
import type { WebRtcLocalParameters, WebRtcRemoteParameters } from '@trapezoid/media';

export interface BrowserOffer {
  remote: WebRtcRemoteParameters;
  mid: string;
  bundle: string | null;
  opusPt: number;
  ssrc: number;
}

function attr(sdp: string, name: string): string | null {
  const m = new RegExp(`^a=${name}:(.*)$`, 'm').exec(sdp);
  return m ? m[1]!.trim() : null;
}

export function readOffer(sdp: string): BrowserOffer {
  const ufrag = attr(sdp, 'ice-ufrag');
  const pwd = attr(sdp, 'ice-pwd');
  const fp = attr(sdp, 'fingerprint');
  const setup = attr(sdp, 'setup');
  const mid = attr(sdp, 'mid');
  const opus = /^a=rtpmap:(\d+) opus\/48000\/2$/m.exec(sdp);
  if (!ufrag || !pwd || !fp || !mid || !opus || (setup !== 'actpass' && setup !== 'active' && setup !== 'passive')) {
    throw new Error('offer lacks ICE/DTLS/opus attributes');
  }
  const [algorithm, value] = fp.split(' ') as [string, string];
  const ssrc = /^a=ssrc:(\d+) /m.exec(sdp);
  return {
    remote: { ufrag, pwd, fingerprints: [{ algorithm, value }], setup },
    mid, bundle: attr(sdp, 'group'), opusPt: Number(opus[1]), ssrc: ssrc ? Number(ssrc[1]) : 0,
  };
}

/** `echoSsrc` is announced so Chrome routes what the echo sends back to its receiver. */
export function writeAnswer(offer: BrowserOffer, local: WebRtcLocalParameters, echoSsrc: number): string {
  const pt = offer.opusPt;
  const lines = [
    'v=0', `o=- ${Date.now()} 1 IN IP4 ${local.address}`, 's=-', 't=0 0',
    ...(offer.bundle ? [`a=group:${offer.bundle}`] : []),
    'a=ice-lite',
    `m=audio ${local.port} UDP/TLS/RTP/SAVPF ${pt}`,
    `c=IN IP4 ${local.address}`,
    `a=mid:${offer.mid}`,
    `a=ice-ufrag:${local.ufrag}`, `a=ice-pwd:${local.pwd}`,
    `a=fingerprint:${local.fingerprint.algorithm} ${local.fingerprint.value}`,
    `a=setup:${local.setup}`,
    'a=sendrecv', 'a=rtcp-mux',
    `a=rtpmap:${pt} opus/48000/2`, `a=fmtp:${pt} minptime=10;useinbandfec=1`,
    `a=ssrc:${echoSsrc} cname:trapezoid-echo`,
    `a=candidate:1 1 udp 2130706431 ${local.address} ${local.port} typ host`,
    'a=end-of-candidates',
  ];
  return lines.join('\r\n') + '\r\n';
}

/** Our offer toward a browser (call flow 2): ICE-lite, a=setup:actpass, one audio m-line. */
export function writeOffer(local: WebRtcLocalParameters, ssrc: number): string {
  const lines = [
    'v=0', `o=- ${Date.now()} 1 IN IP4 ${local.address}`, 's=-', 't=0 0',
    'a=group:BUNDLE 0', 'a=ice-lite',
    `m=audio ${local.port} UDP/TLS/RTP/SAVPF 111`,
    `c=IN IP4 ${local.address}`,
    'a=mid:0',
    `a=ice-ufrag:${local.ufrag}`, `a=ice-pwd:${local.pwd}`,
    `a=fingerprint:${local.fingerprint.algorithm} ${local.fingerprint.value}`,
    `a=setup:${local.setup}`,
    'a=sendrecv', 'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1',
    `a=ssrc:${ssrc} cname:trapezoid-echo`,
    `a=candidate:1 1 udp 2130706431 ${local.address} ${local.port} typ host`,
    'a=end-of-candidates',
  ];
  return lines.join('\r\n') + '\r\n';
}
