// SrtpContext behaviour: round trips, replay, tampering, ROC rollover, state export, and
// interoperation with werift's independent SRTP implementation in both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RtpPacket, SrtcpSession, SrtpSession } from 'werift';
import { SrtpContext } from './context.js';
import { srtpKeysFromDtls, dtlsSrtpKeyingMaterialLength } from './dtls-keys.js';
import { SRTP_PROFILE_IDS, type SrtpProfile } from './profile.js';
import { generateSrtpKeys, makeSdesCrypto, parseSdesCrypto } from './sdes.js';

const PROFILES: SrtpProfile[] = ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'];

function rtp(seq: number, ts: number, ssrc: number, payloadLength = 160): Buffer {
  const b = Buffer.alloc(12 + payloadLength + 32);
  b[0] = 0x80; b[1] = 0; b.writeUInt16BE(seq, 2); b.writeUInt32BE(ts >>> 0, 4); b.writeUInt32BE(ssrc >>> 0, 8);
  for (let i = 0; i < payloadLength; i++) b[12 + i] = (seq + i) & 0xff;
  return b;
}
const RTP_LEN = 172;

function rtcpRr(ssrc: number): Buffer {
  // RR with no report blocks + SDES CNAME "a": a minimal compound packet.
  const b = Buffer.alloc(8 + 12 + 32);
  b.writeUInt8(0x80, 0); b.writeUInt8(201, 1); b.writeUInt16BE(1, 2); b.writeUInt32BE(ssrc, 4);
  b.writeUInt8(0x81, 8); b.writeUInt8(202, 9); b.writeUInt16BE(2, 10); b.writeUInt32BE(ssrc, 12);
  b.writeUInt8(1, 16); b.writeUInt8(1, 17); b.writeUInt8(0x61, 18); b.writeUInt8(0, 19);
  return b;
}
const RTCP_LEN = 20;

