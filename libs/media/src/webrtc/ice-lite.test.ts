// The ICE-lite agent as a browser's checks exercise it: authentication (RFC 8445 §7.3,
// RFC 5389 §10.1.2), nomination and renomination, role conflict, consent (RFC 7675).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { CheckResult, IceLiteAgent, generateIceCredentials } from './ice-lite.js';
import { buildBindingRequest, crc32, readErrorCode, readXorMappedAddress } from './stun.js';

const local = { ufrag: 'gw01', pwd: 'gatewaypasswordgatewaypw' };
const REMOTE_UFRAG = 'br0w';

function check(opts: { useCandidate?: boolean; key?: string; username?: string; controlling?: boolean } = {}): Buffer {
  return buildBindingRequest({
    transactionId: randomBytes(12), username: opts.username ?? `${local.ufrag}:${REMOTE_UFRAG}`, key: opts.key ?? local.pwd,
    useCandidate: opts.useCandidate, controlling: opts.controlling,
  });
}

describe('ICE-lite agent', () => {
  test('credentials are ice-chars of RFC 8839 length', () => {
    const c = generateIceCredentials();
    assert.match(c.ufrag, /^[A-Za-z0-9+/]{8}$/);
    assert.match(c.pwd, /^[A-Za-z0-9+/]{24}$/);
    assert.notEqual(generateIceCredentials().pwd, c.pwd);
  });

  test('a valid check is answered with our view of its source and selects nothing without USE-CANDIDATE', () => {
    const agent = new IceLiteAgent(local, { remoteUfrag: REMOTE_UFRAG });
    const req = check();
    assert.equal(agent.handle(req, req.length, '127.0.0.1', 50000), CheckResult.Answered);
    const res = agent.response;
    assert.ok(res);
    assert.equal(res.readUInt16BE(0), 0x0101);
    assert.deepEqual(res.subarray(8, 20), req.subarray(8, 20), 'same transaction id');
    assert.deepEqual(readXorMappedAddress(res, res.length), { address: '127.0.0.1', port: 50000 });
    assert.equal(agent.selected, null);
  });

  test('USE-CANDIDATE nominates the pair; a later nomination from elsewhere moves media there', () => {
    const agent = new IceLiteAgent(local, { remoteUfrag: REMOTE_UFRAG });
    const a = check({ useCandidate: true });
    assert.equal(agent.handle(a, a.length, '127.0.0.1', 50000), CheckResult.Nominated);
    assert.deepEqual(agent.selected, { address: '127.0.0.1', port: 50000 });
    const first = agent.nominatedAt;
    assert.ok(first > 0);
    const again = check({ useCandidate: true });
    assert.equal(agent.handle(again, again.length, '127.0.0.1', 50000), CheckResult.Answered, 'same pair again is no change');
    const b = check({ useCandidate: true });
    assert.equal(agent.handle(b, b.length, '127.0.0.2', 50002), CheckResult.Nominated);
    assert.deepEqual(agent.selected, { address: '127.0.0.2', port: 50002 });
    assert.equal(agent.nominatedAt, first, 'nominatedAt keeps the first nomination');
  });

  test('wrong password or wrong ufrag: 401 without MESSAGE-INTEGRITY, and no nomination', () => {
    const agent = new IceLiteAgent(local, { remoteUfrag: REMOTE_UFRAG });
    for (const req of [
      check({ useCandidate: true, key: 'someone-elses-password!!' }),
      check({ useCandidate: true, username: `other:${REMOTE_UFRAG}` }),
      check({ useCandidate: true, username: `${local.ufrag}:wrong` }),
    ]) {
      assert.equal(agent.handle(req, req.length, '127.0.0.1', 50000), CheckResult.Rejected);
      const res = agent.response;
      assert.ok(res);
      assert.equal(res.readUInt16BE(0), 0x0111);
      assert.equal(readErrorCode(res, res.length), 401);
    }
    assert.equal(agent.selected, null);
  });

  test('before the answer arrives (remote ufrag unknown) any "ours:" username with our password is accepted', () => {
    const agent = new IceLiteAgent(local);
    const req = check({ username: `${local.ufrag}:anything` });
    assert.equal(agent.handle(req, req.length, '127.0.0.1', 50000), CheckResult.Answered);
  });

  test('a check without credentials gets 400; a peer that is also controlled gets 487', () => {
    const agent = new IceLiteAgent(local, { remoteUfrag: REMOTE_UFRAG });
    // A Binding request with nothing but FINGERPRINT.
    const bare = Buffer.alloc(28);
    bare.writeUInt16BE(0x0001, 0);
    bare.writeUInt16BE(8, 2);
    bare.writeUInt32BE(0x2112a442, 4);
    randomBytes(12).copy(bare, 8);
    bare.writeUInt16BE(0x8028, 20);
    bare.writeUInt16BE(4, 22);
    bare.writeUInt32BE((crc32(bare, 0, 20) ^ 0x5354554e) >>> 0, 24);
    assert.equal(agent.handle(bare, bare.length, '127.0.0.1', 50000), CheckResult.Rejected);
    assert.equal(readErrorCode(agent.response as Buffer, (agent.response as Buffer).length), 400);
    const controlled = check({ controlling: false, useCandidate: true });
    assert.equal(agent.handle(controlled, controlled.length, '127.0.0.1', 50000), CheckResult.Rejected);
    assert.equal(readErrorCode(agent.response as Buffer, (agent.response as Buffer).length), 487);
    assert.equal(agent.selected, null);
  });

  test('a corrupted check is dropped without an answer', () => {
    const agent = new IceLiteAgent(local, { remoteUfrag: REMOTE_UFRAG });
    const req = check({ useCandidate: true });
    req[req.length - 1] ^= 0xff;
    assert.equal(agent.handle(req, req.length, '127.0.0.1', 50000), CheckResult.Ignored);
    assert.equal(agent.response, null);
  });

  test('consent (RFC 7675): kept by checks on the selected pair, expired after the timeout without them', () => {
    const agent = new IceLiteAgent(local, { remoteUfrag: REMOTE_UFRAG, consentTimeoutMs: 30_000 });
    assert.equal(agent.consentExpired(performance.now() + 60_000), false, 'no pair, nothing to expire');
    const req = check({ useCandidate: true });
    agent.handle(req, req.length, '127.0.0.1', 50000);
    const t = agent.consentAt;
    assert.equal(agent.consentExpired(t + 29_000), false);
    assert.equal(agent.consentExpired(t + 30_001), true);
    const elsewhere = check();
    agent.handle(elsewhere, elsewhere.length, '127.0.0.9', 1234);
    assert.equal(agent.consentAt, t, 'a check on another pair does not refresh consent for the selected one');
  });

  test('consent also covers a pair that was never nominated (media flows on a valid pair before USE-CANDIDATE)', () => {
    const agent = new IceLiteAgent(local, { remoteUfrag: REMOTE_UFRAG, consentTimeoutMs: 30_000 });
    const req = check();
    assert.equal(agent.handle(req, req.length, '127.0.0.1', 50000), CheckResult.Answered);
    assert.equal(agent.selected, null, 'nothing nominated');
    const t = agent.consentAt;
    assert.ok(t > 0);
    assert.equal(agent.consentExpired(t + 29_000), false);
    assert.equal(agent.consentExpired(t + 30_001), true, 'the browser went away without ever nominating: consent lost');
    const again = check();
    agent.handle(again, again.length, '127.0.0.1', 50000);
    assert.ok(agent.consentAt > t, 'each valid check refreshes it');
  });
});
