import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../config/index.js';
import { createLogger } from '../logging.js';
import { CallGuards, type CallAdmission, type CallRefusal } from './call-guards.js';

const facts = { callId: 'c1', source: '192.0.2.9:5060', transport: 'ws' };
const log = createLogger('error', true);

function held(v: CallAdmission | CallRefusal): CallAdmission {
  assert.ok('release' in v, `admitted: ${JSON.stringify(v)}`);
  return v;
}
function refused(v: CallAdmission | CallRefusal): CallRefusal {
  assert.ok(!('release' in v), 'refused');
  return v;
}

test('dial patterns: the whole number must match one of the user\'s, and one of the credential\'s too', () => {
  const config = configSchema.parse({ users: [{ username: 'alice', password: 'x', dialPatterns: ['1\\d{3}', 'echo'] }, { username: 'bob', password: 'y' }] });
  const g = new CallGuards(config, log);
  held(g.admitOutbound({ user: 'alice', method: 'digest' }, '1000', undefined, facts)).release();
  assert.deepEqual(refused(g.admitOutbound({ user: 'alice', method: 'digest' }, '900123', undefined, facts)),
    { rule: 'dial-pattern', status: 403, reason: 'Dial pattern not allowed' });
  assert.equal(refused(g.admitOutbound({ user: 'alice', method: 'digest' }, '10000', undefined, facts)).rule, 'dial-pattern', 'anchored: no longer numbers');
  held(g.admitOutbound({ user: 'bob', method: 'digest' }, '900123', undefined, facts)).release();
  // A JWT's claim narrows further: both lists must allow the number.
  const jwt = { user: 'alice', method: 'jwt' as const, dialPatterns: ['echo'] };
  held(g.admitOutbound(jwt, 'echo', undefined, facts)).release();
  assert.equal(refused(g.admitOutbound(jwt, '1000', undefined, facts)).rule, 'dial-pattern');
  assert.equal(refused(g.admitOutbound({ user: 'carol', method: 'jwt', dialPatterns: ['(unclosed'] }, 'x', undefined, facts)).rule, 'dial-pattern',
    'a pattern that does not compile matches nothing');
});

test('concurrent calls per user: 403 beyond the limit, room again once a call is released (once)', () => {
  const config = configSchema.parse({ users: [{ username: 'alice', password: 'x', maxCalls: 2 }], security: { calls: { perUser: 1 } } });
  const g = new CallGuards(config, log);
  const alice = { user: 'alice', method: 'digest' as const };
  const a = held(g.admitOutbound(alice, '1', undefined, facts));
  const b = held(g.admitOutbound(alice, '2', undefined, facts));
  assert.deepEqual(refused(g.admitOutbound(alice, '3', undefined, facts)), { rule: 'user-calls', status: 403, reason: 'Too many concurrent calls' });
  a.release();
  a.release();
  assert.deepEqual(g.holding().users, { alice: 1 }, 'released once');
  held(g.admitOutbound(alice, '4', undefined, facts));
  b.release();
  const other = { user: 'bob', method: 'digest' as const };
  held(g.admitOutbound(other, '1', undefined, facts));
  assert.equal(refused(g.admitOutbound(other, '1', undefined, facts)).rule, 'user-calls', 'security.calls.perUser for users without their own');
});

test('calls per minute per user: the one over the limit is refused and the user paused for a minute', () => {
  const clock = { now: 1_000_000 };
  const config = configSchema.parse({ users: [{ username: 'alice', password: 'x', callsPerMinute: 2 }] });
  const g = new CallGuards(config, log, () => clock.now);
  const alice = { user: 'alice', method: 'digest' as const };
  held(g.admitOutbound(alice, '1', undefined, facts)).release();
  held(g.admitOutbound(alice, '1', undefined, facts)).release();
  assert.deepEqual(refused(g.admitOutbound(alice, '1', undefined, facts)), { rule: 'user-rate', status: 403, reason: 'Call rate limit reached' });
  clock.now += 59_000;
  assert.equal(refused(g.admitOutbound(alice, '1', undefined, facts)).rule, 'user-rate');
  clock.now += 60_001;
  held(g.admitOutbound(alice, '1', undefined, facts)).release();
});

test('trunk limits: 503 with Retry-After beyond maxCalls or callsPerMinute, both directions counted', () => {
  const clock = { now: 1_000_000 };
  const config = configSchema.parse({
    trunks: [{ name: 'pstn', address: '192.0.2.1', maxCalls: 1, callsPerMinute: 3 }],
    security: { calls: { perUser: 10, perUserPerMinute: 100 } },
  });
  const g = new CallGuards(config, log, () => clock.now);
  const trunk = config.trunks[0]!;
  const alice = { user: 'alice', method: 'digest' as const };
  const out = held(g.admitOutbound(alice, '1', trunk, facts));
  assert.deepEqual(refused(g.admitInbound(trunk, { ...facts, called: '2000' })),
    { rule: 'trunk-calls', status: 503, reason: 'Trunk call limit reached', retryAfter: 5 });
  assert.deepEqual(refused(g.admitOutbound(alice, '1', trunk, facts)).rule, 'trunk-calls');
  assert.deepEqual(g.holding(), { users: { alice: 1 }, trunks: { pstn: 1 } }, 'a refused trunk leaves the user count alone');
  out.release();
  held(g.admitInbound(trunk, { ...facts, called: '2000' })).release();
  held(g.admitOutbound(alice, '1', trunk, facts)).release();
  assert.deepEqual(refused(g.admitOutbound(alice, '1', trunk, facts)),
    { rule: 'trunk-rate', status: 503, reason: 'Trunk call rate limit reached', retryAfter: 60 }, 'the 4th start of the minute');
  assert.deepEqual(g.holding(), { users: {}, trunks: {} });
});
