// Digest authentication (RFC 3261 §22, RFC 7616, RFC 8760) between independent
// implementations over real sockets: SIPp's MD5 client against the libs/sip
// DigestServer in the UAS example, and the libs/sip client (UAC example) choosing
// SHA-256 among the UAS's challenges.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SIPP_SCENARIOS, startSipp, type SippRun } from './sipp.js';
import { runUac, startUas, type UasProcess } from './uas-process.js';

describe('digest authentication against the UAS example', { timeout: 40_000 }, () => {
  let md5Only: UasProcess;
  let both: UasProcess;
  const runs: SippRun[] = [];
  before(async () => {
    // SIPp 3.6 computes MD5 digests only.
    md5Only = await startUas(['--udp', '0', '--auth', 'alice:wonderland', '--auth-algorithms', 'MD5']);
    both = await startUas(['--udp', '0', '--tcp', '0', '--auth', 'alice:wonderland', '--realm', 'trapezoid.test']);
  });
  after(async () => {
    await Promise.all(runs.map((r) => r.stop()));
    await Promise.all([md5Only.stop(), both.stop()]);
  });

  it('SIPp REGISTERs with MD5 digest (qop=auth) after a 401', async () => {
    const run = await startSipp({
      args: ['-sf', join(SIPP_SCENARIOS, 'uac-register-auth.xml'), '-s', 'alice', '-au', 'alice', '-ap', 'wonderland',
        '-m', '1', `127.0.0.1:${md5Only.port('udp')}`],
      trace: true,
    });
    runs.push(run);
    const r = await run.done;
    assert.equal(r.code, 0, r.stdout.slice(-1500));
    assert.equal(r.successful, 1);
    const auth = r.messages.find((m) => m.direction === 'sent' && /^Authorization:/im.test(m.text));
    assert.match(auth?.text ?? '', /algorithm=MD5/);
    assert.match(auth?.text ?? '', /qop=auth/);
    const s = await md5Only.stats();
    assert.equal(s.registers, 2);
    assert.equal(s.challenged, 1);
    assert.deepEqual(s.authenticated, { MD5: 1 });
  });

  it('SIPp with a wrong password gets no 200', async () => {
    const run = await startSipp({
      args: ['-sf', join(SIPP_SCENARIOS, 'uac-register-auth.xml'), '-s', 'alice', '-au', 'alice', '-ap', 'guess',
        '-m', '1', `127.0.0.1:${md5Only.port('udp')}`],
    });
    runs.push(run);
    const r = await run.done;
    assert.equal(r.failed, 1);
    assert.notEqual(r.code, 0);
    assert.equal(r.rows.find((x) => x.message === '200')?.messages, 0);
  });

  for (const protocol of ['udp', 'tcp']) {
    it(`libs/sip UAC answers the SHA-256 challenge and completes a call over ${protocol.toUpperCase()}`, async () => {
      const before = await both.stats();
      const uac = await runUac([`sip:bob@127.0.0.1:${both.port(protocol)}`, `--${protocol}`, '--user', 'alice',
        '--password', 'wonderland']);
      assert.equal(uac.code, 0, JSON.stringify(uac.out) + uac.stderr);
      assert.equal(uac.out.byeOk, 1);
      const s = await both.stats();
      assert.equal(s.challenged - before.challenged, 1, 'one 401, then accepted');
      assert.equal((s.authenticated['SHA-256'] ?? 0) - (before.authenticated['SHA-256'] ?? 0), 1, 'SHA-256 chosen over MD5');
      assert.equal(s.answered - before.answered, 1);
    });
  }

  it('a wrong password ends the INVITE with 403, without looping', async () => {
    const before = await both.stats();
    const uac = await runUac([`sip:bob@127.0.0.1:${both.port('udp')}`, '--user', 'alice', '--password', 'guess']);
    assert.equal(uac.code, 1);
    assert.deepEqual(uac.out.failures, { 'INVITE 403': 1 });
    const s = await both.stats();
    assert.equal(s.invites - before.invites, 2, 'one INVITE without and one with credentials');
    assert.equal(s.authRejected - before.authRejected, 1);
  });
});
