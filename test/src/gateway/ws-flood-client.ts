// The two outside parties of the WebSocket flood test, each in its own process so the
// gateway's heap (measured in the test's process) holds only the gateway:
//
//   node ws-flood-client.js flood URL COUNT LOCAL_ADDRESS
//     opens COUNT SIP WebSockets from LOCAL_ADDRESS, 200 at a time, and holds every one
//     the gateway admits: a third send garbage every 300 ms, a third send CRLF
//     keepalives, a third stay silent (answering pings). Prints one JSON line when each
//     connection was refused or closed by the gateway:
//     { attempted, admitted, refused: {status: n}, closed: {code: n}, ms, startedAt, endedAt }.
//
//   node ws-flood-client.js caller URL USER PASSWORD LOCAL_ADDRESS NUMBER DOMAIN
//     JsSIP with werift (as a browser would run) from LOCAL_ADDRESS: registers, calls
//     NUMBER, sends 20 ms PCMU frames until 50 came back, hangs up. Prints one JSON line:
//     { registered, confirmed, sent, received, ms, at: { registered, confirmed, media } }
//     (at: when each happened, epoch ms, so a test can tell it happened during a flood).

import { WebSocket } from 'ws';
import { RtpHeader, RtpPacket, type MediaStreamTrack, type RTCPeerConnection } from 'werift';
import { boundSocket, loadJsSIP, nextEvent, setMediaAddress } from '../sip/jssip-node.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function flood(url: string, count: number, localAddress: string): Promise<void> {
  const started = Date.now();
  const out = { attempted: 0, admitted: 0, refused: {} as Record<string, number>, closed: {} as Record<string, number>, ms: 0, startedAt: started, endedAt: 0 };
  const bump = (m: Record<string, number>, k: number | string): void => { m[String(k)] = (m[String(k)] ?? 0) + 1; };
  const one = (i: number): Promise<void> => new Promise((resolve) => {
    out.attempted++;
    const ws = new WebSocket(url, 'sip', { localAddress });
    let timer: NodeJS.Timeout | undefined;
    let opened = false;
    ws.on('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      bump(out.refused, res.statusCode ?? 0);
      res.resume();
      ws.terminate();
      resolve();
    });
    ws.once('open', () => {
      opened = true;
      out.admitted++;
      const kind = i % 3;
      if (kind === 0) timer = setInterval(() => ws.send(Buffer.from(`GARBAGE ${i} \u0000\u00ff not SIP\r\n\r\n`, 'latin1')), 300);
      else if (kind === 1) timer = setInterval(() => ws.send('\r\n\r\n'), 300);
    });
    ws.once('close', (code) => {
      if (timer) clearInterval(timer);
      if (opened) bump(out.closed, code);
      resolve();
    });
  });
  const all: Array<Promise<void>> = [];
  for (let i = 0; i < count; i += 200) {
    const batch = Array.from({ length: Math.min(200, count - i) }, (_, k) => one(i + k));
    all.push(...batch);
    // Wait for this batch's upgrades to be answered (not for the held ones to close).
    await Promise.race([Promise.all(batch), sleep(500)]);
  }
  await Promise.all(all);
  out.endedAt = Date.now();
  out.ms = out.endedAt - started;
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function caller(url: string, user: string, password: string, localAddress: string, number: string, domain: string): Promise<void> {
  const started = Date.now();
  const JsSIP = loadJsSIP();
  setMediaAddress(localAddress);
  const result = { registered: false, confirmed: false, sent: 0, received: 0, ms: 0, at: { registered: 0, confirmed: 0, media: 0 } };
  const ua = new JsSIP.UA({ sockets: [boundSocket(JsSIP, url, localAddress)], uri: `sip:${user}@${domain}`, password, register: true });
  try {
    const registered = nextEvent(ua, 'registered', 'registrationFailed', 15_000);
    ua.start();
    await registered;
    result.registered = true;
    result.at.registered = Date.now();
    let pc: RTCPeerConnection | null = null;
    const session = ua.call(`sip:${number}@${domain}`, {
      mediaConstraints: { audio: false, video: false },
      eventHandlers: {
        peerconnection: (e) => {
          pc = e.peerconnection as unknown as RTCPeerConnection;
          pc.addTransceiver('audio', { direction: 'sendrecv' });
          pc.onTrack.subscribe((track: MediaStreamTrack) => { track.onReceiveRtp.subscribe(() => { result.received++; }); });
        },
      },
    });
    await nextEvent(session, 'confirmed', 'failed', 20_000);
    result.confirmed = true;
    result.at.confirmed = Date.now();
    const conn = pc as RTCPeerConnection | null;
    for (const until = Date.now() + 10_000; conn && conn.connectionState !== 'connected' && Date.now() < until;) await sleep(20);
    const sender = conn?.getTransceivers()[0]?.sender;
    for (let i = 0; sender && i < 150 && result.received < 50; i++) {
      await sender.sendRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: i * 160, payloadType: 0, marker: i === 0 }), Buffer.alloc(160, 0xff)));
      result.sent++;
      await sleep(20);
    }
    for (const until = Date.now() + 2_000; result.received < 50 && Date.now() < until;) await sleep(10);
    if (result.received >= 50) result.at.media = Date.now();
    const ended = nextEvent(session, 'ended', 'failed');
    session.terminate();
    await ended;
  } finally {
    result.ms = Date.now() - started;
    process.stdout.write(JSON.stringify(result) + '\n');
    if (ua.isConnected()) {
      const gone = nextEvent(ua, 'disconnected', undefined, 5_000).catch(() => undefined);
      ua.stop();
      await gone;
    }
  }
}

const [role, ...args] = process.argv.slice(2);
const done = role === 'flood'
  ? flood(args[0]!, Number(args[1]), args[2]!)
  : caller(args[0]!, args[1]!, args[2]!, args[3]!, args[4]!, args[5]!);
done.then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`ws-flood-client ${role}: ${String(err)}\n`);
  process.exit(1);
});
