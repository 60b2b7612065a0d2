// A browser without a browser, for the drills that need no Chromium: JsSIP in Node
// (../sip/jssip-node.ts) with werift as its peer connection, sending 20 ms of PCMU every
// 20 ms for as long as its call lasts and counting what comes back. JsSIP keeps its
// default reconnection: after its WebSocket dies it reconnects to the same URL.

import { RtpHeader, RtpPacket, type MediaStreamTrack, type RTCPeerConnection } from 'werift';
import { loadJsSIP, nextEvent } from '../sip/jssip-node.js';
import { CALLER, DOMAIN, sleep } from '../gateway/harness.js';

const JsSIP = loadJsSIP();
type JsSipUA = InstanceType<typeof JsSIP.UA>;
type JsSipSession = ReturnType<JsSipUA['call']>;

export class NodeCaller {
  /** RTP packets the peer connection received. */
  received = 0;
  /** Date.now() of the last arrivals (a ring of 4096), for media gaps. */
  private readonly arrivals = new Float64Array(4096);
  session: JsSipSession | null = null;
  pc: RTCPeerConnection | null = null;
  private sending = false;
  private registrations = 0;

  private constructor(readonly ua: JsSipUA) {
    ua.on('registered', () => { this.registrations++; });
  }

  /** Registers CALLER over `wsUrl`. */
  static async register(wsUrl: string): Promise<NodeCaller> {
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(wsUrl)],
      uri: `sip:${CALLER.username}@${DOMAIN}`, password: CALLER.password, register: true,
    });
    const caller = new NodeCaller(ua);
    const registered = nextEvent(ua, 'registered', 'registrationFailed');
    ua.start();
    await registered;
    return caller;
  }

  /** Registrations so far (a reconnect registers again). */
  get registered(): number {
    return this.registrations;
  }

  /** Calls `number` and waits until it rings (a provisional response). */
  async ring(number: string): Promise<void> {
    this.session = this.start(number);
    await nextEvent(this.session, 'progress', 'failed', 15_000);
  }

  /** Calls `number`, waits for ICE and DTLS, and starts sending. */
  async call(number: string): Promise<void> {
    const session = this.start(number);
    this.session = session;
    await nextEvent(session, 'confirmed', 'failed', 15_000);
    const pc = this.pc as RTCPeerConnection | null;
    for (const until = Date.now() + 10_000; pc?.connectionState !== 'connected' && Date.now() < until;) await sleep(20);
    if (pc?.connectionState !== 'connected') throw new Error('ICE and DTLS with the gateway did not complete');
    void this.send(pc);
  }

  private start(number: string): JsSipSession {
    return this.ua.call(`sip:${number}@${DOMAIN}`, {
      mediaConstraints: { audio: false, video: false },
      eventHandlers: {
        peerconnection: (e) => {
          // JsSIP types it as the DOM's RTCPeerConnection; it is werift's (jssip-node.ts).
          const pc = e.peerconnection as unknown as RTCPeerConnection;
          this.pc = pc;
          pc.addTransceiver('audio', { direction: 'sendrecv' });
          pc.onTrack.subscribe((track: MediaStreamTrack) => {
            track.onReceiveRtp.subscribe(() => { this.arrivals[this.received++ & 4095] = Date.now(); });
          });
        },
      },
    });
  }

  private async send(pc: RTCPeerConnection): Promise<void> {
    this.sending = true;
    const sender = pc.getTransceivers()[0]!.sender;
    for (let n = 0; this.sending; n++) {
      const header = new RtpHeader({ sequenceNumber: n & 0xffff, timestamp: (n * 160) >>> 0, payloadType: 0, marker: n === 0 });
      await sender.sendRtp(new RtpPacket(header, Buffer.alloc(160, 0xff))).catch(() => undefined);
      await sleep(20);
    }
  }

  /** The longest silence between two arrivals from `from` (epoch ms) on, with when it ended. */
  longestGap(from: number): { gapMs: number; endedAt: number } {
    const n = Math.min(this.received, 4096);
    const times: number[] = [];
    for (let i = this.received - n; i < this.received; i++) times.push(this.arrivals[i & 4095]!);
    let gapMs = 0;
    let endedAt = 0;
    for (let i = 1; i < times.length; i++) {
      if (times[i]! < from) continue;
      const g = times[i]! - Math.max(times[i - 1]!, from);
      if (g > gapMs) { gapMs = g; endedAt = times[i]!; }
    }
    return { gapMs, endedAt };
  }

  /** Resolves once `n` more packets came back (or rejects after `ms`). */
  async receives(n: number, ms = 10_000): Promise<number> {
    const from = this.received;
    for (const until = Date.now() + ms; this.received < from + n;) {
      if (Date.now() > until) throw new Error(`received ${this.received - from} of ${n} packets in ${ms} ms`);
      await sleep(50);
    }
    return this.received;
  }

  /** Hangs up (BYE) and waits for the session to end. */
  async hangUp(): Promise<void> {
    const s = this.session;
    if (!s) return;
    const ended = nextEvent(s, 'ended', 'failed', 15_000);
    s.terminate();
    await ended;
    this.sending = false;
  }

  /** The session ended by the far end: resolves with JsSIP's originator. */
  async endedBy(ms = 20_000): Promise<string> {
    const e = await nextEvent<{ originator: string }>(this.session!, 'ended', 'failed', ms);
    this.sending = false;
    return e.originator;
  }

  async stop(): Promise<void> {
    this.sending = false;
    await this.pc?.close().catch(() => undefined);
    if (this.ua.isConnected()) {
      const gone = nextEvent(this.ua, 'disconnected', undefined, 5000).catch(() => undefined);
      this.ua.stop();
      await gone;
    } else {
      this.ua.stop();
    }
  }
}
