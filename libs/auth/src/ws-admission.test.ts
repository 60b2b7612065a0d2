import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionLimits, WsAdmissionPolicy, hostName, type UpgradeRequest } from './index.js';

function req(over: Partial<UpgradeRequest> & { origin?: string; host?: string } = {}): UpgradeRequest {
  const headers: Record<string, string> = { host: over.host ?? '127.0.0.1:8088' };
  if (over.origin !== undefined) headers.origin = over.origin;
  return { remoteAddress: over.remoteAddress ?? '127.0.0.2', url: over.url ?? '/', headers: over.headers ?? headers };
}

const roomy = (): ConnectionLimits => new ConnectionLimits({ maxPerAddress: 100, maxTotal: 1000 });

test('default Origin rule: none (a non-browser client) or a page under the name the client connected to', () => {
  const p = new WsAdmissionPolicy({ limits: roomy() });
  assert.equal(p.admit(req()).admit, true);
  assert.equal(p.admit(req({ origin: 'http://127.0.0.1:8080' })).admit, true);
  assert.deepEqual(p.admit(req({ origin: 'https://evil.example' })), {
    admit: false, status: 403, reason: 'Origin not allowed', why: 'Origin https://evil.example',
  });
  assert.equal(p.admit(req({ origin: 'null' })).admit, false);
  assert.equal(p.admit(req({ origin: 'http://localhost:8080' })).admit, true, 'the demo page opened as localhost, its WebSocket at 127.0.0.1');
  assert.equal(p.admit(req({ origin: 'http://evil.example', host: 'localhost:8088' })).admit, false);
});

test('an Origin list admits exactly those (a missing Origin too is refused); * admits any', () => {
  const p = new WsAdmissionPolicy({ limits: roomy(), origins: ['https://app.example.com/'] });
  assert.equal(p.admit(req({ origin: 'https://APP.example.com' })).admit, true);
  assert.equal(p.admit(req({ origin: 'https://app.example.com:8443' })).admit, false);
  assert.equal(p.admit(req()).admit, false);
  assert.equal(new WsAdmissionPolicy({ limits: roomy(), origins: ['*'] }).admit(req({ origin: 'https://x.example' })).admit, true);
});

test('Host: a list names the served names (421 otherwise); a loopback listener serves loopback names only', () => {
  const listed = new WsAdmissionPolicy({ limits: roomy(), hosts: ['sip.example.com'] });
  assert.equal(listed.admit(req({ host: 'SIP.example.com:443' })).admit, true);
  assert.deepEqual(listed.admit(req({ host: 'other.example:443' })), {
    admit: false, status: 421, reason: 'Host not served here', why: 'Host other.example',
  });
  const loop = new WsAdmissionPolicy({ limits: roomy(), loopbackOnly: true });
  for (const h of ['127.0.0.1:8088', 'localhost:8088', '[::1]:8088', '127.0.0.3']) assert.equal(loop.admit(req({ host: h })).admit, true, h);
  // DNS rebinding: a page at rebind.example whose name now resolves to 127.0.0.1.
  const r = loop.admit(req({ host: 'rebind.example:8088', origin: 'http://rebind.example:8088' }));
  assert.equal(!r.admit && r.status, 421);
  assert.equal(new WsAdmissionPolicy({ limits: roomy() }).admit(req({ host: 'any.example' })).admit, true);
  assert.equal(new WsAdmissionPolicy({ limits: roomy() }).admit(req({ headers: {} })).admit, false, 'no Host: 400');
  assert.equal(hostName('[2001:db8::1]:443'), '2001:db8::1');
});

test('limits: per address (429) with CIDR exemptions, in total (503); release gives the place back once', () => {
  const limits = new ConnectionLimits({ maxPerAddress: 2, maxTotal: 5, exempt: ['10.0.0.0/8'] });
  const p = new WsAdmissionPolicy({ limits });
  const a = [p.admit(req()), p.admit(req())];
  const third = p.admit(req());
  assert.deepEqual(third, { admit: false, status: 429, reason: 'Too many connections from this address', why: '2 open from 127.0.0.2' });
  assert.equal(p.admit(req({ remoteAddress: '127.0.0.3' })).admit, true, 'another address is served');
  // The call centre: 500 agents behind one NAT address, exempt from the per-address limit, not from the total.
  const natted = [p.admit(req({ remoteAddress: '10.1.2.3' })), p.admit(req({ remoteAddress: '10.1.2.3' }))];
  assert.deepEqual(natted.map((v) => v.admit), [true, true]);
  const full = p.admit(req({ remoteAddress: '10.1.2.3' }));
  assert.deepEqual(full, { admit: false, status: 503, reason: 'Too many connections', why: '5 open in total' });
  assert.equal(limits.open, 5);
  const first = a[0]!;
  assert.ok(first.admit);
  first.release();
  first.release();
  assert.equal(limits.open, 4);
  assert.equal(limits.openFrom('127.0.0.2'), 1);
  assert.equal(p.admit(req()).admit, true);
});

test('credentials at the upgrade: valid ones give the identity, invalid ones the checker\'s status; the URL is parsed once', () => {
  const seen: string[] = [];
  const p = new WsAdmissionPolicy({
    limits: roomy(),
    credentials: (url) => {
      seen.push(url.searchParams.get('token') ?? '-');
      const t = url.searchParams.get('token');
      if (t === null) return { kind: 'none' };
      if (t === 'good') return { kind: 'valid', identity: { user: 'alice', method: 'jwt' } };
      return { kind: 'invalid', status: 403, reason: 'Forbidden', why: 'bad signature' };
    },
  });
  const ok = p.admit(req({ url: '/sip?token=good' }));
  assert.ok(ok.admit);
  assert.deepEqual(ok.identity, { user: 'alice', method: 'jwt' });
  assert.deepEqual(p.admit(req({ url: '/sip?token=forged' })), { admit: false, status: 403, reason: 'Forbidden', why: 'bad signature' });
  const none = p.admit(req({ url: '/sip' }));
  assert.ok(none.admit && none.identity === undefined);
  assert.deepEqual(seen, ['good', 'forged', '-']);
});
