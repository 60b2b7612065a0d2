// A browser caller without a browser: JsSIP in Node with werift as its peer
// connection (../sip/jssip-node.ts), registered with a test gateway over WebSocket,
// placing a call and sending or counting audio. For the tests that need a real SIP
// over WebSocket client with real ICE, DTLS and SRTP, but also need to cut its
// connection, watch its RTP or keep it silent, which headless Chromium makes awkward.

import { RtpHeader, RtpPacket, type RTCPeerConnection, type MediaStreamTrack } from 'werift';
import { loadJsSIP, nextEvent } from '../sip/jssip-node.js';
import { CALLER, DOMAIN, sleep, type TestGateway } from './harness.js';

export const JsSIP = loadJsSIP();
export type JsSipUA = InstanceType<typeof JsSIP.UA>;
export type JsSipSession = ReturnType<JsSipUA['call']>;

/** A JsSIP UA for `user` over the gateway's WebSocket listener, once registered. */
export async function registerUa(gw: TestGateway, extra: Record<string, unknown> = {}, user = CALLER): Promise<JsSipUA> {
  const ws = gw.listeningPoints().find((p) => p.protocol === 'ws')!;
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(`ws://127.0.0.1:${ws.port}`)],
    uri: `sip:${user.username}@${DOMAIN}`, password: user.password, register: true,
    user_agent: 'JsSIP in Node (trapezoid gateway test)', ...extra,
  });
  const registered = nextEvent(ua, 'registered', 'registrationFailed');
  ua.start();
  await registered;
  return ua;
}

export interface WeriftCall {
  session: JsSipSession;
  pc: RTCPeerConnection;
  /** RTP packets werift received (payloads, first 4 bytes in hex, for telling sources apart). */
  received: string[];
  /** Sends `n` 20 ms PCMU packets filled with `fill`, 20 ms apart. */
  sendAudio(n: number, fill?: number): Promise<void>;
}

/** Calls `number` through the gateway; resolves once confirmed and werift is connected. */
export async function callWithWerift(ua: JsSipUA, number: string, opts: { waitConnected?: boolean } = {}): Promise<WeriftCall> {
  let pc: RTCPeerConnection | null = null;
  const received: string[] = [];
  const session = ua.call(`sip:${number}@${DOMAIN}`, {
    mediaConstraints: { audio: false, video: false },
    eventHandlers: {
      // One loopback host candidate is all werift gathers here: send the offer with it
      // instead of waiting for werift to call gathering complete (seconds).
      icecandidate: (e: { ready(): void }) => e.ready(),
      peerconnection: (e) => {
        // JsSIP types it as the DOM's RTCPeerConnection; it is werift's (jssip-node.ts).
        pc = e.peerconnection as unknown as RTCPeerConnection;
        pc.addTransceiver('audio', { direction: 'sendrecv' });
        pc.onTrack.subscribe((track: MediaStreamTrack) => {
          track.onReceiveRtp.subscribe((rtp) => { received.push(rtp.payload.subarray(0, 4).toString('hex')); });
        });
      },
    },
  });
  await nextEvent(session, 'confirmed', 'failed');
  const conn = pc as RTCPeerConnection | null;
  if (!conn) throw new Error('JsSIP made no peer connection');
  if (opts.waitConnected !== false) {
    for (const until = Date.now() + 10_000; conn.connectionState !== 'connected' && Date.now() < until;) await sleep(20);
    if (conn.connectionState !== 'connected') {
      // Hang up and close the peer connection first: its sockets and timers would keep
      // the test's process alive long after the failure is reported.
      const state = conn.connectionState;
      try { session.terminate(); } catch { /* already ended */ }
      await conn.close().catch(() => undefined);
      throw new Error(`werift did not connect: ${state}`);
    }
  }
  let seq = 0;
  const sendAudio = async (n: number, fill = 0xff): Promise<void> => {
    const sender = conn.getTransceivers()[0]!.sender;
    for (let i = 0; i < n; i++, seq++) {
      const header = new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp: seq * 160, payloadType: 0, marker: seq === 0 });
      await sender.sendRtp(new RtpPacket(header, Buffer.alloc(160, fill)));
      await sleep(20);
    }
  };
  return { session, pc: conn, received, sendAudio };
}

/** Stops a UA and waits for its WebSocket to close. */
export async function stopUa(ua: JsSipUA): Promise<void> {
  if (!ua.isConnected()) {
    ua.stop();
    return;
  }
  const gone = nextEvent(ua, 'disconnected');
  ua.stop();
  await gone.catch(() => undefined);
}

/** Calls `number` expecting a refusal; resolves with the final status and reason phrase JsSIP saw. */
export async function callFails(ua: JsSipUA, number: string): Promise<{ status: number | undefined; reason: string | undefined }> {
  const session = ua.call(`sip:${number}@${DOMAIN}`, {
    mediaConstraints: { audio: false, video: false },
    eventHandlers: {
      icecandidate: (e: { ready(): void }) => e.ready(),
      peerconnection: (e) => { (e.peerconnection as unknown as RTCPeerConnection).addTransceiver('audio', { direction: 'sendrecv' }); },
    },
  });
  const failed = await nextEvent<{ message?: { status_code?: number; reason_phrase?: string } }>(session, 'failed', 'confirmed', 15_000);
  return { status: failed.message?.status_code, reason: failed.message?.reason_phrase };
}

/** Sends audio until `want` packets came back (the far end echoes) or `max` went out. */
export async function echoed(call: WeriftCall, want: number, max = want * 3): Promise<{ sent: number; received: number }> {
  const start = call.received.length;
  let sent = 0;
  for (; sent < max && call.received.length - start < want; sent += 5) await call.sendAudio(5);
  for (const until = Date.now() + 2_000; call.received.length - start < want && Date.now() < until;) await sleep(50);
  return { sent, received: call.received.length - start };
}
