// Reference floor, not a product path: the least a Node relay can do per packet
// (dgram 'message' on one connected socket, send() on the other, no parsing, no
// rewrite, no SRTP). It shows how much of our bridge's cost is Node's dgram itself.
import { createSocket } from 'node:dgram';
import { serveRelay } from './relay-ipc.mjs';

const bridges = [];
const bind = (s) => new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));

async function create({ specs }) {
  const out = [];
  for (const spec of specs) {
    const a = createSocket('udp4');
    const b = createSocket('udp4');
    const aPort = await bind(a);
    const bPort = await bind(b);
    await Promise.all([new Promise((r) => a.connect(spec.aRemote, '127.0.0.1', r)), new Promise((r) => b.connect(spec.bRemote, '127.0.0.1', r))]);
    a.on('error', () => {}); b.on('error', () => {}); // ICMP port unreachable before the far end binds
    a.on('message', (msg) => b.send(msg));
    b.on('message', (msg) => a.send(msg));
    bridges.push({ a, b });
    out.push({ aPort, bPort });
  }
  return out;
}

const handlers = { create, mem: () => ({ rss: process.memoryUsage().rss, bridges: bridges.length }) };
serveRelay(handlers);