for (const profile of PROFILES) {
  test(`${profile}: round trip, replay rejected, tampered tag rejected`, () => {
    const keys = generateSrtpKeys(profile);
    const tx = new SrtpContext(profile, keys);
    const rx = new SrtpContext(profile, keys);
    const p = rtp(100, 1000, 0x11223344);
    const plain = Buffer.from(p.subarray(0, RTP_LEN));
    const n = tx.protectRtp(p, RTP_LEN);
    assert.equal(n, RTP_LEN + tx.rtpOverhead);
    assert.notDeepEqual(p.subarray(12, RTP_LEN), plain.subarray(12));
    const copy = Buffer.from(p);
    assert.equal(rx.unprotectRtp(p, n), RTP_LEN);
    assert.deepEqual(p.subarray(0, RTP_LEN), plain);
    assert.equal(rx.unprotectRtp(Buffer.from(copy), n), -1, 'replayed packet');
    const q = rtp(101, 1160, 0x11223344);
    const m = tx.protectRtp(q, RTP_LEN);
    q[m - 1] ^= 1;
    assert.equal(rx.unprotectRtp(q, m), -1, 'tampered tag');
    const r = rtp(102, 1320, 0x11223344);
    const k = tx.protectRtp(r, RTP_LEN);
    r[20] ^= 0x80;
    assert.equal(rx.unprotectRtp(r, k), -1, 'tampered payload');
    assert.equal(rx.unprotectRtp(Buffer.alloc(40), 40), -1, 'garbage');
    assert.equal(rx.unprotectRtp(Buffer.alloc(5), 5), -1, 'runt');
    // RTCP both ways, and replay.
    const c = rtcpRr(0x11223344);
    const cn = tx.protectRtcp(c, RTCP_LEN);
    assert.equal(cn, RTCP_LEN + tx.rtcpOverhead);
    const cc = Buffer.from(c);
    assert.equal(rx.unprotectRtcp(c, cn), RTCP_LEN);
    assert.deepEqual(c.subarray(0, RTCP_LEN), rtcpRr(0x11223344).subarray(0, RTCP_LEN));
    assert.equal(rx.unprotectRtcp(cc, cn), -1, 'replayed SRTCP');
  });

  test(`${profile}: ROC rollover across 65535 -> 0, reordering inside the window, state export`, () => {
    const keys = generateSrtpKeys(profile);
    const tx = new SrtpContext(profile, keys);
    let rx = new SrtpContext(profile, keys);
    const ssrc = 0xcafe0001;
    const sent: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const seq = (65530 + i) & 0xffff;
      const p = rtp(seq, i * 160, ssrc);
      const n = tx.protectRtp(p, RTP_LEN);
      sent.push(Buffer.from(p.subarray(0, n)));
    }
    // Deliver out of order around the wrap: 0..4, then 6 before 5, then the rest.
    const order = [0, 1, 2, 3, 4, 6, 5, 7, 8, 9];
    for (const i of order) {
      const b = Buffer.from(sent[i]);
      assert.equal(rx.unprotectRtp(b, b.length), RTP_LEN, `packet ${i}`);
      assert.equal(b.readUInt16BE(2), (65530 + i) & 0xffff);
    }
    const state = JSON.parse(JSON.stringify(rx.exportState()));
    assert.equal(state.streams[0].roc, 1);
    rx = SrtpContext.fromState(state);
    for (let i = 10; i < 20; i++) {
      const b = Buffer.from(sent[i]);
      assert.equal(rx.unprotectRtp(b, b.length), RTP_LEN, `after restore, packet ${i}`);
    }
    const again = Buffer.from(sent[8]);
    assert.equal(rx.unprotectRtp(again, again.length), -1, 'replay after restore');
    // The sender's state survives export too: a restored sender keeps ROC 1.
    const tx2 = SrtpContext.fromState(JSON.parse(JSON.stringify(tx.exportState())));
    const p = rtp(14, 0, ssrc);
    const n = tx2.protectRtp(p, RTP_LEN);
    assert.equal(rx.unprotectRtp(p, n), RTP_LEN);
  });

  test(`${profile}: werift protects, we unprotect (RTP and RTCP)`, () => {
    const keys = generateSrtpKeys(profile);
    const other = generateSrtpKeys(profile);
    const w = new SrtpSession({ profile: SRTP_PROFILE_IDS[profile], keys: { localMasterKey: keys.masterKey, localMasterSalt: keys.masterSalt, remoteMasterKey: other.masterKey, remoteMasterSalt: other.masterSalt } });
    const wc = new SrtcpSession({ profile: SRTP_PROFILE_IDS[profile], keys: { localMasterKey: keys.masterKey, localMasterSalt: keys.masterSalt, remoteMasterKey: other.masterKey, remoteMasterSalt: other.masterSalt } });
    const rx = new SrtpContext(profile, keys);
    for (let i = 0; i < 40; i++) {
      const seq = (65520 + i) & 0xffff;
      const plain = rtp(seq, i * 160, 0x5eed0001).subarray(0, RTP_LEN);
      const pkt = RtpPacket.deSerialize(Buffer.from(plain));
      const enc = w.encrypt(pkt.payload, pkt.header);
      const buf = Buffer.alloc(enc.length + 16);
      enc.copy(buf);
      assert.equal(rx.unprotectRtp(buf, enc.length), RTP_LEN, `seq ${seq}`);
      assert.deepEqual(buf.subarray(0, RTP_LEN), plain);
    }
    for (let i = 0; i < 3; i++) {
      const enc = wc.encrypt(rtcpRr(0x5eed0001).subarray(0, RTCP_LEN));
      const buf = Buffer.from(enc);
      assert.equal(rx.unprotectRtcp(buf, buf.length), RTCP_LEN);
      assert.deepEqual(buf.subarray(0, RTCP_LEN), rtcpRr(0x5eed0001).subarray(0, RTCP_LEN));
    }
  });

  test(`${profile}: we protect, werift unprotects (RTP and RTCP)`, () => {
    const keys = generateSrtpKeys(profile);
    const other = generateSrtpKeys(profile);
    const w = new SrtpSession({ profile: SRTP_PROFILE_IDS[profile], keys: { localMasterKey: other.masterKey, localMasterSalt: other.masterSalt, remoteMasterKey: keys.masterKey, remoteMasterSalt: keys.masterSalt } });
    const wc = new SrtcpSession({ profile: SRTP_PROFILE_IDS[profile], keys: { localMasterKey: other.masterKey, localMasterSalt: other.masterSalt, remoteMasterKey: keys.masterKey, remoteMasterSalt: keys.masterSalt } });
    const tx = new SrtpContext(profile, keys);
    for (let i = 0; i < 40; i++) {
      const seq = (65520 + i) & 0xffff;
      const p = rtp(seq, i * 160, 0x5eed0002);
      const plain = Buffer.from(p.subarray(0, RTP_LEN));
      const n = tx.protectRtp(p, RTP_LEN);
      const dec = w.decrypt(Buffer.from(p.subarray(0, n)));
      assert.deepEqual(dec.subarray(0, RTP_LEN), plain, `seq ${seq}`);
    }
    for (let i = 0; i < 3; i++) {
      const c = rtcpRr(0x5eed0002);
      const n = tx.protectRtcp(c, RTCP_LEN);
      const dec = wc.decrypt(Buffer.from(c.subarray(0, n)));
      assert.deepEqual(dec.subarray(0, RTCP_LEN), rtcpRr(0x5eed0002).subarray(0, RTCP_LEN));
    }
  });
}

