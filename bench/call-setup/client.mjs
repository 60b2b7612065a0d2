// The browser side of the bench: JsSIP in Node with werift as its RTCPeerConnection,
// through the test project's shims (test/src/sip/jssip-node.ts, compiled by `tsc -b`).
// The WebSocket JsSIP opens is wrapped to timestamp, on the client, the moment the
// INVITE is handed to the socket and the moment the 200 arrives (client-observed setup).

import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { RtpHeader, RtpPacket } from 'werift';
import { loadJsSIP } from '../../test/dist/sip/jssip-node.js';

const JsSIP = loadJsSIP();

/** Call-ID -> { inviteSentAt, okAt } in performance.now() milliseconds. */
export const clientTimes = new Map();

function callIdOf(text) {
  const m = /\r\n(?:Call-ID|i)\s*:\s*([^\r\n]+)/i.exec(text);
  return m ? m[1].trim() : '';
}

class TimedWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.addEventListener('message', (ev) => {
      const at = performance.now();
      const text = typeof ev.data === 'string' ? ev.data : ev.data.toString();
      if (text.startsWith('SIP/2.0 200') && /\r\n(?:CSeq)\s*:\s*\d+\s+INVITE/i.test(text)) {
        const t = clientTimes.get(callIdOf(text));
        if (t && t.okAt === undefined) t.okAt = at;
      }
    });
  }

  send(data, ...rest) {
    if (typeof data === 'string' && data.startsWith('INVITE ')) {
      const id = callIdOf(data);
      if (!clientTimes.has(id)) clientTimes.set(id, { inviteSentAt: performance.now() });
    }
    return super.send(data, ...rest);
  }
}
globalThis.WebSocket = TimedWebSocket;

function once(emitter, ev, failEv, ms = 15000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${ev}' within ${ms} ms`)), ms);
    emitter.once(ev, (a) => { clearTimeout(t); resolve(a); });
    if (failEv) emitter.once(failEv, (a) => { clearTimeout(t); reject(new Error(`${failEv}: ${a?.cause ?? ''} ${a?.message?.status_code ?? ''}`)); });
  });
}

/** A JsSIP UA connected to `wsUrl`; registers only when credentials are given. */
export async function startUa({ wsUrl, domain, user = 'bench', password }) {
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(wsUrl)],
    uri: `sip:${user}@${domain}`,
    ...(password ? { password } : {}),
    register: Boolean(password),
    session_timers: false,
    user_agent: 'JsSIP in Node (trapezoid call-setup bench)',
  });
  const ready = password ? once(ua, 'registered', 'registrationFailed') : once(ua, 'connected', 'disconnected');
  ua.start();
  await ready;
  return ua;
}

export async function stopUa(ua) {
  if (!ua?.isConnected()) return;
  const gone = once(ua, 'disconnected', undefined, 5000).catch(() => undefined);
  ua.stop();
  await gone;
}

/**
 * Places one call and waits until it is confirmed (200 received, ACK sent). Returns
 * { session, pc, callId }. The peer connection gets a send-receive audio transceiver,
 * as a browser with a microphone would offer.
 */
export async function placeCall(ua, target) {
  let pc = null;
  const session = ua.call(target, {
    mediaConstraints: { audio: false, video: false },
    eventHandlers: {
      peerconnection: (e) => {
        pc = e.peerconnection;
        pc.addTransceiver('audio', { direction: 'sendrecv' });
      },
    },
  });
  await once(session, 'confirmed', 'failed');
  return { session, pc, callId: session._request?.call_id ?? session.id.slice(0, -session._from_tag.length) };
}

export async function waitConnected(pc, ms) {
  for (const until = Date.now() + ms; pc.connectionState !== 'connected' && Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return pc.connectionState === 'connected';
}

/** 20 ms PCMU frames for `ms` milliseconds (the far end's echo is not needed here). */
export async function sendAudio(pc, ms) {
  const sender = pc.getTransceivers()[0].sender;
  for (let i = 0; i < ms / 20; i++) {
    const header = new RtpHeader({ sequenceNumber: i, timestamp: i * 160, payloadType: 0, marker: i === 0 });
    await sender.sendRtp(new RtpPacket(header, Buffer.alloc(160, 0xff)));
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function hangUp(session) {
  if (session.isEnded()) return;
  const ended = once(session, 'ended', 'failed', 10000);
  session.terminate();
  await ended;
}
