// A minimal SDP answer for the examples: signalling tests need a syntactically valid
// answer, not media. An RTP/AVP offer gets one codec back on a port nobody listens
// on; a WebRTC offer (ICE/DTLS, RFC 8829) gets ICE credentials, a fingerprint and
// setup:active per m-line, and its BUNDLE group kept (Chrome drops the call otherwise).
// The gateway proper uses libs/sdp; libs/sip may not depend on it.

import { randomBytes } from 'node:crypto';

let sessionVersion = 0;

export function answerSdp(offer: string, address: string): string {
  const lines = offer.split(/\r?\n/);
  const webrtc = lines.some((l) => l.startsWith('m=') && /SAVPF|DTLS/.test(l));
  const out = ['v=0', `o=- ${Date.now() % 1e9} ${++sessionVersion} IN IP4 ${address}`, 's=-', 't=0 0'];
  const bundle = lines.find((l) => l.startsWith('a=group:BUNDLE'));
  if (bundle) out.push(bundle);
  const ufrag = randomBytes(4).toString('hex');
  const pwd = randomBytes(12).toString('hex');
  const fingerprint = [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  let port = 40000;
  let inMedia = false;
  for (const l of lines) {
    if (l.startsWith('m=')) {
      inMedia = true;
      const [media, , proto, ...fmts] = l.slice(2).split(' ');
      const pt = fmts[0] ?? '0';
      out.push(`m=${media} ${webrtc ? 9 : port} ${proto} ${pt}`, `c=IN IP4 ${address}`);
      port += 2;
      const rtpmap = lines.find((x) => x.startsWith(`a=rtpmap:${pt} `));
      if (rtpmap) out.push(rtpmap);
      if (webrtc) {
        out.push(`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, `a=fingerprint:sha-256 ${fingerprint}`,
          'a=setup:active', 'a=rtcp-mux');
      }
      out.push('a=sendrecv');
    } else if (inMedia && webrtc && l.startsWith('a=mid:')) {
      out.push(l);
    }
  }
  return out.join('\r\n') + '\r\n';
}
