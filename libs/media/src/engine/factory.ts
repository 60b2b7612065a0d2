// Turns the plain leg descriptions of the worker protocol into live legs and bridges
// inside a worker, all bound within the worker's own port slice.
import type { MediaLeg } from '../leg.js';
import { PortAllocator } from '../ports/allocator.js';
import { RtpLeg, type RtpLegOptions, type RtpLegState } from '../rtp/rtp-leg.js';
import { SdesLeg } from '../rtp/sdes-leg.js';
import { Bridge, type BridgeState as BridgeCoreState } from '../bridge/bridge.js';
import { WebRtcLeg, type WebRtcLegOptions, type WebRtcLegState, type WebRtcRemoteParameters } from '../webrtc/webrtc-leg.js';
import type { SrtpKeys } from '../srtp/profile.js';
import type { LegDescription, LegSpec, TransportAddress } from './protocol.js';

/** What the worker needs of a bridge; the Bridge class itself. */
export interface BridgeHandle {
  stats(): Record<string, unknown>;
  exportState(): Record<string, unknown>;
  close(): Promise<void>;
  replaceLeg(side: 'a' | 'b', leg: MediaLeg): MediaLeg;
}

/** Leg events a worker forwards to the main thread (signalling reacts to them). */
export const FORWARDED_LEG_EVENTS = ['connected', 'pairChanged', 'dtlsConnected', 'dtlsClosed', 'consentLost', 'error'] as const;

/** SDES inline key (RFC 4568 §6.1: master key || master salt, base64) split in two. */
function sdesKeys(b64: string): SrtpKeys {
  const k = Buffer.from(b64, 'base64');
  return { masterKey: k.subarray(0, 16), masterSalt: k.subarray(16) };
}

function rtpOptions(spec: Record<string, unknown>, allocator: PortAllocator, address: string): RtpLegOptions {
  const { kind: _k, profile: _p, localKey: _l, remoteKey: _r, ...rest } = spec;
  return { ...(rest as Partial<RtpLegOptions>), allocator, address: (rest.address as string | undefined) ?? address };
}

export class LegFactory {
  readonly allocator: PortAllocator;
  /** WebRTC legs bind a port they do not give back themselves. */
  private readonly webrtcPorts = new Map<MediaLeg, number>();

  constructor(portMin: number, portMax: number, private readonly address: string, private readonly native = true, private readonly nativeDtls = true) {
    this.allocator = new PortAllocator({ min: portMin, max: portMax });
  }

  /** Even ports held by legs of this worker (each reserves its RTP/RTCP pair). */
  get portsInUse(): number {
    return this.allocator.inUse;
  }

  async createLeg(spec: LegSpec): Promise<MediaLeg> {
    switch (spec.kind) {
      case 'rtp':
        return RtpLeg.create({ ...rtpOptions(spec, this.allocator, this.address), native: this.native });
      case 'sdes':
        return SdesLeg.create({
          ...rtpOptions(spec, this.allocator, this.address), native: this.native,
          profile: spec.profile, localKeys: sdesKeys(spec.localKey), remoteKeys: sdesKeys(spec.remoteKey),
        });
      case 'webrtc': {
        const { kind: _k, port, ...rest } = spec;
        return this.bindWebRtc(port, (p) => WebRtcLeg.create({
          ...(rest as Partial<WebRtcLegOptions>), address: this.address, port: p, native: this.native, nativeDtls: this.nativeDtls,
        }));
      }
      default:
        throw Object.assign(new Error(`unknown leg kind ${String((spec as { kind: unknown }).kind)}`), { status: 488 });
    }
  }

  async restoreLeg(state: Record<string, unknown>): Promise<MediaLeg> {
    switch (state.kind) {
      case 'rtp': return RtpLeg.restore(state as RtpLegState, this.allocator, this.native);
      case 'sdes': return SdesLeg.restore(state as RtpLegState, this.allocator, this.native);
      case 'webrtc': {
        const st = state as unknown as WebRtcLegState;
        return this.bindWebRtc(st.port, (p) => WebRtcLeg.restore({ ...st, port: p }, undefined, this.native, this.nativeDtls));
      }
      default: throw Object.assign(new Error(`unknown leg kind ${String(state.kind)}`), { status: 500 });
    }
  }

  private async bindWebRtc(port: number | undefined, make: (port: number) => Promise<WebRtcLeg>): Promise<MediaLeg> {
    let leg: WebRtcLeg;
    let bound: number;
    if (port !== undefined) {
      if (!this.allocator.claim(port)) throw Object.assign(new Error(`media port ${port} is not free`), { status: 500 });
      try {
        leg = await make(port);
      } catch (err) {
        this.allocator.release(port);
        throw err;
      }
      bound = port;
    } else {
      ({ port: bound, value: leg } = await this.allocator.bindNext(make));
    }
    this.webrtcPorts.set(leg, bound);
    return leg;
  }

  describe(leg: MediaLeg): LegDescription {
    const d: LegDescription = { kind: leg.kind, address: leg.localAddress, port: leg.localPort };
    if (leg instanceof WebRtcLeg) Object.assign(d, leg.localParameters);
    return d;
  }

  exportLeg(leg: MediaLeg): Record<string, unknown> {
    return leg.exportState();
  }

  /** Applies a re-INVITE's change to one leg: a new peer address or new WebRTC parameters. */
  updateLeg(leg: MediaLeg, change: Record<string, unknown>): void {
    if (leg instanceof WebRtcLeg) {
      if (change.remote) leg.setRemoteParameters(change.remote as WebRtcRemoteParameters);
    } else if (leg instanceof RtpLeg) {
      if (change.remote) leg.setRemote(change.remote as TransportAddress & { rtcpPort?: number });
    }
  }

  async closeLeg(leg: MediaLeg): Promise<void> {
    try {
      await leg.close();
    } finally {
      const p = this.webrtcPorts.get(leg);
      if (p !== undefined) {
        this.webrtcPorts.delete(leg);
        this.allocator.release(p);
      }
    }
  }

  createBridge(a: MediaLeg, b: MediaLeg, opts: Record<string, unknown>): BridgeHandle {
    return wrap(new Bridge({ ...opts, a, b, native: this.native }));
  }

  restoreBridge(a: MediaLeg, b: MediaLeg, state: Record<string, unknown>): BridgeHandle {
    // A state without rewrite offsets (legs recovered from SDP alone) starts a fresh bridge.
    if (!state.toA || !state.toB) return this.createBridge(a, b, state);
    return wrap(Bridge.restore(state as unknown as BridgeCoreState, a, b, this.native));
  }
}

function wrap(bridge: Bridge): BridgeHandle {
  return {
    stats: () => ({ ssrcToA: bridge.ssrcToA, ssrcToB: bridge.ssrcToB, native: bridge.nativeDirections }),
    exportState: () => {
      // The legs travel separately in BridgeState.legs.
      const { a: _a, b: _b, ...rest } = bridge.exportState();
      return rest as unknown as Record<string, unknown>;
    },
    close: () => bridge.close(),
    replaceLeg: (side, leg) => bridge.replaceLeg(side, leg),
  };
}
