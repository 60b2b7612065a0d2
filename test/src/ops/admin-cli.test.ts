// Issue 11 acceptance, operating a running gateway: the admin listener answers 401 and
// nothing else on every route but the probes without the token; each `trapezoid`
// subcommand works against a gateway with a live call (calls, registrations, trunks,
// hangup, drain, check-config) with meaningful exit codes; a drain refuses new calls
// and connections, keeps the live call, closes the agent's WebSocket with 1001 once it
// ends; SIGTERM drains a real `trapezoid` process and ends what is left at the deadline.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { freePort, REPO_ROOT, startSipp, type SippRun } from '../sip/sipp.js';
import { nextEvent } from '../sip/jssip-node.js';
import { ADMIN_TOKEN, CALLER, DOMAIN, assertReleasedAndStop, startGateway, type TestGateway } from '../gateway/harness.js';
import { admin, closePeerConnections, confirmed, placeCall, registerCaller, stopUa, until, type JsSipUA } from './ops-harness.js';

const PORTS = { min: 14600, max: 14699 };
const SIGTERM_PORTS = { min: 14700, max: 14799 };
const MAIN = join(REPO_ROOT, 'apps/gateway/dist/main.js');

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the `trapezoid` CLI to completion. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

describe('admin API, CLI and drain', { timeout: 150_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'trapezoid-cli-'));
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  let ua: JsSipUA | null = null;
  let proc: ChildProcess | null = null;
  after(async () => {
    if (ua) await stopUa(ua).catch(() => undefined);
    await closePeerConnections();
    await sipp?.stop();
    await gw?.stop();
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('without the token every route but the probes is 401 and gives no data; each subcommand works on a live call; drain', async () => {
    let passed = false;
    let drained = false;
    try {
      const g = gw = await startGateway({ ports: PORTS, onDrained: () => { drained = true; } });
      sipp = await startSipp({ port: g.trunkPort, args: ['-sn', 'uas', '-m', '1'], timeoutSec: 60 });
      ua = await registerCaller(g);
      const call = placeCall(ua, '1000');
      await confirmed(call, false);
      const callId = g.calls.list()[0]!.id;
      const url = g.ops.adminUrl!;

      // Probes answer anyone; everything else wants the token and says nothing without it.
      assert.deepEqual([(await admin(g, 'GET', '/healthz', null)).status, (await admin(g, 'GET', '/readyz', null)).status], [200, 200]);
      const routes: [string, string][] = [
        ['GET', '/metrics'], ['GET', '/api/v1/calls'], ['GET', `/api/v1/calls/${callId}`], ['POST', `/api/v1/calls/${callId}/hangup`],
        ['DELETE', `/api/v1/calls/${callId}`], ['GET', '/api/v1/registrations'], ['GET', '/api/v1/trunks'], ['POST', '/api/v1/drain'],
        ['GET', '/admin'], ['GET', '/admin/'], ['GET', '/admin/admin.js'], ['GET', '/admin/admin.css'], ['GET', '/admin/login'],
        ['HEAD', '/metrics'], ['PUT', '/api/v1/calls'], ['GET', '/no/such/route'],
      ];
      for (const [method, path] of routes) {
        for (const token of [null, 'wrong-token-wrong-token']) {
          const r = await admin(g, method, path, token);
          assert.equal(r.status, 401, `${method} ${path} with ${token ? 'a wrong' : 'no'} token`);
          for (const leak of [callId, 'trapezoid_', CALLER.username, 'sipp', '<html']) assert.ok(!r.text.includes(leak), `${method} ${path}: no data (${leak})`);
        }
      }
      // The sign-in form: a wrong token gets no cookie; the right one a session cookie that
      // reads but does not act from another origin (or with no Origin at all).
      const login = (token: string): Promise<Response> => fetch(`${url}/admin/login`, {
        method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}`,
      });
      const wrong = await login('wrong-token-wrong-token');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get('set-cookie'), null, 'no session for a wrong token');
      assert.ok(!(await wrong.text()).includes(callId));
      const right = await login(ADMIN_TOKEN);
      assert.equal(right.status, 303);
      const cookie = right.headers.get('set-cookie')!.split(';')[0]!;
      assert.ok(!cookie.includes(ADMIN_TOKEN), 'the cookie is not the token');
      assert.equal((await fetch(`${url}/api/v1/calls`, { headers: { cookie } })).status, 200, 'the session reads');
      for (const origin of [undefined, 'http://evil.example']) {
        const r = await fetch(`${url}/api/v1/drain`, { method: 'POST', headers: { cookie, ...(origin ? { origin } : {}) } });
        assert.equal(r.status, 401, `a cookie-only drain from ${origin ?? 'no origin'} is refused`);
      }
      assert.equal(g.calls.live, 1, 'the unauthenticated hang-up and drain did nothing');
      assert.equal(g.ops.draining, false);
      // The public listener serves none of it.
      for (const path of ['/metrics', '/api/v1/calls', '/admin', '/healthz']) {
        assert.equal((await fetch(new URL(path, g.url!))).status, 404, `public ${path}`);
      }

      // The CLI against the running gateway.
      const base = ['--url', url, '--token', ADMIN_TOKEN];
      let r = await cli(['calls', ...base]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${callId}\\s+outbound\\s+answered\\s+alice\\s+1000\\s+sipp`));
      r = await cli(['calls', '--json', ...base]);
      const calls = JSON.parse(r.stdout) as { id: string; legs: { kind: string; callId?: string }[]; media: { health: string } }[];
      assert.equal(calls[0]?.id, callId);
      assert.deepEqual(calls[0]!.legs.map((l) => l.kind), ['browser', 'trunk']);
      r = await cli(['registrations', ...base]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`sip:alice@${DOMAIN.replace('.', '\\.')}\\s+\\S+\\s+ws`));
      r = await cli(['trunks', '--json'], { TRAPEZOID_ADMIN_URL: url, TRAPEZOID_ADMIN_TOKEN: ADMIN_TOKEN });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { name: string; activeCalls: number }[]).map((t) => [t.name, t.activeCalls]), [['sipp', 1]]);
      assert.equal((await cli(['calls', '--url', url, '--token', 'wrong-token-wrong-token'])).code, 4, 'a refused token is exit 4');
      assert.equal((await cli(['calls', '--url', `http://127.0.0.1:${await freePort()}`, '--token', ADMIN_TOKEN])).code, 3, 'nobody listening is exit 3');
      r = await cli(['hangup', 'no-such-call', ...base]);
      assert.deepEqual([r.code, /no live call/.test(r.stderr)], [1, true], 'an unknown call is exit 1');

      // Drain: no new calls or connections; the live call goes on.
      r = await cli(['drain', ...base]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /draining: 1 live call/);
      const ready = await admin(g, 'GET', '/readyz', null);
      assert.deepEqual([ready.status, ready.body], [503, { status: 'draining' }]);
      const refused = placeCall(ua, '1000');
      const failed = await nextEvent<{ message?: { status_code?: number } }>(refused.session, 'failed');
      assert.equal(failed.message?.status_code, 503, 'a new call is refused with 503');
      const wsPort = g.listeningPoints().find((p) => p.protocol === 'ws')!.port;
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${wsPort}`, 'sip');
        ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
        ws.on('open', () => { resolve(101); ws.close(); });
        ws.on('error', () => undefined);
      });
      assert.equal(status, 503, 'a new WebSocket is refused while draining');
      assert.equal(g.calls.live, 1, 'the live call goes on');

      // The admin hangs the call up: BYE to both legs; then the agent's WebSocket closes 1001.
      const closed = new Promise<number>((resolve) => ua!.on('disconnected', (e: { code?: number }) => resolve(e.code ?? 0)));
      const ended = nextEvent<{ originator: string }>(call.session, 'ended');
      r = await cli(['hangup', callId.slice(0, 8), ...base]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await ended).originator, 'remote', 'the browser got a BYE');
      assert.equal((await sipp.done).code, 0, 'the trunk got a BYE');
      assert.equal(await closed, 1001, 'the agent\'s WebSocket closed with 1001 going away');
      await until(() => drained);
      assert.ok(drained, 'the drain finished once no call was left');
      const record = g.ops.cdr.recent.at(-1)!;
      assert.deepEqual([record.endCause, record.hangupBy], ['admin', 'gateway']);
      await stopUa(ua);
      ua = null;
      passed = true;
    } finally {
      // The caller first, as on success: a JsSIP UA that outlives its gateway keeps retrying
      // the WebSocket, and the test process never exits.
      if (ua) await stopUa(ua).catch(() => undefined);
      ua = null;
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
      await sipp?.stop();
      sipp = null;
    }
  });

  it('--help, --version, unknown flags, check-config with every error at once', async () => {
    let r = await cli(['--help']);
    assert.deepEqual([r.code, /Usage: trapezoid/.test(r.stdout), /is running/.test(r.stdout)], [0, true, false], 'help, and no gateway started');
    r = await cli(['--version']);
    assert.match(r.stdout, /^trapezoid \d+\.\d+\.\d+ \(node v\d+/);
    r = await cli(['--no-such-flag']);
    assert.deepEqual([r.code, /unknown option --no-such-flag/.test(r.stderr)], [2, true]);
    r = await cli(['hangup']);
    assert.deepEqual([r.code, /hangup needs CALL_ID/.test(r.stderr)], [2, true]);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'trunks:\n  - { name: carrier, address: 192.0.2.1 }\nroutes:\n  - { match: "^9", trunk: carrier }\n');
    r = await cli(['check-config', good]);
    assert.deepEqual([r.code, /valid/.test(r.stdout)], [0, true], r.stdout + r.stderr);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'media:\n  portMin: low\nroutes:\n  - { match: "^9", trunk: nowhere }\nadmin:\n  token: short\nbogus: 1\n');
    r = await cli(['check-config', bad, '--json']);
    assert.equal(r.code, 2);
    const out = JSON.parse(r.stdout) as { ok: boolean; errors: string[] };
    assert.equal(out.ok, false);
    for (const key of ['media.portMin', 'routes.0.trunk', 'admin.token', 'bogus']) {
      assert.ok(out.errors.some((e) => e.includes(key) && e.includes(bad)), `${key} reported with the file: ${out.errors.join(' | ')}`);
    }
  });

  it('SIGTERM drains a running trapezoid: new calls refused, the live call ended at the deadline, exit 0', async () => {
    const trunkPort = await freePort();
    const cfg = join(dir, 'gateway.yaml');
    writeFileSync(cfg, [
      `domain: ${DOMAIN}`,
      'listeners: [{ protocol: ws, address: 127.0.0.1, port: 0 }, { protocol: udp, address: 127.0.0.1, port: 0 }]',
      'http: { port: 0 }',
      `admin: { port: 0, token: ${ADMIN_TOKEN} }`,
      `media: { portMin: ${SIGTERM_PORTS.min}, portMax: ${SIGTERM_PORTS.max}, workers: 1 }`,
      `trunks: [{ name: sipp, address: 127.0.0.1, port: ${trunkPort} }]`,
      'routes: [{ match: "^\\\\d+$", trunk: sipp }]',
      `users: [{ username: ${CALLER.username}, password: ${CALLER.password} }]`,
      'shutdown: { drainSeconds: 2 }',
      'logging: { level: warn }',
    ].join('\n'));
    const child = proc = spawn(process.execPath, [MAIN, '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr!.on('data', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until(() => /admin API.*: (http:\S+)\/admin/.test(out) && /SIP over WebSocket: ws:\/\/\S+:(\d+)/.test(out), 40_000);
    assert.match(out, /admin API.*: http:/, `trapezoid started: ${out}`);
    const adminUrl = /admin API.*: (http:\S+)\/admin/.exec(out)![1]!;
    const wsPort = Number(/SIP over WebSocket: ws:\/\/\S+:(\d+)/.exec(out)![1]);
    sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-m', '1'], timeoutSec: 30 });
    const fakeGw = { listeningPoints: () => [{ protocol: 'ws', address: '127.0.0.1', port: wsPort }] } as unknown as TestGateway;
    ua = await registerCaller(fakeGw, {}, false);
    const call = placeCall(ua, '1000');
    await confirmed(call, false);
    const ended = nextEvent<{ originator: string }>(call.session, 'ended', undefined, 10_000);
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    await until(async () => (await fetch(`${adminUrl}/readyz`).catch(() => null))?.status === 503, 2_000);
    assert.equal((await fetch(`${adminUrl}/readyz`)).status, 503, 'not ready while draining');
    const refused = placeCall(ua, '1000');
    assert.equal((await nextEvent<{ message?: { status_code?: number } }>(refused.session, 'failed')).message?.status_code, 503);
    assert.equal((await ended).originator, 'remote', 'at the deadline the call was ended with a BYE');
    const tookMs = Date.now() - signalledAt;
    assert.ok(tookMs >= 1_900, `the live call was kept until the deadline: ${tookMs} ms`);
    assert.equal((await sipp.done).code, 0, 'the trunk got its BYE too');
    assert.equal(await exited, 0, 'trapezoid exited 0');
    await stopUa(ua);
    ua = null;
  });
});
