// Issue 9 items 5 and 6 acceptance, the trunk's side: the gateway registers with a
// carrier (SIPp as registrar: digest verified by SIPp, the refresh before the
// granted 3 s run out, CSeq counted up in one Call-ID), backs off when refused, tries
// a registrar given by name target by target (RFC 3263: 503 from the first host, the
// second binds) and removes its binding at shutdown (Expires: 0); pings a trunk given by
// name until a target answers (the first host silent); and
// answers a trunk INVITE that requires 100rel with a reliable 180 the trunk PRACKs
// (JsSIP in Node as the agent). Teardown checks every call and port was released.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseCSeq } from '@trapezoid/sip';
import { freePort, startSipp } from '../sip/sipp.js';
import { startDnsmasq } from '../sip/dnsmasq.js';
import { nextEvent } from '../sip/jssip-node.js';
import { AGENT, AGENT_NUMBER, GATEWAY_SCENARIOS, callEnd, sleep, udpPort } from './harness.js';
import { TestRig, type JsSipSession } from './trunk-harness.js';

const PORTS = { min: 12600, max: 12699 };
/** A carrier given by name: two hosts behind SRV, and the DNS server saying so (not another file's addresses). */
const HOST_A = '127.0.20.16';
const HOST_B = '127.0.20.17';
const DNS_AT = '127.0.20.56';