test('RFC 5764 §4.2 keying material layout: client local = server remote', () => {
  for (const profile of PROFILES) {
    const km = randomBytes(dtlsSrtpKeyingMaterialLength(profile));
    const c = srtpKeysFromDtls(profile, km, true);
    const s = srtpKeysFromDtls(profile, km, false);
    assert.deepEqual(c.local, s.remote);
    assert.deepEqual(c.remote, s.local);
    assert.deepEqual(c.local.masterKey, km.subarray(0, 16));
    assert.deepEqual(s.local.masterKey, km.subarray(16, 32));
    const saltLen = profile === 'AEAD_AES_128_GCM' ? 12 : 14;
    assert.deepEqual(c.local.masterSalt, km.subarray(32, 32 + saltLen));
    assert.deepEqual(s.local.masterSalt, km.subarray(32 + saltLen, 32 + 2 * saltLen));
    // The two directions interoperate.
    const a = new SrtpContext(profile, c.local);
    const b = new SrtpContext(profile, s.remote);
    const p = rtp(1, 0, 7);
    const n = a.protectRtp(p, RTP_LEN);
    assert.equal(b.unprotectRtp(p, n), RTP_LEN);
  }
});

test('RFC 4568 a=crypto: make, parse, reject what we cannot use', () => {
  for (const profile of PROFILES) {
    const keys = generateSrtpKeys(profile);
    const line = makeSdesCrypto(1, profile, keys);
    const parsed = parseSdesCrypto(`a=crypto:${line}`);
    assert.ok(parsed);
    assert.equal(parsed.profile, profile);
    assert.deepEqual(parsed.keys.masterKey, keys.masterKey);
    assert.deepEqual(parsed.keys.masterSalt, keys.masterSalt);
  }
  const withParams = parseSdesCrypto('1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4 KDR=1');
  assert.ok(withParams);
  assert.equal(withParams.lifetime, '2^20');
  assert.deepEqual(withParams.mki, { value: 1, length: 4 });
  assert.deepEqual(withParams.sessionParams, ['KDR=1']);
  assert.equal(parseSdesCrypto('2 AES_CM_128_HMAC_SHA1_32 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz'), null);
  assert.equal(parseSdesCrypto('1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ='), null);
  assert.equal(parseSdesCrypto('garbage'), null);
});

for (const profile of PROFILES) {
  test(`${profile}: a sender that jumped 2^15 or more ahead (long hold, restart) still authenticates (RFC 3711 §3.3.1)`, () => {
    const keys = generateSrtpKeys(profile);
    const tx = new SrtpContext(profile, keys);
    const rx = new SrtpContext(profile, keys);
    const ssrc = 0x51c0ffee;
    const deliver = (seq: number): number => {
      const p = rtp(seq, seq * 160, ssrc);
      const n = tx.protectRtp(p, RTP_LEN);
      return rx.unprotectRtp(p, n);
    };
    // The sender's own ROC stays right: it numbers packets it never delivers, in steps
    // its estimate follows (each < 2^15).
    const silently = (seq: number): void => { tx.protectRtp(rtp(seq, seq * 160, ssrc), RTP_LEN); };
    for (let seq = 100; seq < 110; seq++) assert.equal(deliver(seq), RTP_LEN, `seq ${seq}`);
    silently(20000);
    assert.equal(deliver(40001), RTP_LEN, 'a jump of 39892 without a wrap');
    assert.equal(deliver(40002), RTP_LEN, 'and the stream goes on');
    assert.equal(rx.exportState().streams[0]!.roc, 0);
    silently(60000);
    silently(14464); // wraps: ROC 1
    silently(34464);
    assert.equal(deliver(34464 + 20000), RTP_LEN, 'a jump of 2^15+ across the wrap');
    assert.deepEqual([rx.exportState().streams[0]!.roc, rx.exportState().streams[0]!.seq], [1, 54464]);
    // What authentication does not confirm is still refused.
    const forged = rtp(54465 + 40000 - 65536, 0, ssrc);
    const n = tx.protectRtp(Buffer.from(forged), RTP_LEN) ;
    forged[12] ^= 1;
    assert.equal(rx.unprotectRtp(forged, n), -1, 'a forged packet is not accepted by either ROC');
    const replay = rtp(54466, 0, ssrc);
    const m = tx.protectRtp(replay, RTP_LEN);
    const copy = Buffer.from(replay);
    assert.equal(rx.unprotectRtp(replay, m), RTP_LEN);
    assert.equal(rx.unprotectRtp(copy, m), -1, 'replay');
  });
}
