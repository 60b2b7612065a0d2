// Turns the typed leg specs and states of the worker protocol into live legs and
// bridges inside a worker, all bound within the worker's own port slice. Ports are
// allocated per local address: a node that took over another's calls binds that
// node's service address with the same port numbers, which never collide with its own.
import type { LegState, MediaLeg } from '../leg.js';
import { PortAllocator } from '../ports/allocator.js';
import { RtpLeg, type RtpLegOptions } from '../rtp/rtp-leg.js';
import { SdesLeg } from '../rtp/sdes-leg.js';
import { Bridge } from '../bridge/bridge.js';
import { WebRtcLeg } from '../webrtc/webrtc-leg.js';
import type { SrtpKeys } from '../srtp/profile.js';
import type { Prebound } from './prebound.js';
import type { BridgeCore, BridgeOptionsSpec, BridgeStats, LegChange, LegDescription, LegSpec, RtpLegSpec, SdesLegSpec } from './protocol.js';

/** What the worker needs of a bridge; the Bridge class itself. */
export interface BridgeHandle {
  stats(): NonNullable<BridgeStats['bridge']>;
  exportState(): BridgeCore;
  close(): Promise<void>;
  replaceLeg(side: 'a' | 'b', leg: MediaLeg): MediaLeg;
  silence(on: boolean): void;
  setMapping(payloadTypes: ReadonlyArray<readonly [number, number]>, clockRate: number): void;
  setFlow(toA: boolean, toB: boolean): void;
  sendEvent(toward: 'a' | 'b', ev: { event: number; durationMs: number; volume?: number }, pt: number): void;
}

/** Leg events a worker forwards to the main thread (signalling reacts to them). */
export const FORWARDED_LEG_EVENTS = ['connected', 'pairChanged', 'dtlsConnected', 'dtlsClosed', 'consentLost', 'error'] as const;

/** An error the worker reports with the SIP status it maps to. */
export class WorkerError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'WorkerError';
  }
}

/** SDES inline key (RFC 4568 §6.1: master key || master salt, base64) split in two. */
function sdesKeys(b64: string): SrtpKeys {
  const k = Buffer.from(b64, 'base64');
  return { masterKey: k.subarray(0, 16), masterSalt: k.subarray(16) };
}

export class LegFactory {
  /** One allocator per local address, each over this worker's slice. */
  private readonly allocators = new Map<string, PortAllocator>();
  /** WebRTC legs bind a port they do not give back themselves. */
  private readonly webrtcPorts = new Map<MediaLeg, { allocator: PortAllocator; port: number }>();

  constructor(
    private readonly portMin: number, private readonly portMax: number, private readonly address: string,
    private readonly native = true, private readonly nativeDtls = true,
  ) {
    this.allocatorFor(address);
  }

  /** The allocator of the worker's own address (tests and the port-exhaustion check). */
  get allocator(): PortAllocator {
    return this.allocatorFor(this.address);
  }

  allocatorFor(address: string): PortAllocator {
    let a = this.allocators.get(address);
    if (!a) this.allocators.set(address, (a = new PortAllocator({ min: this.portMin, max: this.portMax })));
    return a;
  }

  /** Even ports held by legs of this worker, on every address (each reserves its RTP/RTCP pair). */
  get portsInUse(): number {
    let n = 0;
    for (const a of this.allocators.values()) n += a.inUse;
    return n;
  }

  private rtpOptions(spec: RtpLegSpec | SdesLegSpec): RtpLegOptions {
    const address = spec.address ?? this.address;
    return {
      allocator: this.allocatorFor(address), address, native: this.native,
      ...(spec.advertisedAddress !== undefined ? { advertisedAddress: spec.advertisedAddress } : {}),
      ...(spec.port !== undefined ? { port: spec.port } : {}),
      ...(spec.rtcpMux !== undefined ? { rtcpMux: spec.rtcpMux } : {}),
      ...(spec.remote !== undefined ? { remote: spec.remote } : {}),
      ...(spec.latch !== undefined ? { latch: spec.latch } : {}),
      ...(spec.relatchAfterMs !== undefined ? { relatchAfterMs: spec.relatchAfterMs } : {}),
      ...(spec.connect !== undefined ? { connect: spec.connect } : {}),
      ...(spec.clockRate !== undefined ? { clockRate: spec.clockRate } : {}),
    };
  }

  /** The leg of `spec`; on the sockets (and ICE credentials) of `prebound` when given. */
  async createLeg(spec: LegSpec, prebound?: Prebound): Promise<MediaLeg> {
    if (!prebound) return this.makeLeg(spec);
    try {
      return await this.makeLeg(spec, prebound);
    } catch (err) {
      await Promise.all([prebound.rtp.close(), prebound.rtcp?.close()]);
      prebound.allocator.release(prebound.port);
      throw err;
    }
  }

