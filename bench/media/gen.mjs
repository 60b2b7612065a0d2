// Traffic generator for the media benchmark, run as its own process (forked with
// IPC) so its CPU is never counted as the relay's. For each bridged call it owns
// two sockets: side A (facing the relay's first leg, SRTP when asked) and side B
// (facing the second leg, plain RTP). Both sides send G.711-sized RTP (12-byte
// header + 160-byte payload = 172 bytes) at a configured rate; the receiver counts
// packets and checks the payload pattern of the first packet of each run, so a
// relay that crossed or corrupted streams fails loudly.
import { createSocket } from 'node:dgram';
import { RtpHeader, SrtpSession } from 'werift';

// Our own in-place SRTP when built (cheaper, so the generator keeps up); werift's otherwise.
let SrtpContext = null;
try {
  ({ SrtpContext } = await import('../../libs/media/dist/srtp/context.js'));
} catch {
  SrtpContext = null;
}

const RTP_LEN = 172;
const groups = new Map();

function srtpSession(profile, txKey, rxKey) {
  if (SrtpContext) {
    const k = (b64) => { const b = Buffer.from(b64, 'base64'); return { masterKey: b.subarray(0, 16), masterSalt: b.subarray(16) }; };
    const tx = new SrtpContext(profile, k(txKey));
    const rx = new SrtpContext(profile, k(rxKey));
    return {
      inPlace: true,
      protect: (b, len) => tx.protectRtp(b, len),
      decrypt: (msg) => {
        const c = Buffer.alloc(msg.length);
        msg.copy(c);
        const n = rx.unprotectRtp(c, c.length);
        if (n < 0) throw new Error('SRTP unprotect failed');
        return c.subarray(0, n);
      },
    };
  }
  const id = profile === 'AEAD_AES_128_GCM' ? 7 : 1;
  const keyLen = 16;
  const tx = Buffer.from(txKey, 'base64');
  const rx = Buffer.from(rxKey, 'base64');
  return new SrtpSession({
    profile: id,
    keys: {
      localMasterKey: tx.subarray(0, keyLen), localMasterSalt: tx.subarray(keyLen),
      remoteMasterKey: rx.subarray(0, keyLen), remoteMasterSalt: rx.subarray(keyLen),
    },
  });
}

