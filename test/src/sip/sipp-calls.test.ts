// Issue 2 acceptance, calls against SIPp over UDP and TCP on loopback:
// 1. SIPp's built-in uac against the libs/sip UAS example;
// 2. the libs/sip UAC example against SIPp's built-in uas.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSipp, type SippResult, type SippRun } from './sipp.js';
import { runUac, startUas, type UasProcess } from './uas-process.js';

const CALLS = 20;

/** Messages SIPp counted on its screen row for `name` in direction `dir`; -1 without such a row. */
function got(r: SippResult, name: string, dir: 'in' | 'out'): number {
  return r.rows.find((x) => x.message === name && x.direction === dir)?.messages ?? -1;
}

describe('SIPp uac -> libs/sip UAS example', { timeout: 60_000 }, () => {
  let uas: UasProcess;
  const runs: SippRun[] = [];
  before(async () => {
    uas = await startUas(['--udp', '0', '--tcp', '0']);
  });
  after(async () => {
    await Promise.all(runs.map((r) => r.stop()));
    await uas.stop();
  });

  for (const [protocol, flag] of [['udp', 'u1'], ['tcp', 't1']] as const) {
    it(`completes ${CALLS} calls over ${protocol.toUpperCase()}`, async () => {
      const before = await uas.stats();
      const run = await startSipp({
        args: ['-sn', 'uac', '-m', String(CALLS), '-r', '10', '-t', flag, `127.0.0.1:${uas.port(protocol)}`],
      });
      runs.push(run);
      const r = await run.done;
      assert.equal(r.code, 0, `sipp exit code; stdout tail:\n${r.stdout.slice(-1500)}\n${r.stderr}`);
      assert.equal(r.successful, CALLS);
      assert.equal(r.failed, 0);
      const oks = r.rows.filter((x) => x.message === '200' && x.direction === 'in').map((x) => x.messages);
      assert.deepEqual(oks, [CALLS, CALLS], '200 for every INVITE and every BYE');
      assert.equal(got(r, 'BYE', 'out'), CALLS);
      const s = await uas.stats();
      assert.equal(s.invites - before.invites, CALLS);
      assert.equal(s.acks - before.acks, CALLS, 'every 2xx was ACKed');
      assert.equal(s.byes - before.byes, CALLS, 'the UAS saw N BYEs');
      assert.equal(s.ua.dialogs, 0, 'no dialog left');
    });
  }
});

describe('libs/sip UAC example -> SIPp uas', { timeout: 60_000 }, () => {
  const runs: SippRun[] = [];
  after(async () => {
    await Promise.all(runs.map((r) => r.stop()));
  });

  for (const [protocol, flag] of [['udp', 'u1'], ['tcp', 't1']] as const) {
    it(`completes 5 calls over ${protocol.toUpperCase()}: 200, ACK, BYE answered`, async () => {
      const sipp = await startSipp({ args: ['-sn', 'uas', '-m', '5', '-t', flag] });
      runs.push(sipp);
      const uac = await runUac([`sip:service@127.0.0.1:${sipp.port}`, `--${protocol}`, '--calls', '5', '--rate', '20']);
      assert.equal(uac.code, 0, JSON.stringify(uac.out) + uac.stderr);
      assert.equal(uac.out.answered, 5);
      assert.equal(uac.out.byeOk, 5);
      const r = await sipp.done;
      assert.equal(r.code, 0, r.stdout.slice(-1500));
      assert.equal(r.successful, 5);
      assert.equal(got(r, 'INVITE', 'in'), 5);
      assert.equal(got(r, 'ACK', 'in'), 5, 'SIPp got every ACK');
      assert.equal(got(r, 'BYE', 'in'), 5);
    });
  }
});