describe('trunk side: outbound registration, 100rel toward the trunk', { timeout: 300_000 }, () => {
  const rig = new TestRig();
  after(() => rig.tearDown());
  const run = (body: () => Promise<void>): Promise<void> => rig.run(body);

  it('registers with digest, refreshes before the granted 3 s expire (same Call-ID, CSeq 1..4, valid digest each time)', { timeout: 60_000 }, () => run(async () => {
    const registrar = rig.own(await startSipp({ args: ['-sf', join(GATEWAY_SCENARIOS, 'uas-registrar.xml'), '-m', '1'], trace: true, timeoutSec: 30 }));
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 'carrier', address: '127.0.0.1', port: registrar.port, domain: 'carrier.test', credentials: { username: 'trunkuser', password: 'trunkpass' }, register: { expires: 60 } }],
    });
    const r = await registrar.done;
    assert.equal(r.code, 0, `SIPp verified both digests and got the refresh in time: ${r.stdout.slice(-1500)}`);
    const registers = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('REGISTER '));
    assert.equal(registers.length, 4);
    const header = (text: string, name: string): string => new RegExp(`^${name}: (.*)$`, 'mi').exec(text)?.[1]?.trim() ?? '';
    assert.deepEqual(registers.map((m) => parseCSeq(header(m.text, 'CSeq')).seq), [1, 2, 3, 4]);
    assert.equal(new Set(registers.map((m) => header(m.text, 'Call-ID'))).size, 1, 'one Call-ID for the binding');
    assert.equal(new Set(registers.map((m) => /tag=([^;\s]+)/.exec(header(m.text, 'From'))?.[1])).size, 1, 'one From tag');
    assert.equal(header(registers[0]!.text, 'To'), '<sip:trunkuser@carrier.test>');
    assert.match(registers[1]!.text, /^Authorization: Digest .*username="trunkuser"/mi);
    const granted = r.messages.filter((m) => m.direction === 'sent' && m.startLine.startsWith('SIP/2.0 200'))[0]!;
    const refreshAfter = registers[2]!.at - granted.at;
    assert.ok(refreshAfter > 1_500 && refreshAfter < 3_000, `refresh ${refreshAfter} ms after the 3 s grant`);
    const status = gw.trunks.status()[0]!;
    assert.equal(status.registration?.lastStatus, 200, JSON.stringify(status));
    assert.ok(gw.events.events.filter((e) => e.event === 'trunk-registered').length >= 2);
  }));

  it('a refused registration is retried with back-off; the state says retrying with the last status', { timeout: 60_000 }, () => run(async () => {
    const registrar = rig.own(await startSipp({ args: ['-sf', join(GATEWAY_SCENARIOS, 'uas-register-403.xml'), '-m', '1'], trace: true, timeoutSec: 30 }));
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 'carrier', address: '127.0.0.1', port: registrar.port, register: { expires: 60, retryMin: 0.5, retryMax: 10 } }],
    });
    const r = await registrar.done;
    assert.equal(r.code, 0, r.stdout.slice(-1000));
    const registers = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('REGISTER '));
    assert.ok(registers[1]!.at - registers[0]!.at >= 450, `first retry after retryMin: ${registers[1]!.at - registers[0]!.at} ms`);
    const s = gw.trunks.status()[0]!.registration!;
    assert.deepEqual([s.state, s.lastStatus, s.failures], ['retrying', 403, 2]);
    assert.ok(s.nextAttemptAt! - Date.now() > 500, 'the second retry waits twice as long');
  }));

  it('a registrar given by name: 503 from the first SRV target, the second binds; at shutdown the binding is removed (Expires: 0, same Call-ID)', { timeout: 60_000 }, () => run(async () => {
    const first = rig.own(await startSipp({ address: HOST_A, args: ['-sf', join(GATEWAY_SCENARIOS, 'uas-register-503.xml'), '-m', '1'], trace: true, timeoutSec: 30 }));
    const second = rig.own(await startSipp({ address: HOST_B, args: ['-sf', join(GATEWAY_SCENARIOS, 'uas-registrar-unregister.xml'), '-m', '1'], trace: true, timeoutSec: 30 }));
    const dns = rig.own(await startDnsmasq({
      hosts: { 'a.carrier.test': HOST_A, 'b.carrier.test': HOST_B },
      srv: [['_sip._udp.carrier.test', 'b.carrier.test', second.port, 20, 10], ['_sip._udp.carrier.test', 'a.carrier.test', first.port, 10, 10]],
      naptr: [['carrier.test', 10, 10, 'S', 'SIP+D2U', '', '_sip._udp.carrier.test']],
    }, DNS_AT));
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 'carrier', address: 'carrier.test', register: { expires: 60 } }],
      extra: { dns: { servers: [dns.server] } },
    });
    for (const until = Date.now() + 10_000; gw.trunks.status()[0]!.registration?.state !== 'registered' && Date.now() < until;) await sleep(50);
    assert.equal(gw.trunks.status()[0]!.registration?.state, 'registered', JSON.stringify(gw.trunks.status()));
    assert.equal((await first.done).code, 0, 'the first target got its REGISTER and said 503');
    assert.ok(gw.events.events.some((e) => e.event === 'trunk-registrar-next' && e.status === 503 && e.destination === `udp:${HOST_A}:${first.port}`));
    await rig.tearDown(true); // the gateway shuts down: 0 calls, 0 ports, and the binding goes
    const r = await second.done;
    assert.equal(r.code, 0, `the second target granted the binding, then got Expires: 0: ${r.stdout.slice(-1500)}`);
    const registers = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('REGISTER '));
    assert.equal(registers.length, 2);
    const callIds = registers.map((m) => /^Call-ID: (.*)$/mi.exec(m.text)?.[1]?.trim());
    assert.equal(callIds[0], callIds[1], 'the un-REGISTER is of the same binding');
  }));

  it('OPTIONS pings to a trunk given by name: the first SRV target silent, the second answers: the trunk is up', { timeout: 60_000 }, () => run(async () => {
    const silent = await freePort();
    const second = rig.own(await startSipp({ address: HOST_B, args: ['-sf', join(GATEWAY_SCENARIOS, 'uas-options.xml')], trace: true, timeoutSec: 30 }));
    const dns = rig.own(await startDnsmasq({
      hosts: { 'a.carrier.test': HOST_A, 'b.carrier.test': HOST_B },
      srv: [['_sip._udp.carrier.test', 'b.carrier.test', second.port, 20, 10], ['_sip._udp.carrier.test', 'a.carrier.test', silent, 10, 10]],
      naptr: [['carrier.test', 10, 10, 'S', 'SIP+D2U', '', '_sip._udp.carrier.test']],
    }, DNS_AT));
    const gw = await rig.gateway({
      ports: PORTS,
      trunks: [{ name: 'carrier', address: 'carrier.test', ping: { interval: 0.5, timeout: 0.3, downAfter: 1, upAfter: 1 } }],
      extra: { dns: { servers: [dns.server] } },
    });
    for (const until = Date.now() + 5_000; gw.trunks.status()[0]!.ping?.reachability !== 'up' && Date.now() < until;) await sleep(50);
    const s = gw.trunks.status()[0]!;
    assert.deepEqual([s.usable, s.ping?.reachability, s.ping?.lastStatus], [true, 'up', 200], JSON.stringify(s));
    await sleep(1_200);
    assert.equal(gw.trunks.status()[0]!.ping?.reachability, 'up', 'and stays up, ping after ping');
    assert.ok(!gw.events.events.some((e) => e.event === 'trunk-down'));
  }));

  it('a trunk INVITE requiring 100rel gets a reliable 180 (RSeq), PRACKed; the agent answers; the trunk hangs up', { timeout: 60_000 }, () => run(async () => {
    const trunkPort = await freePort();
    const gw = await rig.gateway({ ports: PORTS, trunks: [{ name: 'pbx', address: '127.0.0.1', port: trunkPort }] });
    const ua = await rig.register(gw, AGENT);
    const incoming = nextEvent<{ session: JsSipSession }>(ua, 'newRTCSession', undefined, 30_000);
    // The trunk's source port is its identity: SIPp sends from the trunk's configured port.
    const trunk = rig.own(await startSipp({ port: trunkPort, args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-require-100rel.xml'), '-s', AGENT_NUMBER, '-m', '1', `127.0.0.1:${udpPort(gw)}`], trace: true, timeoutSec: 30 }));
    const { session } = await incoming;
    await sleep(500); // ringing: the reliable 180 and its PRACK go first
    const ended = nextEvent(session, 'ended', 'failed', 30_000);
    session.answer({ mediaConstraints: { audio: false, video: false } });
    await ended;
    const r = await trunk.done;
    assert.equal(r.code, 0, `SIPp's scenario passed (reliable 180, PRACK 200, 200, BYE): ${r.stdout.slice(-1500)}`);
    const r180 = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 180'))!;
    assert.match(r180.text, /^Require: 100rel/mi);
    assert.match(r180.text, /^RSeq: \d+/mi);
    assert.equal((await callEnd(gw)).status, 200);
  }));
});