class Stream {
  constructor(pattern, peerPattern) {
    this.sock = createSocket({ type: 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
    this.pattern = pattern;
    this.peerPattern = peerPattern;
    this.ssrc = (Math.random() * 0xffffffff) >>> 0;
    this.seq = (Math.random() * 0x7fff) | 0;
    this.ts = (Math.random() * 0x7fffffff) >>> 0;
    this.sent = 0;
    this.recv = 0;
    this.bad = 0;
    this.verifyNext = false;
    this.srtp = null;
    this.ring = Array.from({ length: 16 }, () => Buffer.alloc(RTP_LEN + 16));
    this.ri = 0;
    this.payload = Buffer.alloc(RTP_LEN - 12, pattern);
    this.sock.on('error', () => { /* ICMP unreachable: counted as loss */ });
    this.sock.on('message', (msg) => {
      this.recv++;
      if (this.verifyNext) {
        this.verifyNext = false;
        let plain = msg;
        try {
          if (this.srtp) plain = this.srtp.decrypt(msg);
          if (plain.length !== RTP_LEN || plain[12] !== this.peerPattern || plain[RTP_LEN - 1] !== this.peerPattern) this.bad++;
        } catch {
          this.bad++;
        }
      }
    });
  }
  bind() {
    return new Promise((resolve) => this.sock.bind(0, '127.0.0.1', () => resolve(this.sock.address().port)));
  }
  sendOne() {
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 160) >>> 0;
    if (this.srtp && !this.srtp.inPlace) {
      const header = new RtpHeader({ version: 2, payloadType: 0, sequenceNumber: this.seq, timestamp: this.ts, ssrc: this.ssrc, marker: false });
      this.sock.send(this.srtp.encrypt(this.payload, header));
    } else {
      const b = this.ring[this.ri];
      this.ri = (this.ri + 1) & 15;
      b[0] = 0x80; b[1] = 0;
      b.writeUInt16BE(this.seq, 2);
      b.writeUInt32BE(this.ts, 4);
      b.writeUInt32BE(this.ssrc, 8);
      b.fill(this.pattern, 12, RTP_LEN);
      this.sock.send(b, 0, this.srtp ? this.srtp.protect(b, RTP_LEN) : RTP_LEN);
    }
    this.sent++;
  }
}

async function alloc({ group, n }) {
  const pairs = [];
  for (let i = 0; i < n; i++) {
    const a = new Stream((2 * i) & 0xff, (2 * i + 1) & 0xff);
    const b = new Stream((2 * i + 1) & 0xff, (2 * i) & 0xff);
    pairs.push({ a, b, aPort: await a.bind(), bPort: await b.bind() });
  }
  groups.set(group, pairs);
  return { ports: pairs.map((p) => ({ a: p.aPort, b: p.bPort })) };
}

async function connect({ group, targets }) {
  const pairs = groups.get(group);
  await Promise.all(targets.map((t, i) => {
    const p = pairs[i];
    if (t.aSrtp) p.a.srtp = srtpSession(t.aSrtp.profile, t.aSrtp.txKey, t.aSrtp.rxKey);
    return Promise.all([
      new Promise((r) => p.a.sock.connect(t.aSendTo, '127.0.0.1', r)),
      new Promise((r) => p.b.sock.connect(t.bSendTo, '127.0.0.1', r)),
    ]);
  }));
  return { connected: targets.length };
}

/** Sends at ratePerStream on every stream of the group for durationMs, then drains. */
function run({ group, ratePerStream, durationMs, drainMs = 300, directions = 'both' }) {
  const pairs = groups.get(group);
  const streams = [];
  for (const p of pairs) {
    if (directions !== 'ba') streams.push(p.a);
    if (directions !== 'ab') streams.push(p.b);
  }
  const all = pairs.flatMap((p) => [p.a, p.b]);
  for (const s of all) { s.sent = 0; s.recv = 0; s.bad = 0; s.verifyNext = true; }
  const n = streams.length;
  const phase = streams.map((_, i) => i / n);
  return new Promise((resolve) => {
    const start = performance.now();
    const timer = setInterval(() => {
      const elapsed = Math.min(performance.now() - start, durationMs);
      const base = (elapsed * ratePerStream) / 1000;
      for (let i = 0; i < n; i++) {
        const s = streams[i];
        const due = Math.floor(base + phase[i]);
        while (s.sent < due) s.sendOne();
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        const sendEnd = performance.now();
        // Drain until nothing arrives for drainMs (max 5 s): late packets belong to this run,
        // not the next one.
        whenQuiet(all, drainMs, () => {
          let aSent = 0, aRecv = 0, bSent = 0, bRecv = 0, bad = 0;
          for (const p of pairs) {
            aSent += p.a.sent; bRecv += p.b.recv; bSent += p.b.sent; aRecv += p.a.recv;
            bad += p.a.bad + p.b.bad;
          }
          const sent = aSent + bSent;
          const received = aRecv + bRecv;
          resolve({
            sent, received, lost: sent - received, lossRatio: sent ? (sent - received) / sent : 0,
            aToB: { sent: aSent, received: bRecv }, bToA: { sent: bSent, received: aRecv },
            bad, sendMs: sendEnd - start, offeredPps: sent / ((sendEnd - start) / 1000),
          });
        });
      }
    }, 1);
  });
}

function whenQuiet(streams, quietMs, done) {
  const total = () => streams.reduce((n, st) => n + st.recv, 0);
  const deadline = performance.now() + 5000;
  let last = total();
  const check = () => {
    const now = total();
    if (now === last || performance.now() > deadline) done();
    else {
      last = now;
      setTimeout(check, quietMs);
    }
  };
  setTimeout(check, quietMs);
}

function closeGroup({ group }) {
  for (const p of groups.get(group) ?? []) { p.a.sock.close(); p.b.sock.close(); }
  groups.delete(group);
  return { closed: group };
}

const handlers = { alloc, connect, run, close: closeGroup };
process.on('message', async (m) => {
  try {
    const result = await handlers[m.cmd](m);
    process.send({ id: m.id, ok: true, result });
  } catch (err) {
    process.send({ id: m.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
