// One simulated browser's media for one call, built from libs/media as a browser would
// run it against a gateway: a UDP socket (the native addon's), an offer with one host
// candidate, full ICE as the controlling agent (checks with USE-CANDIDATE, consent every
// 5 s, answering the peer's own checks when it is a full agent like rtpengine), DTLS in
// the role the answer leaves us (OpenSSL in the addon), then SRTP G.711 at 50 packets/s
// each way with RFC 3550 loss and jitter on what comes back.
//
// Every packet we send carries a marker in its first payload bytes: the call's index and
// the packet's number. The payload is encrypted toward the gateway but plain toward the
// trunk, so latency.mjs can match a packet on the wire on both sides of the system under
// test; for the way back we note which (SSRC, seq) brought which marker.
import { randomBytes } from 'node:crypto';
import sdpTransform from 'sdp-transform';
import {
  bindMediaSocket, createDtlsSession, generateIceCredentials, getCertificate, IceControllingAgent, IceLiteAgent,
  RtpReceiveStats, SrtpContext,
} from '@trapezoid/media';

/** SRTP profiles offered in use_srtp by default, preferred first. */
export const PROFILES = ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'];
export const PAYLOAD_BYTES = 160;
/** Payload bytes 0-3: call index, 4-7: packet number (big-endian). */
export const MARKER_BYTES = 8;

export class BrowserMedia {
  /** performance.now() marks of this call's media milestones (0 = not yet). */
  marks = { iceAt: 0, dtlsAt: 0, firstRtpInAt: 0 };
  sent = 0;
  received = 0;
  /** SRTP packets that failed authentication or came from elsewhere. */
  dropped = 0;
  failure = null;
  profile = null;

  constructor(index, socket, address, certificate, profiles) {
    this.index = index;
    this.socket = socket;
    this.address = address;
    this.certificate = certificate;
    this.profiles = profiles ?? PROFILES;
    this.ice = generateIceCredentials();
    this.ssrc = randomBytes(4).readUInt32BE(0);
    this.seq = randomBytes(2).readUInt16BE(0);
    /** Packet n leaves with seq firstSeq + n: what latency.mjs needs to name a packet toward the system. */
    this.firstSeq = this.seq;
    /** The first packet back: its (SSRC, seq) and marker, which name the rest (sequence numbers run on). */
    this.back = null;
    this.ts = randomBytes(4).readUInt32BE(0);
    this.pt = 0;
    this.out = Buffer.alloc(12 + PAYLOAD_BYTES + 16);
    this.reception = new RtpReceiveStats(8000);
    this.srtpIn = null;
    this.srtpOut = null;
    this.peer = null;
    this.closed = false;
    socket.onMessage = (msg, from, port) => this.receive(msg, from, port);
  }

  static async create(index, address, port, profiles) {
    const socket = await bindMediaSocket(address, port, { native: true });
    return new BrowserMedia(index, socket, address, await getCertificate(), profiles);
  }

  get port() {
    return this.socket.localPort;
  }

  /** A browser-like offer: one audio m-line, G.711 only (no transcoding anywhere), BUNDLE, rtcp-mux. */
  offer() {
    const p = this.port;
    return [
      'v=0', `o=- ${Date.now()}${this.index} 2 IN IP4 ${this.address}`, 's=-', 't=0 0',
      'a=group:BUNDLE 0', 'a=msid-semantic: WMS load',
      `m=audio ${p} UDP/TLS/RTP/SAVPF 0 8 101`, `c=IN IP4 ${this.address}`, `a=rtcp:${p} IN IP4 ${this.address}`,
      `a=candidate:1 1 udp 2122260223 ${this.address} ${p} typ host generation 0`,
      `a=ice-ufrag:${this.ice.ufrag}`, `a=ice-pwd:${this.ice.pwd}`,
      `a=fingerprint:sha-256 ${this.certificate.fingerprint}`, 'a=setup:actpass', 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux',
      'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
      `a=ssrc:${this.ssrc} cname:load${this.index}`, `a=ssrc:${this.ssrc} msid:load track`,
      '',
    ].join('\r\n');
  }

