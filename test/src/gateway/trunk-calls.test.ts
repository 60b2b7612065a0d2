// Issue 9 item 6 acceptance, browser -> trunk (JsSIP in Node as the browser, SIPp as
// the trunks): a reliable 183 PRACKed; SHA-256 digest (alone, and offered beside MD5);
// failover to the next trunk on 503 and on silence, none once a 180 was relayed;
// OPTIONS pings marking a trunk down so routing skips it; DNS SRV failover with
// dnsmasq. Each test ends by checking the gateway released every call and port.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { computeHA1, computeResponse, parseCredentials, type DigestAlgorithm } from '@trapezoid/sip';
import { freePort, startSipp, type SippResult, type SippRun } from '../sip/sipp.js';
import { startDnsmasq } from '../sip/dnsmasq.js';
import { CALLER, GATEWAY_SCENARIOS, callEnd, sleep } from './harness.js';
import { TestRig, callNumber, hangUp } from './trunk-harness.js';

const PORTS = { min: 12500, max: 12599 };
const scenario = (name: string): string[] => ['-sf', join(GATEWAY_SCENARIOS, name)];

describe('browser -> trunks: 100rel, SHA-256 digest, failover, pings, DNS', { timeout: 400_000 }, () => {
  const rig = new TestRig();
  after(() => rig.tearDown());
  const run = (body: () => Promise<void>): Promise<void> => rig.run(body);

  async function sipp(args: string[], address = '127.0.0.1'): Promise<SippRun & { port: number }> {
    return rig.own(await startSipp({ address, args: [...args, '-m', '1'], trace: true, timeoutSec: 30 }));
  }
  const invites = (r: SippResult): number => r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('INVITE ')).length;

  it('a trunk\'s reliable 183 with SDP is PRACKed (RAck), its retransmissions absorbed; the call is answered', { timeout: 60_000 }, () => run(async () => {
    const trunk = await sipp(scenario('uas-100rel-183.xml'));
    const gw = await rig.gateway({ ports: PORTS, trunks: [{ name: 't1', address: '127.0.0.1', port: trunk.port }] });
    const ua = await rig.register(gw, CALLER);
    const { session, outcome } = await callNumber(ua, '1000');
    assert.equal(outcome.confirmed, true, JSON.stringify(outcome));
    assert.ok(outcome.progress.includes(183), 'the browser saw the early media 183');
    await hangUp(session);
    const r = await trunk.done;
    assert.equal(r.code, 0, `SIPp's scenario passed (Supported: 100rel, PRACK with RAck 1 n INVITE): ${r.stdout.slice(-1200)}`);
    const sent = r.messages.filter((m) => m.direction === 'received');
    assert.equal(sent.filter((m) => m.startLine.startsWith('PRACK ')).length, 1, 'one PRACK, whatever the 183 retransmissions');
    assert.deepEqual([(await callEnd(gw)).status], [200]);
  }));

  for (const [file, label] of [['uas-digest-sha256.xml', 'a SHA-256 challenge'], ['uas-digest-md5-sha256.xml', 'MD5 and SHA-256 challenges']] as const) {
    it(`401 with ${label}: the retry answers SHA-256 with a digest that verifies`, { timeout: 60_000 }, () => run(async () => {
      const trunk = await sipp(scenario(file));
      const gw = await rig.gateway({ ports: PORTS, trunks: [{ name: 't1', address: '127.0.0.1', port: trunk.port, credentials: { username: 'trunkuser', password: 'trunkpass' } }] });
      const ua = await rig.register(gw, CALLER);
      const { session, outcome } = await callNumber(ua, '1000');
      assert.equal(outcome.confirmed, true, JSON.stringify(outcome));
      await hangUp(session);
      const r = await trunk.done;
      assert.equal(r.code, 0, r.stdout.slice(-1200));
      const retried = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '))[1]!;
      const line = /^Authorization: (.*)$/mi.exec(retried.text)?.[1];
      assert.ok(line, 'the second INVITE carries Authorization');
      const c = parseCredentials(line);
      assert.equal(c.algorithm, 'SHA-256');
      assert.match(c.nonce, /sha$/);
      const uri = retried.startLine.split(' ')[1]!;
      const expected = computeResponse({
        algorithm: 'SHA-256' as DigestAlgorithm, ha1: computeHA1('SHA-256', 'trunkuser', 'sipp.test', 'trunkpass'),
        nonce: c.nonce, method: 'INVITE', uri: c.uri, qop: c.qop, nc: c.nc, cnonce: c.cnonce,
      });
      assert.equal(c.uri, uri);
      assert.equal(c.response, expected, 'the SHA-256 digest is right for trunkuser/trunkpass');
    }));
  }

  it('503 from the first trunk: the second answers; the first saw one INVITE', { timeout: 60_000 }, () => run(async () => {
    const busy = await sipp(scenario('uas-503.xml'));
    const good = await sipp(['-sn', 'uas']);
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 't1', address: '127.0.0.1', port: busy.port }, { name: 't2', address: '127.0.0.1', port: good.port }],
      routes: [{ match: '^\\d+$', trunks: ['t1', 't2'] }],
    });
    const ua = await rig.register(gw, CALLER);
    const { session, outcome } = await callNumber(ua, '1000');
    assert.equal(outcome.confirmed, true, JSON.stringify(outcome));
    assert.equal(gw.calls.list()[0]?.record.trunk, 't2');
    assert.ok(gw.events.events.some((e) => e.event === 'trunk-failover' && e.trunk === 't1' && e.status === 503));
    await hangUp(session);
    assert.equal(invites(await busy.done), 1);
    assert.equal((await good.done).code, 0);
  }));

  it('no response at all from the first trunk (UDP to nothing): 408 after its inviteTimeout, the second answers', { timeout: 60_000 }, () => run(async () => {
    const good = await sipp(['-sn', 'uas']);
    const dead = await freePort();
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 't1', address: '127.0.0.1', port: dead, inviteTimeout: 1 }, { name: 't2', address: '127.0.0.1', port: good.port }],
      routes: [{ match: '^\\d+$', trunks: ['t1', 't2'] }],
    });
    const ua = await rig.register(gw, CALLER);
    const started = Date.now();
    const { session, outcome } = await callNumber(ua, '1000');
    assert.equal(outcome.confirmed, true, JSON.stringify(outcome));
    assert.ok(Date.now() - started >= 1_000, 'the first trunk had its second');
    assert.ok(gw.events.events.some((e) => e.event === 'trunk-failover' && e.trunk === 't1' && e.status === 408));
    await hangUp(session);
    assert.equal((await good.done).code, 0);
  }));

  it('a trunk that rang (180 relayed) then failed 503: no failover, the browser gets 503', { timeout: 60_000 }, () => run(async () => {
    const ringing = await sipp(scenario('uas-180-then-503.xml'));
    const second = await sipp(['-sn', 'uas']);
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 't1', address: '127.0.0.1', port: ringing.port }, { name: 't2', address: '127.0.0.1', port: second.port }],
      routes: [{ match: '^\\d+$', trunks: ['t1', 't2'] }],
    });
    const ua = await rig.register(gw, CALLER);
    const { outcome } = await callNumber(ua, '1000');
    assert.deepEqual([outcome.confirmed, outcome.status], [false, 503]);
    assert.ok(outcome.progress.includes(180));
    assert.equal((await ringing.done).code, 0);
    await second.stop();
    assert.equal(invites(await second.done), 0, 'the second trunk never saw an INVITE');
  }));

  it('OPTIONS pings mark a silent trunk down; routing skips it and calls the next at once', { timeout: 60_000 }, () => run(async () => {
    const good = await sipp(['-sn', 'uas']);
    const dead = await freePort();
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [
        // Were it tried, the call would wait its 30 s inviteTimeout and fail over (an event).
        { name: 't1', address: '127.0.0.1', port: dead, inviteTimeout: 30, ping: { interval: 0.3, timeout: 0.2, downAfter: 2 } },
        { name: 't2', address: '127.0.0.1', port: good.port },
      ],
      routes: [{ match: '^\\d+$', trunks: ['t1', 't2'] }],
    });
    for (const until = Date.now() + 5_000; gw.trunks.usable('t1') && Date.now() < until;) await sleep(50);
    const t1 = gw.trunks.status().find((s) => s.name === 't1')!;
    assert.equal(t1.usable, false, JSON.stringify(t1));
    assert.equal(t1.ping?.reachability, 'down');
    assert.equal(t1.ping?.lastStatus, 408);
    const ua = await rig.register(gw, CALLER);
    const { session, outcome } = await callNumber(ua, '1000');
    assert.equal(outcome.confirmed, true, JSON.stringify(outcome));
    assert.equal(gw.calls.list()[0]?.record.trunk, 't2');
    assert.ok(gw.events.events.some((e) => e.event === 'trunk-skipped' && e.trunk === 't1'));
    assert.ok(!gw.events.events.some((e) => e.event === 'trunk-failover'));
    await hangUp(session);
    assert.equal((await good.done).code, 0);
  }));

  it('a trunk given by name: DNS SRV (dnsmasq) orders two hosts; 503 from the first, the second answers', { timeout: 60_000 }, () => run(async () => {
    const first = await sipp(scenario('uas-503.xml'), '127.0.20.11');
    const second = await sipp(['-sn', 'uas'], '127.0.20.12');
    // Not dns-rfc3263.test's 127.0.20.53: the two files may run at once.
    const dns = rig.own(await startDnsmasq({
      hosts: { 'a.carrier.test': '127.0.20.11', 'b.carrier.test': '127.0.20.12' },
      srv: [['_sip._udp.carrier.test', 'b.carrier.test', second.port, 20, 10], ['_sip._udp.carrier.test', 'a.carrier.test', first.port, 10, 10]],
      naptr: [['carrier.test', 10, 10, 'S', 'SIP+D2U', '', '_sip._udp.carrier.test']],
    }, '127.0.20.55'));
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 'carrier', address: 'carrier.test' }],
      extra: { dns: { servers: [dns.server] } },
    });
    const ua = await rig.register(gw, CALLER);
    const { session, outcome } = await callNumber(ua, '1000');
    assert.equal(outcome.confirmed, true, JSON.stringify(outcome));
    assert.ok(gw.events.events.some((e) => e.event === 'trunk-failover' && e.destination === `udp:127.0.20.11:${first.port}`));
    await hangUp(session);
    assert.equal(invites(await first.done), 1);
    const r = await second.done;
    assert.equal(r.code, 0);
    const inv = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '))!;
    assert.match(inv.startLine, /^INVITE sip:1000@carrier\.test SIP\/2\.0/, 'Request-URI keeps the trunk\'s name');
  }));
});
