// Issue 8 acceptance, the scanner people meet in the wild: SIPVicious (Debian
// `sipvicious` 0.3.3) against the gateway with the User-Agent filter and the request
// rate limit turned off, so only the digest rules answer it (an attacker changes its
// User-Agent and its pace at will). svwar, told to go on past its sanity check, finds
// no user: an unknown user and a known one get the same challenge. svcrack, with a
// 1,000-word list whose entry 700 is the real password, is banned after 5 wrong
// guesses and never finds it; the same user from another address registers at once.
//
// svcrack and svwar ignore their own -b (bind address) option, so they are run by a
// two-line Python wrapper that binds their socket to 127.0.0.2, the attackers' address.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthorization } from '@trapezoid/sip';
import { AGENT, CALLER, DOMAIN, assertReleasedAndStop, startGateway, udpPort, type TestGateway } from './harness.js';
import { RawSipClient } from './raw-sip.js';
import { ATTACKER, CLIENT, ask, request, SuiteOutcome } from './edge-attack.js';

/** Runs a SIPVicious tool with its UDP socket bound to `address` (its -b is not passed through in 0.3.3). */
function sipvicious(tool: 'svwar' | 'svcrack', args: string[], address: string, timeoutMs: number): Promise<{ out: string; ms: number }> {
  const wrapper = [
    'import os, runpy, socket, sys',
    'class Bound(socket.socket):',
    `    def bind(self, addr): return super().bind(('${address}' if addr[0] in ('', '0.0.0.0') else addr[0], addr[1]))`,
    'socket.socket = Bound',
    `sys.argv = ['${tool}'] + sys.argv[1:]`,
    // As when run by its symlink: the package (and its metadata) beside the real script.
    `script = os.path.realpath('/usr/bin/${tool}')`,
    'sys.path.insert(0, os.path.dirname(script))',
    "runpy.run_path(script, run_name='__main__')",
  ].join('\n');
  // The interpreter the Debian package was installed for (its #! line), not whatever python3 is first on PATH.
  const python = /^#!\s*(\S+)/.exec(readFileSync(`/usr/bin/${tool}`, 'utf8'))?.[1] ?? '/usr/bin/python3';
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(python, ['-c', wrapper, ...args], { timeout: timeoutMs, cwd: tmpdir() }, (_err, stdout, stderr) => {
      resolve({ out: stdout + stderr, ms: Date.now() - started });
    });
  });
}

describe('SIPVicious against the digest rules alone', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  let dir: string;
  const outcome = new SuiteOutcome();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipvicious-'));
    gw = await startGateway({
      ports: { min: 19180, max: 19199 },
      edit: (raw) => {
        // Defaults for the auth ban (5 failures in 60 s bans (address, user) for 300 s); the
        // other guards off, so that the ban is what stops the guessing.
        raw.security = { scanners: { userAgents: [] }, rateLimit: { requests: 1_000_000 } };
        (raw.media as Record<string, unknown>).workers = 1;
      },
    });
  });
  after(async () => {
    await assertReleasedAndStop(gw, outcome.passed);
    rmSync(dir, { recursive: true, force: true });
  });

  it('svwar finds no user, with REGISTER and with INVITE: every name gets the same challenge', () => outcome.run(async () => {
    const names = join(dir, 'names.txt');
    writeFileSync(names, ['100', 'admin', CALLER.username, 'bob', AGENT.username, 'guest', '1000', 'test'].join('\n') + '\n');
    for (const method of ['REGISTER', 'INVITE']) {
      const r = await sipvicious('svwar', ['--force', '-m', method, '-d', names, '-t', '0.001', '--maximumtime=2', `udp://127.0.0.1:${udpPort(gw)}`], ATTACKER, 40_000);
      // Every answer equals its "bad user" probe's, so svwar has nothing to tell apart and gives up.
      assert.doesNotMatch(r.out, /exists/, `svwar -m ${method} found nothing: ${r.out.slice(-800)}`);
      assert.match(r.out, /found nothing/, r.out.slice(-800));
    }
    const failed = gw.events.events.filter((e) => e.event === 'auth-failed');
    assert.equal(failed.length, 0, 'svwar sends no credentials: nothing to fail, nothing to learn');
  }));

  it('svcrack with 1,000 words (the password is the 700th) is banned after 5 guesses and never finds it; the user is served from 127.0.0.3', () => outcome.run(async () => {
    const words = Array.from({ length: 1000 }, (_, i) => `guess${String(i).padStart(4, '0')}`);
    words[699] = CALLER.password;
    const list = join(dir, 'words.txt');
    writeFileSync(list, words.join('\n') + '\n');
    const r = await sipvicious('svcrack', ['-u', CALLER.username, '-d', list, '-t', '0.001', '--maximumtime=3', `udp://127.0.0.1:${udpPort(gw)}`], ATTACKER, 100_000);
    console.log(`svcrack ran ${r.ms} ms: ${r.out.split('\n').filter((l) => /password|nothing|banned|stopping|no more/i.test(l)).join(' | ')}`);
    assert.doesNotMatch(r.out, /The password for/, `svcrack did not find it: ${r.out.slice(-800)}`);
    assert.ok(!r.out.includes(CALLER.password));
    assert.match(r.out, /no more passwords|found nothing/i, `svcrack went through its list: ${r.out.slice(-800)}`);
    const ban = gw.events.events.filter((e) => e.event === 'auth-banned');
    assert.equal(ban.length, 1, 'one ban, logged once');
    assert.equal(ban[0]!.user, CALLER.username);
    assert.match(String(ban[0]!.source), /^127\.0\.0\.2:\d+$/);
    const checked = gw.events.events.filter((e) => e.event === 'auth-failed' && e.user === CALLER.username);
    assert.equal(checked.length, 5, 'only 5 guesses were ever checked; the other 995 got the challenge unchecked');
    // The same user from another address is not locked out.
    const c = await RawSipClient.open('udp', udpPort(gw), { localAddress: CLIENT });
    try {
      const ch = await ask(c, request(c, 'REGISTER', `sip:${DOMAIN}`, CALLER.username, DOMAIN));
      const auth = createAuthorization(ch.headers.get('www-authenticate')!, { method: 'REGISTER', uri: `sip:${DOMAIN}` }, CALLER);
      const ok = await ask(c, request(c, 'REGISTER', `sip:${DOMAIN}`, CALLER.username, DOMAIN, [`Authorization: ${auth}`]));
      assert.equal(ok.status, 200);
    } finally {
      c.close();
    }
  }));
});
