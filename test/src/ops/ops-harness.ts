// What the operations tests share: the admin API and /metrics of a test gateway (with
// its token), the Prometheus text format read into numbers, and a caller that is JsSIP
// running in Node with werift as its peer connection (as in the issue 4 tests) and can
// start and stop sending audio at will, so a test decides which direction carries media.

import assert from 'node:assert/strict';
import { RtpHeader, RtpPacket, type RTCPeerConnection, type MediaStreamTrack } from 'werift';
import { nextEvent } from '../sip/jssip-node.js';
import { ADMIN_TOKEN, CALLER, DOMAIN, sleep, type TestGateway } from '../gateway/harness.js';
import { JsSIP, stopUa, type JsSipSession, type JsSipUA } from '../gateway/jssip-caller.js';

export { stopUa, type JsSipSession, type JsSipUA };

/** A request to the gateway's admin API; `token` null sends none. */
export async function admin(gw: TestGateway, method: string, path: string, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${gw.ops.adminUrl!}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* text */ }
  return { status: res.status, body, text };
}

/** Prometheus text exposition as series -> value (`name{a="x",b="y"}` with labels sorted). */
export type Scrape = Map<string, number>;

export async function scrape(gw: TestGateway): Promise<Scrape> {
  const r = await admin(gw, 'GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  return parseExposition(r.text);
}

export function parseExposition(text: string): Scrape {
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!] as const).sort();
    out.set(series(m[1]!, Object.fromEntries(labels)), Number(m[3]));
  }
  return out;
}

/** The key of one series; labels in any order. The node label is left out (every series has it). */
export function series(name: string, labels: Record<string, string> = {}): string {
  const l = Object.entries(labels).filter(([k]) => k !== 'node').sort(([a], [b]) => a.localeCompare(b));
  return l.length === 0 ? name : `${name}{${l.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** A series' value, 0 when absent (a counter not yet incremented, a gauge reset). */
export function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return s.get(series(name, labels)) ?? 0;
}

/** The change of a series between two scrapes. */
export function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  return value(after, name, labels) - value(before, name, labels);
}

/**
 * JsSIP for CALLER over the gateway's WebSocket, once registered (or, with `register`
 * false, connected: a caller needs no registration, and stops without unregistering).
 */
export async function registerCaller(gw: TestGateway, extra: Record<string, unknown> = {}, register = true): Promise<JsSipUA> {
  const ws = gw.listeningPoints().find((p) => p.protocol === 'ws')!;
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(`ws://127.0.0.1:${ws.port}`)],
    uri: `sip:${CALLER.username}@${DOMAIN}`, password: CALLER.password, register, ...extra,
  });
  const ready = register ? nextEvent(ua, 'registered', 'registrationFailed') : nextEvent(ua, 'connected', 'disconnected');
  ua.start();
  await ready;
  return ua;
}

/** A call from the werift "browser": counts what it receives, sends PCMU when told to. */
export interface BrowserCall {
  session: JsSipSession;
  pc: () => RTCPeerConnection | null;
  received: () => number;
  sent: () => number;
  /** Starts sending 20 ms of PCMU every 20 ms until stopSending(). */
  startSending(): void;
  stopSending(): Promise<void>;
}

/** Every peer connection the calls made, so a failed test's after() can close them (their sockets keep a process alive). */
const peerConnections = new Set<RTCPeerConnection>();

export async function closePeerConnections(): Promise<void> {
  for (const pc of peerConnections) await pc.close().catch(() => undefined);
  peerConnections.clear();
}

export function placeCall(ua: JsSipUA, number: string, opts: { extraHeaders?: string[]; uriParams?: string } = {}): BrowserCall {
  let pc: RTCPeerConnection | null = null;
  let received = 0;
  let sent = 0;
  let sending: Promise<void> | null = null;
  let stop = false;
  const session = ua.call(`sip:${number}@${DOMAIN}${opts.uriParams ?? ''}`, {
    mediaConstraints: { audio: false, video: false },
    ...(opts.extraHeaders ? { extraHeaders: opts.extraHeaders } : {}),
    eventHandlers: {
      peerconnection: (e: { peerconnection: unknown }) => {
        pc = e.peerconnection as RTCPeerConnection;
        peerConnections.add(pc);
        pc.addTransceiver('audio', { direction: 'sendrecv' });
        pc.onTrack.subscribe((track: MediaStreamTrack) => { track.onReceiveRtp.subscribe(() => { received++; }); });
      },
    },
  });
  return {
    session,
    pc: () => pc,
    received: () => received,
    sent: () => sent,
    startSending() {
      if (sending || !pc) return;
      const sender = pc.getTransceivers()[0]!.sender;
      stop = false;
      sending = (async () => {
        for (let seq = 1; !stop; seq++) {
          const header = new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp: seq * 160, payloadType: 0, marker: seq === 1 });
          await sender.sendRtp(new RtpPacket(header, Buffer.alloc(160, 0xff))).catch(() => undefined);
          sent++;
          await sleep(20);
        }
      })();
    },
    async stopSending() {
      stop = true;
      await sending;
      sending = null;
    },
  };
}

/**
 * Waits for the call to be confirmed and (unless `media` is false) werift's ICE and DTLS
 * with the gateway to complete.
 */
export async function confirmed(call: BrowserCall, media = true): Promise<void> {
  await nextEvent(call.session, 'confirmed', 'failed', 15_000);
  if (!media) return;
  const pc = call.pc();
  assert.ok(pc, 'JsSIP made its peer connection');
  for (const until = Date.now() + 10_000; pc.connectionState !== 'connected' && Date.now() < until;) await sleep(20);
  assert.equal(pc.connectionState, 'connected', 'ICE and DTLS with the gateway completed');
}

/** Hangs up from the browser side and waits for JsSIP to see the end. */
export async function hangUp(call: BrowserCall): Promise<void> {
  await call.stopSending();
  const ended = nextEvent(call.session, 'ended', 'failed');
  call.session.terminate();
  await ended;
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function until<T>(fn: () => T | Promise<T>, ms = 5_000, step = 50): Promise<T> {
  let v = await fn();
  for (const end = Date.now() + ms; !v && Date.now() < end;) {
    await sleep(step);
    v = await fn();
  }
  return v;
}
