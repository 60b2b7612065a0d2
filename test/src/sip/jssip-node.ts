// JsSIP running in Node, as a browser client would run it: the `ws` package is its
// WebSocket and werift's RTCPeerConnection its peer connection. Only what JsSIP
// needs is adapted, each for a reason seen on this machine (INTEROP-NOTES.md):
// - JsSIP checks `window.RTCPeerConnection` before a call: `window` is the global.
// - JsSIP calls createOffer(null) / createAnswer(null); werift destructures its
//   argument and throws on null.
// - JsSIP builds `new RTCSessionDescription({ type, sdp })`; werift's class takes
//   (sdp, type), and setRemoteDescription accepts the plain { type, sdp } object.
// - werift gathers host candidates on every interface; tests stay on loopback. It
//   gathers none at all when loopback is the only interface up (a CI container, a
//   network namespace with just lo): then loopback is named as its host address.
// - werift's ICE falls back to Google's STUN server when none is configured and waits
//   5 s for its answer before the offer is ready: no STUN server is asked here.

import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { WebSocket } from 'ws';
import { RTCPeerConnection as WeriftPeerConnection } from 'werift';

const require = createRequire(import.meta.url);

class LoopbackPeerConnection extends WeriftPeerConnection {
  /** The loopback address media is gathered on (a test's client may be 127.0.0.3). */
  static address = '127.0.0.1';

  constructor() {
    super({
      iceServers: [], iceInterfaceAddresses: { udp4: LoopbackPeerConnection.address }, iceUseIpv6: false,
      // werift skips internal interfaces: with nothing else up it would have no candidate,
      // no socket, and ICE would fail at once. (Where another interface is up, its one
      // candidate's socket is bound to the loopback address above, as before.)
      ...(hasExternalIpv4() ? {} : { iceAdditionalHostAddresses: [LoopbackPeerConnection.address] }),
    });
  }

  override async createOffer(opts?: Parameters<WeriftPeerConnection['createOffer']>[0] | null) {
    const offer = await super.createOffer(opts ?? undefined);
    this.noStun();
    return offer;
  }

  override async createAnswer() {
    const answer = await super.createAnswer();
    this.noStun();
    return answer;
  }

  /** Before setLocalDescription() gathers: no server-reflexive candidate to wait for. */
  private noStun(): void {
    for (const t of this.iceTransports) {
      (t as unknown as { iceGather: { connection: { stunServer?: unknown } } }).iceGather.connection.stunServer = undefined;
    }
  }
}

/** Whether an interface other than loopback is up with an IPv4 address (werift gathers there). */
function hasExternalIpv4(): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.family === 'IPv4' && !a.internal));
}

class PlainSessionDescription {
  readonly type: string;
  readonly sdp: string;
  constructor(init: { type: string; sdp: string }) {
    this.type = init.type;
    this.sdp = init.sdp;
  }
}

/** The JsSIP module with the globals it expects installed; call once per process. */
export function loadJsSIP(): typeof import('jssip') {
  const g = globalThis as Record<string, unknown>;
  g.window ??= globalThis;
  g.WebSocket = WebSocket;
  g.RTCPeerConnection = LoopbackPeerConnection;
  g.RTCSessionDescription = PlainSessionDescription;
  return require('jssip') as typeof import('jssip');
}

/** Gathers the peer connections' media on `address` from now on (default 127.0.0.1). */
export function setMediaAddress(address: string): void {
  LoopbackPeerConnection.address = address;
}

type JsSIPModule = typeof import('jssip');

/**
 * A JsSIP socket whose WebSocket leaves from `localAddress` (a test's client at
 * 127.0.0.3, its attacker at 127.0.0.2): JsSIP builds `new WebSocket(url, 'sip')` from
 * the global when it connects, so the global is swapped for that one construction.
 * `url` may carry a query (credentials at the upgrade).
 */
export function boundSocket(JsSIP: JsSIPModule, url: string, localAddress: string): InstanceType<JsSIPModule['WebSocketInterface']> {
  class BoundWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { localAddress });
    }
  }
  class BoundInterface extends JsSIP.WebSocketInterface {
    override connect(): void {
      const g = globalThis as Record<string, unknown>;
      const saved = g.WebSocket;
      g.WebSocket = BoundWebSocket;
      try {
        super.connect();
      } finally {
        g.WebSocket = saved;
      }
    }
  }
  return new BoundInterface(url);
}

/**
 * The next `ev` event of a JsSIP UA or session, or a rejection on `failEv` (with
 * JsSIP's cause) or after `ms`.
 */
export function nextEvent<T = unknown>(
  emitter: { once(ev: string, fn: (arg: T) => void): unknown }, ev: string, failEv?: string, ms = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${ev}' within ${ms} ms`)), ms);
    emitter.once(ev, (a: T) => { clearTimeout(t); resolve(a); });
    if (failEv) {
      emitter.once(failEv, (a: T) => {
        clearTimeout(t);
        reject(new Error(`'${failEv}': ${JSON.stringify((a as { cause?: unknown } | undefined)?.cause)}`));
      });
    }
  });
}