  private async makeLeg(spec: LegSpec, prebound?: Prebound): Promise<MediaLeg> {
    const sockets = prebound ? { port: prebound.port, prebound: { rtp: prebound.rtp, rtcp: prebound.rtcp } } : {};
    switch (spec.kind) {
      case 'rtp':
        return RtpLeg.create({ ...this.rtpOptions(spec), ...sockets });
      case 'sdes':
        return SdesLeg.create({
          ...this.rtpOptions(spec), ...sockets, profile: spec.profile, localKeys: sdesKeys(spec.localKey), remoteKeys: sdesKeys(spec.remoteKey),
        });
      case 'webrtc': {
        const { kind: _k, port, address: bindAddress, ...rest } = spec;
        const address = bindAddress ?? this.address;
        if (prebound) {
          const leg = await WebRtcLeg.create({
            ...rest, ...(prebound.ice ? { ice: prebound.ice } : {}), address, port: prebound.port, prebound: prebound.rtp,
            native: this.native, nativeDtls: this.nativeDtls,
          });
          this.webrtcPorts.set(leg, { allocator: prebound.allocator, port: prebound.port });
          return leg;
        }
        return this.bindWebRtc(address, port, (p) => WebRtcLeg.create({ ...rest, address, port: p, native: this.native, nativeDtls: this.nativeDtls }));
      }
      default:
        throw new WorkerError(`unknown leg kind ${String((spec as { kind: unknown }).kind)}`, 488);
    }
  }

  async restoreLeg(state: LegState): Promise<MediaLeg> {
    switch (state.kind) {
      case 'rtp': return RtpLeg.restore(state, this.allocatorFor(state.address), this.native);
      case 'sdes': return SdesLeg.restore(state, this.allocatorFor(state.address), this.native);
      case 'webrtc':
        return this.bindWebRtc(state.address, state.port, (p) => WebRtcLeg.restore({ ...state, port: p }, undefined, this.native, this.nativeDtls));
      default: throw new WorkerError(`unknown leg kind ${String((state as { kind: unknown }).kind)}`, 500);
    }
  }

  private async bindWebRtc(address: string, port: number | undefined, make: (port: number) => Promise<WebRtcLeg>): Promise<MediaLeg> {
    const allocator = this.allocatorFor(address);
    let leg: WebRtcLeg;
    let bound: number;
    if (port !== undefined) {
      if (!allocator.claim(port)) throw new WorkerError(`media port ${address}:${port} is not free`, 500);
      try {
        leg = await make(port);
      } catch (err) {
        allocator.release(port);
        throw err;
      }
      bound = port;
    } else {
      ({ port: bound, value: leg } = await allocator.bindNext(make));
    }
    this.webrtcPorts.set(leg, { allocator, port: bound });
    return leg;
  }

  describe(leg: MediaLeg): LegDescription {
    if (leg instanceof WebRtcLeg) return { kind: 'webrtc', ...leg.localParameters };
    return { kind: leg.kind === 'sdes' ? 'sdes' : 'rtp', address: leg.localAddress, port: leg.localPort };
  }

  /** Applies a re-INVITE's change to one leg: a new peer address or new WebRTC parameters. */
  updateLeg(leg: MediaLeg, change: LegChange): void {
    if (!('remote' in change)) return;
    const remote = change.remote;
    if (leg instanceof WebRtcLeg) {
      if ('ice' in change && change.ice) leg.restartIce(change.ice);
      if ('ufrag' in remote) leg.setRemoteParameters(remote);
    } else if (leg instanceof RtpLeg) {
      if ('address' in remote) leg.setRemote(remote);
    }
  }

  async closeLeg(leg: MediaLeg): Promise<void> {
    try {
      await leg.close();
    } finally {
      const p = this.webrtcPorts.get(leg);
      if (p !== undefined) {
        this.webrtcPorts.delete(leg);
        p.allocator.release(p.port);
      }
    }
  }

  createBridge(a: MediaLeg, b: MediaLeg, opts: BridgeOptionsSpec): BridgeHandle {
    return wrap(new Bridge({ ...opts, a, b, native: this.native }));
  }

  restoreBridge(a: MediaLeg, b: MediaLeg, state: BridgeCore): BridgeHandle {
    return wrap(Bridge.restore(state, a, b, this.native));
  }
}

function wrap(bridge: Bridge): BridgeHandle {
  return new BridgeEntry(bridge);
}

/** A bridge as the worker holds it: prototype methods, not eight closures per call. */
class BridgeEntry implements BridgeHandle {
  constructor(private readonly bridge: Bridge) {}

  stats(): NonNullable<BridgeStats['bridge']> {
    const bridge = this.bridge;
    return { ssrcToA: bridge.ssrcToA, ssrcToB: bridge.ssrcToB, native: bridge.nativeDirections };
  }

  exportState(): BridgeCore {
    // The legs travel separately in BridgeState.legs.
    const { a: _a, b: _b, ...rest } = this.bridge.exportState();
    return rest;
  }

  close(): Promise<void> {
    return this.bridge.close();
  }

  replaceLeg(side: 'a' | 'b', leg: MediaLeg): MediaLeg {
    return this.bridge.replaceLeg(side, leg);
  }

  silence(on: boolean): void {
    this.bridge.silence(on);
  }

  setMapping(payloadTypes: ReadonlyArray<readonly [number, number]>, clockRate: number): void {
    this.bridge.setMapping(payloadTypes, clockRate);
  }

  setFlow(toA: boolean, toB: boolean): void {
    this.bridge.setFlow(toA, toB);
  }

  sendEvent(toward: 'a' | 'b', ev: { event: number; durationMs: number; volume?: number }, pt: number): void {
    this.bridge.sendEvent(toward, ev, pt);
  }
}
