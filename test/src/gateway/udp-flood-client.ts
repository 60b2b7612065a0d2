// The attacker of the UDP flood test (edge-udp-flood.test.ts), in its own process so the
// gateway's heap (measured in the test's process) holds only the gateway:
//
//   node udp-flood-client.js PORT COUNT SECONDS SOURCE...
//     sends COUNT INVITEs to 127.0.0.1:PORT spread evenly over SECONDS, round-robin from
//     one UDP socket per SOURCE (an address, or FIRST+N: N consecutive addresses from
//     FIRST, as a spoofed flood looks from the gateway). Every other INVITE of each
//     source is a scanner's (no credentials, no body); the rest carry a browser offer and made-up
//     credentials for a real user (which must be checked, so they reach the digest
//     verifier). Each has its own Call-ID. Counts what comes back and prints one JSON
//     line 1.5 s after the last send:
//     { sent, replies, distinct, statuses: {status: n}, bytesSent, bytesReceived, startedAt, endedAt }
//     (distinct: requests answered at least once; replies > distinct means something was
//     retransmitted to the flooder, i.e. reflected).

import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { newBranch, requestText, silentBrowserOffer } from './raw-sip.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function addresses(spec: string): string[] {
  const m = /^(\d+\.\d+\.\d+\.\d+)\+(\d+)$/.exec(spec);
  if (!m) return [spec];
  const first = m[1]!.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  return Array.from({ length: Number(m[2]) }, (_, i) => {
    const n = first + i;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  });
}

function invite(i: number, scanner: boolean, sentBy: string, callId: string): string {
  const uri = 'sip:1000@trapezoid.test';
  const common = {
    method: 'INVITE', uri, via: `SIP/2.0/UDP ${sentBy};branch=${newBranch()};rport`, from: `<sip:alice@trapezoid.test>;tag=${i.toString(36)}`,
    to: `<${uri}>`, callId, cseq: 1,
  };
  if (scanner) return requestText({ ...common, headers: [`Contact: <sip:100@${sentBy}>`, 'User-Agent: pbx'] });
  const forged = `Proxy-Authorization: Digest username="alice", realm="trapezoid", nonce="${randomBytes(24).toString('base64url')}", ` +
    `uri="${uri}", response="${randomBytes(16).toString('hex')}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${i.toString(16)}"`;
  return requestText({ ...common, headers: [`Contact: <sip:alice@${sentBy}>`, forged], body: silentBrowserOffer() });
}

async function main(port: number, count: number, seconds: number, specs: string[]): Promise<void> {
  const out = {
    sent: 0, replies: 0, distinct: 0, statuses: {} as Record<string, number>, bytesSent: 0, bytesReceived: 0, startedAt: 0, endedAt: 0,
  };
  const answered = new Set<string>();
  const sockets: Array<{ s: Socket; sentBy: string }> = [];
  for (const address of specs.flatMap(addresses)) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, address, () => resolve()); });
    s.on('error', () => undefined);
    s.on('message', (m) => {
      out.replies++;
      out.bytesReceived += m.length;
      const text = m.toString('latin1');
      const status = /^SIP\/2\.0 (\d{3})/.exec(text)?.[1] ?? 'other';
      out.statuses[status] = (out.statuses[status] ?? 0) + 1;
      const callId = /^Call-ID:\s*(\S+)/im.exec(text)?.[1];
      if (callId) answered.add(callId);
    });
    sockets.push({ s, sentBy: `${address}:${s.address().port}` });
  }
  // Ticks of 10 ms, each sending its share, so the flood lasts SECONDS whatever the machine.
  const ticks = Math.max(1, Math.round(seconds * 100));
  out.startedAt = Date.now();
  for (let t = 0; t < ticks; t++) {
    const upTo = Math.round(((t + 1) * count) / ticks);
    for (; out.sent < upTo; out.sent++) {
      const n = sockets.length;
      const { s, sentBy } = sockets[out.sent % n]!;
      // Alternating per source: each source sends both kinds.
      const scanner = (n === 1 ? out.sent : out.sent % n + Math.floor(out.sent / n)) % 2 === 0;
      const text = invite(out.sent, scanner, sentBy, `flood-${out.sent}-${randomBytes(4).toString('hex')}`);
      out.bytesSent += Buffer.byteLength(text, 'latin1');
      s.send(text, port, '127.0.0.1');
    }
    await sleep(Math.max(0, out.startedAt + (t + 1) * 10 - Date.now()));
  }
  out.endedAt = Date.now();
  await sleep(1_500);
  out.distinct = answered.size;
  for (const { s } of sockets) s.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

const [port, count, seconds, ...specs] = process.argv.slice(2);
main(Number(port), Number(count), Number(seconds), specs).then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`udp-flood-client: ${String(err)}\n`);
  process.exit(1);
});
