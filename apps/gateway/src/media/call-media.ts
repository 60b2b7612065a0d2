// The media of one call: a WebRTC leg toward the browser, an RTP leg toward the
// trunk, and the bridge that joins them once the codecs are negotiated. Legs are
// bound when the offer is converted (their ports go into the SDP); the bridge is
// made when the answer gives the payload-type mapping. close() releases all of it
// on every path, however far the call got.

import { randomBytes } from 'node:crypto';
import { Bridge, RtpLeg, WebRtcLeg, type PortAllocator } from '@trapezoid/media';
import type { IceDtlsParams, LocalStream, MediaEndpoint, PtMapping, RtpRemote, WebRtcRemote } from '@trapezoid/sdp';

export interface CallMediaOptions {
  allocator: PortAllocator;
  /** Address the sockets bind to. */
  address: string;
  /** Address written into SDP (public or floating address); default `address`. */
  advertisedAddress?: string;
  /** The browser's offer (browser -> trunk calls); absent when we offer to the browser. */
  webrtcRemote?: WebRtcRemote;
}

export class CallMedia {
  private bridge: Bridge | null = null;
  private closed = false;
  /**
   * The stream we send the browser, fixed before the bridge exists so the SDP can
   * signal it (a=ssrc/msid, RFC 5576/8830): werift drops RTP from unsignalled SSRCs.
   */
  readonly towardBrowser: LocalStream = { ssrc: randomBytes(4).readUInt32BE(0) >>> 0, cname: randomBytes(8).toString('base64url') };

  private constructor(
    readonly webrtc: WebRtcLeg,
    readonly rtp: RtpLeg,
    private readonly advertised: string,
  ) {}

  static async create(opts: CallMediaOptions): Promise<CallMedia> {
    const webrtc = await WebRtcLeg.create({
      address: opts.address,
      allocator: opts.allocator,
      ...(opts.webrtcRemote ? { remote: toLegRemote(opts.webrtcRemote) } : {}),
    });
    let rtp: RtpLeg;
    try {
      rtp = await RtpLeg.create({
        allocator: opts.allocator,
        address: opts.address,
        ...(opts.advertisedAddress ? { advertisedAddress: opts.advertisedAddress } : {}),
      });
    } catch (err) {
      await webrtc.close();
      throw err;
    }
    return new CallMedia(webrtc, rtp, opts.advertisedAddress ?? opts.address);
  }

  /** Our ICE-lite/DTLS parameters, for the SDP we send the browser. */
  get iceDtls(): IceDtlsParams {
    const p = this.webrtc.localParameters;
    return { ufrag: p.ufrag, pwd: p.pwd, fingerprint: p.fingerprint, setup: p.setup === 'active' ? 'active' : p.setup === 'passive' ? 'passive' : 'actpass' };
  }

  get webrtcEndpoint(): MediaEndpoint {
    return { address: this.advertised, port: this.webrtc.localPort };
  }

  get rtpEndpoint(): MediaEndpoint {
    return { address: this.advertised, port: this.rtp.localPort };
  }

  /** The trunk's address from its SDP (latching may move it later). */
  setRtpRemote(remote: RtpRemote): void {
    this.rtp.setRemote({
      address: remote.address,
      port: remote.port,
      ...(remote.rtcpMux ? { rtcpPort: remote.port } : remote.rtcpPort !== undefined ? { rtcpPort: remote.rtcpPort } : {}),
    });
  }

  /** The browser's answer to our offer (trunk -> browser calls). */
  setWebRtcRemote(remote: WebRtcRemote): void {
    this.webrtc.setRemoteParameters(toLegRemote(remote));
  }

  /** Starts forwarding with the negotiated payload types. */
  connect(mapping: PtMapping[]): void {
    if (this.closed || this.bridge) return;
    const clockRate = mapping.find((m) => !/telephone-event|cn/i.test(m.codec))?.clockRate ?? 8000;
    this.bridge = new Bridge({
      a: this.webrtc,
      b: this.rtp,
      payloadTypes: mapping.map((m) => [m.webrtcPt, m.trunkPt] as const),
      clockRate,
      ssrcToA: this.towardBrowser.ssrc,
      cname: this.towardBrowser.cname,
    });
  }

  get connected(): boolean {
    return this.bridge !== null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const bridge = this.bridge;
    this.bridge = null;
    if (bridge) await bridge.close();
    await Promise.allSettled([this.webrtc.close(), this.rtp.close()]);
  }
}

function toLegRemote(r: WebRtcRemote): { ufrag: string; pwd: string; fingerprints: { algorithm: string; value: string }[]; setup: 'active' | 'passive' | 'actpass' } {
  return { ufrag: r.ufrag, pwd: r.pwd, fingerprints: [r.fingerprint], setup: r.setup };
}
