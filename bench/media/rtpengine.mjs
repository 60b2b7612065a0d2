// Starts Debian's rtpengine (userspace forwarding: --table=-1) and drives it over
// its ng control protocol: "<cookie> <bencoded dict>" datagrams over UDP.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { encode, decode } from './bencode.mjs';

export async function startRtpengine({ ngPort, portMin, portMax, threads = 1 }) {
  const args = [
    '--config-file=none', '--table=-1', '--interface=127.0.0.1', `--listen-ng=127.0.0.1:${ngPort}`, `--listen-cli=127.0.0.1:${ngPort + 1}`,
    `--port-min=${portMin}`, `--port-max=${portMax}`, '--foreground', '--log-stderr',
    '--log-level=3', `--num-threads=${threads}`, '--timeout=600', '--silent-timeout=600',
    '--delete-delay=0', '--no-fallback',
  ];
  const child = spawn('/usr/bin/rtpengine', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const ng = new NgClient(ngPort);
  for (let i = 0; ; i++) {
    try {
      const r = await ng.command({ command: 'ping' }, 300);
      if (r.result === 'pong') break;
    } catch (err) {
      if (child.exitCode !== null || i > 30) {
        child.kill('SIGKILL');
        ng.close();
        throw new Error(`rtpengine did not start: ${err.message}\n${stderr}`);
      }
    }
  }
  return { child, ng, pid: child.pid, stop: () => { ng.close(); child.kill('SIGKILL'); } };
}

export class NgClient {
  constructor(port) {
    this.port = port;
    this.sock = createSocket('udp4');
    this.sock.bind(0, '127.0.0.1');
    this.pending = new Map();
    this.sock.on('message', (msg) => {
      const sp = msg.indexOf(0x20);
      const cookie = msg.toString('latin1', 0, sp);
      const p = this.pending.get(cookie);
      if (!p) return;
      this.pending.delete(cookie);
      clearTimeout(p.timer);
      try { p.resolve(decode(msg.subarray(sp + 1))); } catch (e) { p.reject(e); }
    });
  }
  command(dict, timeoutMs = 2000) {
    const cookie = randomBytes(6).toString('hex');
    const msg = Buffer.concat([Buffer.from(cookie + ' '), encode(dict)]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cookie);
        reject(new Error(`ng ${dict.command} timed out`));
      }, timeoutMs);
      this.pending.set(cookie, { resolve, reject, timer });
      this.sock.send(msg, this.port, '127.0.0.1');
    });
  }
  close() { this.sock.close(); }
}

const PROFILE_SDES = { AES_CM_128_HMAC_SHA1_80: 'AES_CM_128_HMAC_SHA1_80', AEAD_AES_128_GCM: 'AEAD_AES_128_GCM' };

export function audioSdp({ port, proto = 'RTP/AVP', crypto }) {
  const lines = [
    'v=0', `o=- ${port} 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} ${proto} 0`, 'a=rtpmap:0 PCMU/8000', 'a=sendrecv',
  ];
  if (crypto) lines.push(`a=crypto:1 ${PROFILE_SDES[crypto.profile]} inline:${crypto.key}`);
  return lines.join('\r\n') + '\r\n';
}

/** The media port and (if any) first a=crypto key of an SDP body. */
export function parseAnswer(sdp) {
  const m = /^m=audio (\d+) (\S+)/m.exec(sdp);
  const c = /^a=crypto:\d+ (\S+) inline:([A-Za-z0-9+/=]+)/m.exec(sdp);
  return { port: Number(m[1]), proto: m[2], crypto: c ? { profile: c[1], key: c[2] } : null };
}

/**
 * One bridged call through rtpengine. `a` is the caller side (SRTP when `srtp` is
 * given: RTP/SAVP with SDES), `b` the callee side, always plain RTP/AVP.
 * Returns the rtpengine ports each side must send to, and rtpengine's SDES key toward a.
 */
export async function ngBridge(ng, { callId, aPort, bPort, srtp }) {
  const offer = await ng.command({
    command: 'offer', 'call-id': callId, 'from-tag': 'a' + callId,
    sdp: audioSdp({ port: aPort, proto: srtp ? 'RTP/SAVP' : 'RTP/AVP', crypto: srtp && { profile: srtp.profile, key: srtp.aKey } }),
    'transport-protocol': 'RTP/AVP', replace: ['origin', 'session-connection'],
    ...(srtp ? { SDES: ['only-' + srtp.profile] } : {}),
  });
  if (offer.result !== 'ok') throw new Error(`offer: ${JSON.stringify(offer)}`);
  const toB = parseAnswer(offer.sdp);
  const answer = await ng.command({
    command: 'answer', 'call-id': callId, 'from-tag': 'a' + callId, 'to-tag': 'b' + callId,
    sdp: audioSdp({ port: bPort }), replace: ['origin', 'session-connection'],
    ...(srtp ? { 'transport-protocol': 'RTP/SAVP' } : {}),
  });
  if (answer.result !== 'ok') throw new Error(`answer: ${JSON.stringify(answer)}`);
  const toA = parseAnswer(answer.sdp);
  return { aSendTo: toA.port, bSendTo: toB.port, engineKeyToA: toA.crypto };
}