  /** The answer: ICE (controlling) toward its candidates, DTLS in the role it leaves us. */
  answer(sdp) {
    const s = sdpTransform.parse(sdp);
    const m = s.media.find((x) => x.type === 'audio' && x.port !== 0);
    if (!m) throw new Error('answer has no audio');
    const get = (k) => m[k] ?? s[k];
    const ufrag = get('iceUfrag');
    const pwd = get('icePwd');
    const fp = get('fingerprint');
    const setup = get('setup') ?? 'active';
    if (!ufrag || !pwd || !fp) throw new Error('answer lacks ICE or DTLS parameters');
    this.pt = Number(String(m.payloads).split(' ')[0]);
    const connection = m.connection?.ip ?? s.connection?.ip;
    const candidates = (m.candidates ?? []).filter((c) => c.transport.toLowerCase() === 'udp' && c.component === 1 && !c.ip.includes(':'))
      .map((c) => ({ address: c.ip, port: c.port }));
    if (candidates.length === 0) candidates.push({ address: connection, port: m.port });
    const send = (d, address, port) => { if (!this.closed) this.socket.send(d, 0, d.length, port, address); };
    this.lite = new IceLiteAgent(this.ice, { remoteUfrag: ufrag });
    this.controlling = new IceControllingAgent({ local: this.ice, remote: { ufrag, pwd }, candidates, send });
    const role = setup === 'active' ? 'server' : 'client';
    this.dtls = createDtlsSession({
      role, certificate: this.certificate, profiles: this.profiles, socketId: this.socket.nativeId,
      send: (d) => { if (this.peer) send(d, this.peer.address, this.peer.port); },
    }, 'native');
    this.dtls.remoteFingerprints = [{ algorithm: fp.type, value: fp.hash }];
    this.dtls.onConnected = (r) => this.keyed(r);
    this.dtls.onError = (e) => this.fail(`DTLS: ${e.message}`);
    this.controlling.onConnected = (pair) => {
      this.marks.iceAt = performance.now();
      this.peer = pair;
      this.dtls.setPeer(pair.address, pair.port);
      this.dtls.start();
    };
    if (role === 'server') this.dtls.start();
    this.controlling.start();
  }

  keyed(r) {
    this.marks.dtlsAt = performance.now();
    this.profile = r.profile;
    this.srtpOut = new SrtpContext(r.profile, r.local);
    this.srtpIn = new SrtpContext(r.profile, r.remote);
  }

  fail(why) {
    if (this.failure === null) this.failure = why;
  }

  /** One 20 ms packet of PCMU silence with the marker, if media is up. */
  sendPacket() {
    if (this.srtpOut === null || this.closed) return;
    const b = this.out;
    b[0] = 0x80;
    b[1] = (this.sent === 0 ? 0x80 : 0) | this.pt;
    b.writeUInt16BE(this.seq, 2);
    b.writeUInt32BE(this.ts >>> 0, 4);
    b.writeUInt32BE(this.ssrc, 8);
    b.writeUInt32BE(this.index, 12);
    b.writeUInt32BE(this.sent, 16);
    b.fill(0xff, 12 + MARKER_BYTES, 12 + PAYLOAD_BYTES);
    const n = this.srtpOut.protectRtp(b, 12 + PAYLOAD_BYTES);
    if (n > 0) this.socket.send(b, 0, n, this.peer.port, this.peer.address);
    this.sent++;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 160) >>> 0;
  }

  receive(msg, from, port) {
    const len = msg.length;
    if (len === 0 || this.closed) return;
    const b = msg[0];
    if (b < 4) {
      if (this.controlling?.handleResponse(msg, len, from, port)) return;
      const lite = this.lite;
      if (!lite) return;
      lite.handle(msg, len, from, port);
      if (lite.response) this.socket.send(lite.response, 0, lite.response.length, port, from);
    } else if (b >= 20 && b <= 63) {
      this.dtls?.receive(msg);
    } else if (b >= 128 && b <= 191) {
      if (this.srtpIn === null || len < 12 || (msg[1] >= 192 && msg[1] <= 223)) return; // RTCP: not counted
      const ssrc = msg.readUInt32BE(8);
      const seq = msg.readUInt16BE(2);
      const n = this.srtpIn.unprotectRtp(msg, len);
      if (n < 0) {
        this.dropped++;
        return;
      }
      const now = performance.now();
      if (this.marks.firstRtpInAt === 0) this.marks.firstRtpInAt = now;
      this.received++;
      this.reception.update(msg, now);
      if (this.back === null && n >= 12 + MARKER_BYTES) this.back = { ssrc, seq, counter: msg.readUInt32BE(16) };
    }
  }

  /** RFC 3550 A.3 and A.8 figures of the stream that came back: packets missing in its sequence, jitter in ms. */
  receptionFigures() {
    const r = this.reception;
    return { lost: r.ssrc === -1 ? 0 : Math.max(0, r.cumulativeLost), jitterMs: r.jitter / 8 };
  }

  close() {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.controlling?.close();
    this.dtls?.close();
    return this.socket.close();
  }
}
