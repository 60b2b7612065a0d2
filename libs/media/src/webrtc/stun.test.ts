// STUN codec against the test vectors of RFC 5769 (the sample ICE request and the
// IPv4/IPv6 responses), so MESSAGE-INTEGRITY, FINGERPRINT and XOR-MAPPED-ADDRESS agree
// byte for byte with what every other STUN implementation computes.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { StunWriter, checkIntegrity, crc32, parseBindingRequest, readErrorCode, readXorMappedAddress } from './stun.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 §2.1, password "VOkJxbRl1RmTxUk/WvJxBt", username "evtj:h6vY".
const SAMPLE_REQUEST = hex(`
  0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
  80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff
  80290008 932ff9b1 51263b36
  00060009 6576746a 3a683676 59202020
  00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  80280004 e57a3bcf`);
const SAMPLE_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';
const TRANSACTION_ID = hex('b7e7a701 bc34d686 fa87dfae');

/** Checks a response we wrote the way a browser would: FINGERPRINT, then MESSAGE-INTEGRITY. */
function verifyResponse(msg: Buffer, key: string | null): void {
  const fpAt = msg.length - 8;
  assert.equal(msg.readUInt16BE(fpAt), 0x8028, 'FINGERPRINT is last');
  assert.equal(msg.readUInt32BE(fpAt + 4), (crc32(msg, 0, fpAt) ^ 0x5354554e) >>> 0, 'FINGERPRINT matches');
  assert.equal(msg.readUInt16BE(2), msg.length - 20, 'length covers all attributes');
  if (key === null) return;
  const miAt = fpAt - 24;
  assert.equal(msg.readUInt16BE(miAt), 0x0008, 'MESSAGE-INTEGRITY precedes FINGERPRINT');
  const copy = Buffer.from(msg.subarray(0, miAt));
  copy.writeUInt16BE(miAt + 24 - 20, 2);
  assert.deepEqual(msg.subarray(miAt + 4, miAt + 24), createHmac('sha1', key).update(copy).digest(), 'MESSAGE-INTEGRITY matches');
}

describe('STUN (RFC 5389) with the RFC 5769 vectors', () => {
  test('parses the sample request: username, priority, ICE-CONTROLLED, valid FINGERPRINT', () => {
    const req = parseBindingRequest(SAMPLE_REQUEST, SAMPLE_REQUEST.length);
    assert.ok(req);
    assert.equal(req.username, 'evtj:h6vY');
    assert.equal(req.priority, 0x6e0001ff);
    assert.equal(req.iceControlled, true);
    assert.equal(req.useCandidate, false);
    assert.deepEqual(req.transactionId, TRANSACTION_ID);
    assert.deepEqual(req.unknown, [], 'SOFTWARE is comprehension-optional');
  });

  test('MESSAGE-INTEGRITY of the sample request checks with its password and fails with another', () => {
    const req = parseBindingRequest(SAMPLE_REQUEST, SAMPLE_REQUEST.length);
    assert.ok(req);
    assert.equal(checkIntegrity(SAMPLE_REQUEST, req, SAMPLE_PASSWORD), true);
    assert.equal(checkIntegrity(SAMPLE_REQUEST, req, 'not-the-password'), false);
    assert.deepEqual(SAMPLE_REQUEST.readUInt16BE(2), 0x58, 'the header length is restored after the check');
  });

  test('a request with a corrupted FINGERPRINT or truncated attribute is discarded', () => {
    const bad = Buffer.from(SAMPLE_REQUEST);
    bad[bad.length - 1]! ^= 1;
    assert.equal(parseBindingRequest(bad, bad.length), null);
    const flipped = Buffer.from(SAMPLE_REQUEST);
    flipped[30]! ^= 1; // inside SOFTWARE: FINGERPRINT no longer matches
    assert.equal(parseBindingRequest(flipped, flipped.length), null);
    assert.equal(parseBindingRequest(SAMPLE_REQUEST, SAMPLE_REQUEST.length - 4), null);
    const notStun = Buffer.from(SAMPLE_REQUEST);
    notStun.writeUInt32BE(0x2112a443, 4);
    assert.equal(parseBindingRequest(notStun, notStun.length), null);
  });

  test('XOR-MAPPED-ADDRESS for 192.0.2.1:32853 is the RFC 5769 §2.2 encoding', () => {
    const msg = new StunWriter().success(TRANSACTION_ID, '192.0.2.1', 32853, SAMPLE_PASSWORD);
    assert.deepEqual(msg.subarray(20, 32), hex('00200008 0001a147 e112a643'));
    assert.deepEqual(readXorMappedAddress(msg, msg.length), { address: '192.0.2.1', port: 32853 });
    assert.equal(msg.readUInt16BE(0), 0x0101);
    assert.deepEqual(msg.subarray(8, 20), TRANSACTION_ID);
    verifyResponse(Buffer.from(msg), SAMPLE_PASSWORD);
  });

  test('XOR-MAPPED-ADDRESS for [2001:db8:1234:5678:11:2233:4455:6677]:32853 is the RFC 5769 §2.3 encoding', () => {
    const msg = new StunWriter().success(TRANSACTION_ID, '2001:db8:1234:5678:11:2233:4455:6677', 32853, SAMPLE_PASSWORD);
    assert.deepEqual(msg.subarray(20, 44), hex('00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9'));
    assert.deepEqual(readXorMappedAddress(msg, msg.length), { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
    verifyResponse(Buffer.from(msg), SAMPLE_PASSWORD);
  });

  test('error responses carry ERROR-CODE and FINGERPRINT, and MESSAGE-INTEGRITY only when authenticated', () => {
    const w = new StunWriter();
    const e401 = Buffer.from(w.error(TRANSACTION_ID, 401, 'Unauthorized', null));
    assert.equal(e401.readUInt16BE(0), 0x0111);
    assert.equal(readErrorCode(e401, e401.length), 401);
    verifyResponse(e401, null);
    assert.equal(e401.indexOf(hex('00080014')), -1, 'no MESSAGE-INTEGRITY on 401');
    const e420 = Buffer.from(w.error(TRANSACTION_ID, 420, 'Unknown Attribute', SAMPLE_PASSWORD, [0x0031]));
    assert.equal(readErrorCode(e420, e420.length), 420);
    assert.ok(e420.indexOf(hex('000a0002 00310000')) > 0, 'UNKNOWN-ATTRIBUTES lists the attribute');
    verifyResponse(e420, SAMPLE_PASSWORD);
  });
});
