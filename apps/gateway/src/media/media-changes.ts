// What CallMedia tells the media worker, built from libs/sdp's plain types: the
// bridge's payload-type pairs, the legs' remote changes, and the comparisons that let a
// renegotiation send only what changed.

import type { RtpRemoteChange, WebRtcRemoteChange } from '@trapezoid/media';
import type { PtMapping, RtpRemote, WebRtcRemote } from '@trapezoid/sdp';

/** The bridge's payload-type pairs [browser PT, trunk PT] and the audio clock rate. */
export function bridgeMapping(mapping: PtMapping[]): { payloadTypes: Array<[number, number]>; clockRate: number } {
  const clockRate = mapping.find((m) => !/^(telephone-event|cn)$/i.test(m.codec))?.clockRate ?? 8000;
  return { payloadTypes: mapping.map((m) => [m.webrtcPt, m.trunkPt]), clockRate };
}

export function sameMapping(a: PtMapping[] | null, b: PtMapping[]): boolean {
  return a !== null && a.length === b.length && a.every((m, i) => m.webrtcPt === b[i]!.webrtcPt && m.trunkPt === b[i]!.trunkPt && m.clockRate === b[i]!.clockRate);
}

export function sameRtpRemote(a: RtpRemote | null, b: RtpRemote): boolean {
  return a !== null && a.address === b.address && a.port === b.port && a.rtcpPort === b.rtcpPort && a.rtcpMux === b.rtcpMux;
}

export function sameWebRtcRemote(a: WebRtcRemote | null, b: WebRtcRemote): boolean {
  return a !== null && a.ufrag === b.ufrag && a.pwd === b.pwd && a.setup === b.setup
    && a.fingerprint.algorithm === b.fingerprint.algorithm && a.fingerprint.value === b.fingerprint.value;
}

/** RFC 2543 hold (c=0.0.0.0, or :: for IPv6): an address nothing can be sent to. */
export function isHoldAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

export function toLegRemote(r: WebRtcRemote): WebRtcRemoteChange['remote'] {
  return { ufrag: r.ufrag, pwd: r.pwd, fingerprints: [r.fingerprint], setup: r.setup };
}

export function rtpChange(remote: RtpRemote): RtpRemoteChange {
  return {
    remote: {
      address: remote.address,
      port: remote.port,
      ...(remote.rtcpMux ? { rtcpPort: remote.port } : remote.rtcpPort !== undefined ? { rtcpPort: remote.rtcpPort } : {}),
    },
  };
}
