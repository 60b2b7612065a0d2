// sipp as a live trunk: its built-in uas answers our RTP offer, its built-in uac offers
// us a call. SIP is spoken with hand-written messages on a loopback socket (libs/sdp
// must not depend on libs/sip); what is checked is the SDP each side produced.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import {
  rtpAnswerToWebrtcAnswer, rtpOfferToWebrtcOffer, webrtcAnswerToRtpAnswer, webrtcOfferToRtpOffer,
} from './index.js';
import { ICE, reparse, testdata, TRUNK_LOCAL, WEBRTC_LOCAL } from './test-support.js';

const G711 = { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] };
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const s of sockets) s.close();
});

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

/** A port that was free a moment ago (for sipp's own sockets). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

function sipp(args: string[]): ChildProcess {
  const child = spawn('sipp', [...args, '-m', '1', '-timeout', '15s', '-nostdin'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  return child;
}

/** Next SIP message on the socket matching `pred`. */
function nextMessage(sock: Socket, pred: (msg: string) => boolean): Promise<{ msg: string; port: number }> {
  return new Promise((resolve) => {
    const on = (buf: Buffer, rinfo: { port: number }): void => {
      const msg = buf.toString('utf8');
      if (!pred(msg)) return;
      sock.off('message', on);
      resolve({ msg, port: rinfo.port });
    };
    sock.on('message', on);
  });
}

function header(msg: string, name: string): string {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(msg);
  return m ? (m[1] as string).trim() : '';
}
function body(msg: string): string {
  return msg.slice(msg.indexOf('\r\n\r\n') + 4);
}

test('sipp uas answers our RTP offer; its answer becomes a WebRTC answer', { timeout: 20_000 }, async () => {
  const sock = await udpSocket();
  const port = await freePort();
  const mport = await freePort();
  const child = sipp(['-sn', 'uas', '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mport)]);
  const exited = once(child, 'exit');
  await new Promise((r) => setTimeout(r, 300)); // sipp binds its socket
  const o = webrtcOfferToRtpOffer(testdata('chromium-live-offer.sdp'), G711, TRUNK_LOCAL);
  const local = sock.address().port;
  const common = `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-sdp-1\r\nFrom: <sip:gw@127.0.0.1>;tag=gw1\r\n`
    + `To: <sip:sipp@127.0.0.1:${port}>\r\nCall-ID: sdp-test-1@127.0.0.1\r\nMax-Forwards: 70\r\n`;
  const invite = `INVITE sip:sipp@127.0.0.1:${port} SIP/2.0\r\n${common}CSeq: 1 INVITE\r\n`
    + `Contact: <sip:gw@127.0.0.1:${local}>\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(o.sdp)}\r\n\r\n${o.sdp}`;
  const ok = nextMessage(sock, (m) => m.startsWith('SIP/2.0 200'));
  sock.send(invite, port, '127.0.0.1');
  const { msg } = await ok;
  const toTag = header(msg, 'To');
  const answer = body(msg);
  assert.match(answer, /m=audio \d+ RTP\/AVP 0/);
  const a = rtpAnswerToWebrtcAnswer(o.session, answer, ICE, WEBRTC_LOCAL);
  assert.deepEqual(a.mapping, [{ webrtcPt: 0, trunkPt: 0, codec: 'PCMU', clockRate: 8000 }]);
  assert.equal(a.remote.address, '127.0.0.1');
  assert.equal(a.remote.port, mport);
  const m = reparse(a.sdp).media[0]!;
  assert.equal(m.protocol, 'UDP/TLS/RTP/SAVPF');
  assert.equal(String(m.payloads), '0');
  // Finish the call so sipp exits by itself.
  const dialog = common.replace(/^To: .*$/m, `To: ${toTag}`);
  sock.send(`ACK sip:sipp@127.0.0.1:${port} SIP/2.0\r\n${dialog.replace('sdp-1', 'sdp-2')}CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`, port, '127.0.0.1');
  const byeOk = nextMessage(sock, (x) => x.startsWith('SIP/2.0 200') && /CSeq:\s*2 BYE/i.test(x));
  sock.send(`BYE sip:sipp@127.0.0.1:${port} SIP/2.0\r\n${dialog.replace('sdp-1', 'sdp-3')}CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`, port, '127.0.0.1');
  await byeOk;
  const [code] = await exited;
  assert.equal(code, 0, 'sipp counted one successful call');
});

test('sipp uac offers us a call; we answer it with SDP built from a browser answer', { timeout: 20_000 }, async () => {
  const sock = await udpSocket();
  const port = await freePort();
  const mport = await freePort();
  const target = `127.0.0.1:${sock.address().port}`;
  const invited = nextMessage(sock, (m) => m.startsWith('INVITE '));
  const child = sipp(['-sn', 'uac', target, '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mport)]);
  const exited = once(child, 'exit');
  const { msg, port: from } = await invited;
  const o = rtpOfferToWebrtcOffer(body(msg), G711, ICE, WEBRTC_LOCAL, { stream: { ssrc: 99, cname: 'gw' } });
  assert.equal(o.remote.port, mport);
  assert.equal(o.remote.address, '127.0.0.1');
  assert.match(o.sdp, /m=audio 40000 UDP\/TLS\/RTP\/SAVPF 0\r\n/);
  const a = webrtcAnswerToRtpAnswer(o.session, testdata('chromium-live-answer.sdp'), TRUNK_LOCAL);
  assert.deepEqual(a.mapping, [{ webrtcPt: 0, trunkPt: 0, codec: 'PCMU', clockRate: 8000 }]);
  const copy = ['Via', 'From', 'Call-ID', 'CSeq'].map((h) => `${h}: ${header(msg, h)}\r\n`).join('');
  const to = `To: ${header(msg, 'To')};tag=gw2\r\n`;
  sock.send(`SIP/2.0 100 Trying\r\n${copy}To: ${header(msg, 'To')}\r\nContent-Length: 0\r\n\r\n`, from, '127.0.0.1');
  sock.send(`SIP/2.0 200 OK\r\n${copy}${to}Contact: <sip:gw@${target}>\r\nContent-Type: application/sdp\r\n`
    + `Content-Length: ${Buffer.byteLength(a.sdp)}\r\n\r\n${a.sdp}`, from, '127.0.0.1');
  const bye = await nextMessage(sock, (m) => m.startsWith('BYE '));
  const byeCopy = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((h) => `${h}: ${header(bye.msg, h)}\r\n`).join('');
  sock.send(`SIP/2.0 200 OK\r\n${byeCopy}Content-Length: 0\r\n\r\n`, bye.port, '127.0.0.1');
  const [code] = await exited;
  assert.equal(code, 0, 'sipp accepted our 200 OK with the RTP answer and completed the call');
});
