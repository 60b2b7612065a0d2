// Added one-way latency on the wire: dumpcap records the media on lo (classic pcap, the
// first 80 bytes of each packet) while calls run; each packet the system under test
// forwards is matched with the packet that came in, by the load client's marker (call
// index and packet number, peer.mjs). Toward the trunk the marker is in the plain RTP
// payload; toward the browser the SRTP header's SSRC and sequence number name it (the
// client noted which marker came with the first of them). Both systems are measured the
// same way; the figure is (system's packet out) - (packet in) as the kernel stamped them.
import { readFileSync } from 'node:fs';
import { start, stop, sleep } from '../call-setup/procs.mjs';

const SNAPLEN = 80;

/** dumpcap on lo for UDP to or from these ports; returns stop(), after which the file is complete. */
export async function startMediaCapture(file, { clientPorts, trunkPort, cpus }) {
  const filter = `udp and (portrange ${clientPorts.min}-${clientPorts.max} or port ${trunkPort})`;
  const args = ['-q', '-i', 'lo', '-s', String(SNAPLEN), '-P', '-B', '64', '-f', filter, '-w', file];
  const child = cpus ? start('dumpcap', 'taskset', ['-c', cpus, 'dumpcap', ...args]) : start('dumpcap', 'dumpcap', args);
  await sleep(1000);
  if (child.exitCode !== null) throw new Error(`dumpcap exited: ${child.output}`);
  return { stop: async () => { await sleep(300); await stop(child, 5000, 'SIGINT'); } };
}

/** UDP packets of a classic pcap of lo (Ethernet framing, IPv4): time in µs, ports, payload head. */
function* udpPackets(buf) {
  const magic = buf.readUInt32LE(0);
  const nano = magic === 0xa1b23c4d;
  if (magic !== 0xa1b2c3d4 && !nano) throw new Error('not a little-endian classic pcap');
  const linktype = buf.readUInt32LE(20);
  const l2 = linktype === 1 ? 14 : linktype === 113 ? 16 : 0;
  let at = 24;
  while (at + 16 <= buf.length) {
    const sec = buf.readUInt32LE(at);
    const frac = buf.readUInt32LE(at + 4);
    const incl = buf.readUInt32LE(at + 8);
    const p = at + 16;
    at = p + incl;
    if (at > buf.length) break;
    const ip = p + l2;
    if ((buf[ip] >> 4) !== 4 || buf[ip + 9] !== 17) continue;
    const udp = ip + (buf[ip] & 0x0f) * 4;
    if (udp + 8 > at) continue;
    yield {
      us: sec * 1e6 + (nano ? frac / 1000 : frac),
      src: buf.readUInt16BE(udp), dst: buf.readUInt16BE(udp + 2), data: udp + 8, end: at, buf,
    };
  }
}

function quantiles(xs) {
  const v = xs.sort((a, b) => a - b);
  const q = (p) => (v.length ? v[Math.min(v.length - 1, Math.ceil(p * v.length) - 1)] : null);
  return { n: v.length, median: q(0.5), p99: q(0.99), max: v.length ? v.at(-1) : null };
}

/**
 * Matches each forwarded packet with its incoming one. `calls`: the load client's call
 * records (media.index, ssrc, firstSeq, back). Returns ms quantiles per direction and overall.
 */
export function analyzeLatency(file, { calls, clientPorts, trunkPort }) {
  const buf = readFileSync(file);
  const bySsrc = new Map();
  const byBackSsrc = new Map();
  for (const r of calls) {
    const m = r.media;
    if (!m) continue;
    bySsrc.set(m.ssrc, m);
    if (m.back) byBackSsrc.set(m.back.ssrc, m);
  }
  const key = (index, counter) => index * 1e6 + counter;
  const inToTrunk = new Map();
  const inToBrowser = new Map();
  const toTrunk = [];
  const toBrowser = [];
  const isClient = (port) => port >= clientPorts.min && port <= clientPorts.max;
  let unmatched = 0;
  for (const p of udpPackets(buf)) {
    const b = p.buf;
    if (p.end - p.data < 12 || (b[p.data] & 0xc0) !== 0x80) continue;
    const pt = b[p.data + 1] & 0x7f;
    if (pt >= 72 && pt <= 76) continue; // RTCP
    const seq = b.readUInt16BE(p.data + 2);
    const ssrc = b.readUInt32BE(p.data + 8);
    if (isClient(p.src)) {
      // Browser -> system (SRTP): named by our SSRC and sequence number.
      const m = bySsrc.get(ssrc);
      if (m) inToTrunk.set(key(m.index, (seq - m.firstSeq) & 0xffff), p.us);
    } else if (p.dst === trunkPort && p.end - p.data >= 20) {
      // System -> trunk (plain): the marker is in the payload.
      const t = inToTrunk.get(key(b.readUInt32BE(p.data + 12), b.readUInt32BE(p.data + 16)));
      if (t !== undefined) toTrunk.push((p.us - t) / 1000);
      else unmatched++;
    } else if (p.src === trunkPort && p.end - p.data >= 20) {
      inToBrowser.set(key(b.readUInt32BE(p.data + 12), b.readUInt32BE(p.data + 16)), p.us);
    } else if (isClient(p.dst)) {
      const m = byBackSsrc.get(ssrc);
      if (!m) continue;
      const t = inToBrowser.get(key(m.index, (m.back.counter + ((seq - m.back.seq) & 0xffff)) >>> 0));
      if (t !== undefined) toBrowser.push((p.us - t) / 1000);
      else unmatched++;
    }
  }
  return {
    toTrunkMs: quantiles(toTrunk), toBrowserMs: quantiles(toBrowser),
    bothMs: quantiles([...toTrunk, ...toBrowser]), unmatched,
  };
}
