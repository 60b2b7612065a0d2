// Case (c): the SRTP<->RTP bridge built the way werift's RTCPeerConnection handles
// media, without the PC itself: werift's SrtpSession (its SRTP context classes) to
// unprotect/protect and its RtpPacket to parse/serialize, one pair of dgram sockets
// per call. A full RTCPeerConnection cannot be keyed by SDES (it only takes keys
// from its own DTLS handshake), so it cannot terminate an SDES-SRTP trunk leg; this
// is werift's per-packet path minus ICE/DTLS/track dispatch, i.e. a lower bound on
// what a PC-based bridge costs.
import { createSocket } from 'node:dgram';
import { RtpPacket, SrtpSession } from 'werift';
import { serveRelay } from './relay-ipc.mjs';

const bridges = [];

function session(profile, localKey, remoteKey) {
  const l = Buffer.from(localKey, 'base64');
  const r = Buffer.from(remoteKey, 'base64');
  return new SrtpSession({
    profile: profile === 'AEAD_AES_128_GCM' ? 7 : 1,
    keys: {
      localMasterKey: l.subarray(0, 16), localMasterSalt: l.subarray(16),
      remoteMasterKey: r.subarray(0, 16), remoteMasterSalt: r.subarray(16),
    },
  });
}

function bind(sock) {
  return new Promise((resolve) => sock.bind(0, '127.0.0.1', () => resolve(sock.address().port)));
}

async function create({ specs }) {
  const out = [];
  for (const spec of specs) {
    // spec: { profile, localKey, remoteKey, aRemote: port, bRemote: port }
    const srtp = session(spec.profile, spec.localKey, spec.remoteKey);
    const a = createSocket('udp4');
    const b = createSocket('udp4');
    const aPort = await bind(a);
    const bPort = await bind(b);
    a.connect(spec.aRemote, '127.0.0.1');
    b.connect(spec.bRemote, '127.0.0.1');
    a.on('error', () => {}); b.on('error', () => {});
    a.on('message', (msg) => {
      try {
        const pkt = RtpPacket.deSerialize(srtp.decrypt(msg));
        b.send(pkt.serialize());
      } catch {
        // authentication failure: dropped, as a PC would
      }
    });
    b.on('message', (msg) => {
      const pkt = RtpPacket.deSerialize(msg);
      a.send(srtp.encrypt(pkt.payload, pkt.header));
    });
    bridges.push({ a, b });
    out.push({ aPort, bPort });
  }
  return out;
}

const handlers = {
  create,
  mem: () => ({ rss: process.memoryUsage().rss, bridges: bridges.length }),
};
serveRelay(handlers);
