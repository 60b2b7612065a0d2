// Issue 10 acceptance, the failover drill: gateways A and B as separate OS processes,
// one real redis-server, A serving its service address 127.0.10.1. Headless Chromium
// running the demo softphone (JsSIP, default settings) calls SIPp (-rtp_echo) through
// A; media flows; A is killed with SIGKILL; B takes the call over. Asserted from a
// tshark capture of the service address and from the browser's own statistics.
// Media ports 13000-13199 (both nodes, each on its own address), Redis on 13901.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { RedisServerProcess } from '@trapezoid/cluster';
import { launchChromium, type Browser } from '../media/chromium.js';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { AGENT, AGENT_NUMBER, CALLER, GATEWAY_SCENARIOS, sleep, waitCallState, waitEnded, type SoftphoneStats } from '../gateway/harness.js';
import { GatewayNode, openSoftphoneAt } from './nodes.js';
import { Capture, flowAround, isDtlsHandshake, kindOf, type Datagram } from './capture.js';

const PORTS = { min: 13000, max: 13199 };
const A_ADDRESS = '127.0.10.1';
const B_ADDRESS = '127.0.10.2';

declare const window: { softphone: { stats(): Promise<SoftphoneStats | null> } };

async function stats(page: Page): Promise<SoftphoneStats> {
  const s = await page.evaluate(() => window.softphone.stats());
  assert.ok(s, 'the call has a peer connection');
  return s;
}

/** packetsReceived as the browser reported it at `at` (epoch ms, when getStats() returned). */
interface Sample { at: number; packetsReceived: number }

/**
 * Reads the browser's stats every 50 ms from now until stop(): the series the drills
 * line up against the wire, packet for packet.
 */
function sampleStats(page: Page): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const s = await stats(page);
      samples.push({ at: Date.now(), packetsReceived: s.packetsReceived });
      await sleep(50);
    }
  })();
  return { samples, stop: async () => { on = false; await loop; } };
}

/** Polls the browser's stats until `pred` holds. */
async function statsUntil(page: Page, pred: (s: SoftphoneStats) => boolean, timeout = 15_000): Promise<SoftphoneStats> {
  let s = await stats(page);
  for (const until = Date.now() + timeout; !pred(s) && Date.now() < until;) {
    await sleep(200);
    s = await stats(page);
  }
  return s;
}

describe('failover drill: kill -9 the node carrying a browser call, the survivor carries it on', { timeout: 280_000 }, () => {
  const redis = new RedisServerProcess({ port: 13901, password: 'drill-secret' });
  let browser: Browser;
  before(async () => {
    await redis.start();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await redis.kill();
  });

  interface Drill { a: GatewayNode; b: GatewayNode; sipp: SippRun | null; capture: Capture; pages: Page[]; trunkPort: number }

  /** SIPp as the trunk (started here when given its arguments), capture, nodes A and B. */
  async function setUp(sippArgs: string[] | null): Promise<Drill> {
    const trunkPort = await freePort();
    const sipp = sippArgs ? await startSipp({ port: trunkPort, args: sippArgs, trace: true, timeoutSec: 90 }) : null;
    let capture: Capture | null = null;
    let a: GatewayNode | null = null;
    try {
      // B's own address too: nothing of the call may leave from it.
      capture = await Capture.start([A_ADDRESS, B_ADDRESS]);
      const common = { redisUrl: redis.url, trunkPort, ports: PORTS };
      a = await GatewayNode.start({ ...common, name: 'a', address: A_ADDRESS });
      const b = await GatewayNode.start({ ...common, name: 'b', address: B_ADDRESS });
      return { a, b, sipp, capture, pages: [], trunkPort };
    } catch (err) {
      // Whatever started is stopped again.
      await a?.kill();
      await capture?.close();
      await sipp?.stop();
      throw err;
    }
  }

  async function tearDown(d: Drill, passed: boolean): Promise<void> {
    for (const p of d.pages) await p.close().catch(() => undefined);
    await d.capture.close();
    await d.a.kill();
    try {
      await d.b.assertReleasedAndKill(passed);
    } finally {
      await d.sipp?.stop();
    }
  }

  async function drill(sippArgs: string[] | null, body: (d: Drill) => Promise<void>): Promise<void> {
    const d = await setUp(sippArgs);
    let passed = false;
    try {
      await body(d);
      passed = true;
    } finally {
      await tearDown(d, passed);
    }
  }

  /** Kills A once the call's record has had a checkpoint; returns when. */
  async function killA(d: Drill): Promise<number> {
    await sleep(1500);
    const killedAt = Date.now();
    await d.a.kill();
    const t = await d.b.waitFor((e) => e.event === 'takeover', 10_000);
    console.log(`takeover on B: ${JSON.stringify({ calls: t.calls, restored: t.restored, ms: t.ms, afterKillMs: Number(t.at) - killedAt })}`);
    return killedAt;
  }

  /**
   * The wire after the kill: media toward the browser and toward SIPp resumes from the
   * service address with sequence numbers moving forward, and no DTLS handshake.
   */
  function assertWire(wire: Datagram[], killedAt: number, webrtcPort: number): { gapMs: number; toBrowser: Datagram[]; resumedAt: number } {
    const fromOwn = wire.filter((p) => p.src === B_ADDRESS && p.at >= killedAt);
    assert.deepEqual(fromOwn.map((p) => `${kindOf(p)} ${p.sport}->${p.dst}:${p.dport} ${p.head.toString('latin1', 0, 12)}`), [],
      'B sends nothing (no SIP, no media) from its own address: the peers filter by source');
    const fromService = wire.filter((p) => p.src === A_ADDRESS && kindOf(p) === 'rtp');
    // The WebRTC leg's port sends toward the browser (whichever of its candidates the
    // browser picked); every other media port of the service address toward SIPp.
    const toBrowser = fromService.filter((p) => p.sport === webrtcPort);
    const toTrunk = fromService.filter((p) => p.sport !== webrtcPort && p.dst === '127.0.0.1');
    const browserFlow = flowAround(toBrowser, killedAt);
    const trunkFlow = flowAround(toTrunk, killedAt);
    console.log(`media gap toward the browser: ${browserFlow.gapMs} ms, toward SIPp: ${trunkFlow.gapMs} ms`);
    for (const [name, f] of [['browser', browserFlow], ['SIPp', trunkFlow]] as const) {
      assert.ok(f.before > 20 && f.after > 20, `RTP toward ${name} before and after the kill: ${JSON.stringify(f)}`);
      assert.ok(f.forward, `sequence numbers toward ${name} continue forward: ${JSON.stringify(f)}`);
      assert.ok(f.sourcesAfter.every((s) => s.startsWith(`${A_ADDRESS}:`)), `toward ${name} from the service address: ${f.sourcesAfter.join(', ')}`);
      assert.ok(f.gapMs < 3000, `media gap toward ${name} under 3 s: ${f.gapMs} ms`);
    }
    const handshakes = wire.filter((p) => p.at >= killedAt && isDtlsHandshake(p));
    assert.equal(handshakes.length, 0, 'no new DTLS handshake on the wire after the kill');
    return { gapMs: Math.max(browserFlow.gapMs, trunkFlow.gapMs), toBrowser, resumedAt: browserFlow.firstAfterAt };
  }

  /**
   * No SRTP decrypt failure: from the last stats reading before B's first packet to the
   * browser (`resumedAt`, the end of the gap) until the last reading, the browser's inbound-rtp packetsReceived grew by
   * what the wire carried to it. A packet that fails SRTP authentication or is taken
   * for a replay (a reused index, RFC 3711 §3.3.2) is dropped before it is counted.
   * Slack: a reading may be up to 50 ms old (Chromium caches getStats() that long),
   * about 3 packets at each end of the window.
   */
  function assertDecrypted(samples: Sample[], toBrowser: Datagram[], killedAt: number, resumedAt: number): void {
    const s0 = samples.filter((x) => x.at < resumedAt).at(-1);
    const s1 = samples.at(-1);
    assert.ok(s0 && s1 && s1.at > resumedAt, `stats read before and after media resumed: ${JSON.stringify({ resumedAt, first: samples[0], last: s1 })}`);
    const got = s1.packetsReceived - s0.packetsReceived;
    const wire = toBrowser.filter((p) => p.at > s0.at && p.at <= s1.at).length;
    console.log(`browser's packetsReceived +${got} for ${wire} SRTP packets on the wire toward it (${s0.at - killedAt} to ${s1.at - killedAt} ms after the kill)`);
    assert.ok(got >= 100, `the browser's inbound-rtp packetsReceived grew again: ${got}`);
    assert.ok(got >= wire - 6, `no SRTP decrypt failure: the browser took ${got} of the ${wire} SRTP packets sent to it`);
  }

  /** Kills A while sampling the browser's stats; returns when and the samples, once it heard `more` packets after the kill. */
  async function killAWatching(d: Drill, page: Page, more = 150): Promise<{ killedAt: number; samples: Sample[] }> {
    const sampler = sampleStats(page);
    try {
      const killedAt = await killA(d);
      const atKill = sampler.samples.filter((x) => x.at < killedAt).at(-1)?.packetsReceived ?? 0;
      for (const until = Date.now() + 15_000; (sampler.samples.at(-1)?.packetsReceived ?? 0) < atKill + more && Date.now() < until;) await sleep(100);
      return { killedAt, samples: sampler.samples };
    } finally {
      await sampler.stop();
    }
  }

  /** The WebRTC leg's port on the service address: where the browser's ICE checks go. */
  function webrtcPortFrom(wire: Datagram[]): number {
    const stun = wire.find((p) => p.dst === A_ADDRESS && kindOf(p) === 'stun');
    assert.ok(stun, 'the browser sent ICE checks to the service address');
    return stun.dport;
  }

  it('browser -> SIPp: media resumes from the service address, no new DTLS handshake, then the browser\'s BYE reaches SIPp', { timeout: 90_000 }, () => drill(['-sn', 'uas', '-rtp_echo', '-m', '1'], async (d) => {
    const page = await browser.context.newPage();
    d.pages.push(page);
    await openSoftphoneAt(page, d.a.httpUrl, { user: CALLER.username, password: CALLER.password, target: '1000' });
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    await statsUntil(page, (s) => s.packetsReceived >= 50);
    const { killedAt, samples } = await killAWatching(d, page);
    // JsSIP has reconnected to the same URL (now B) and registered the same instance.
    await d.b.waitHealth((h) => h.registrations >= 1, 15_000);
    await page.click('#hangup');
    const end = await waitEnded(page);
    assert.equal(end.originator, 'local');
    const r = await d.sipp!.done;
    assert.equal(r.code, 0, `SIPp's call succeeded: ${r.stdout.slice(-1500)}`);
    const bye = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
    assert.ok(bye, 'SIPp received the browser\'s BYE');
    assert.match(bye.text, new RegExp(`^Via: SIP/2.0/UDP ${A_ADDRESS.replace(/\./g, '\\.')}:`, 'mi'), 'the BYE left from the service address');
    const wire = await d.capture.stop();
    const { toBrowser, resumedAt } = assertWire(wire, killedAt, webrtcPortFrom(wire));
    assertDecrypted(samples, toBrowser, killedAt, resumedAt);
  }));

  it('browser -> SIPp: SIPp hangs up after the takeover, its BYE reaches the browser over its new WebSocket', { timeout: 90_000 }, () => drill(
    ['-sf', join(GATEWAY_SCENARIOS, 'uas-bye-after-pause.xml'), '-d', '9000', '-rtp_echo', '-m', '1'], async (d) => {
      const page = await browser.context.newPage();
      d.pages.push(page);
      await openSoftphoneAt(page, d.a.httpUrl, { user: CALLER.username, password: CALLER.password, target: '1001' });
      await page.click('#call');
      await waitCallState(page, /^in call$/);
      await statsUntil(page, (s) => s.packetsReceived >= 50);
      const killedAt = await killA(d);
      const atKill = await stats(page);
      const end = await waitEnded(page, 30_000);
      assert.equal(end.originator, 'remote', `SIPp's BYE reached the browser: ${JSON.stringify(end)}`);
      const r = await d.sipp!.done;
      assert.equal(r.code, 0, `SIPp's BYE was answered 200: ${r.stdout.slice(-1500)}`);
      const wire = await d.capture.stop();
      assertWire(wire, killedAt, webrtcPortFrom(wire));
      const bye = r.messages.find((m) => m.direction === 'sent' && m.startLine.startsWith('BYE '));
      assert.ok(bye && bye.at > killedAt, 'SIPp hung up after the takeover');
      assert.ok(atKill.packetsReceived > 0);
    }));

  it('ten browser calls through A when it is killed: all ten go on through B', { timeout: 120_000 }, () => drill(['-sn', 'uas', '-rtp_echo', '-m', '10'], async (d) => {
    const pages = await Promise.all(Array.from({ length: 10 }, () => browser.context.newPage()));
    d.pages.push(...pages);
    // One after the other: ten registrations at once on a loaded CI machine can take long.
    for (const [i, p] of pages.entries()) await openSoftphoneAt(p, d.a.httpUrl, { user: CALLER.username, password: CALLER.password, target: String(1100 + i) }, 30_000);
    await Promise.all(pages.map((p) => p.click('#call')));
    await Promise.all(pages.map((p) => waitCallState(p, /^in call$/, 30_000)));
    await Promise.all(pages.map((p) => statsUntil(p, (s) => s.packetsReceived >= 50)));
    assert.equal((await d.a.health()).liveCalls, 10);
    await sleep(1500);
    const killedAt = Date.now();
    await d.a.kill();
    const t = await d.b.waitFor((e) => e.event === 'takeover', 10_000);
    assert.deepEqual([t.calls, t.restored], [10, 10], `B restored all ten: ${JSON.stringify(t)}`);
    console.log(`ten calls taken over ${Number(t.at) - killedAt} ms after the kill, restore took ${String(t.ms)} ms`);
    const atKill = await Promise.all(pages.map((p) => stats(p)));
    const resumed = await Promise.all(pages.map((p, i) => statsUntil(p, (s) => s.packetsReceived >= atKill[i]!.packetsReceived + 100, 20_000)));
    resumed.forEach((s, i) => assert.ok(s.packetsReceived >= atKill[i]!.packetsReceived + 100, `call ${i} hears SIPp again: ${JSON.stringify([atKill[i], s])}`));
    await d.b.waitHealth((h) => h.registrations >= 10, 20_000);
    await Promise.all(pages.map((p) => p.click('#hangup')));
    await Promise.all(pages.map((p) => waitEnded(p)));
    const r = await d.sipp!.done;
    assert.equal(r.code, 0, `SIPp's ten calls ended with the browsers' BYEs: ${r.stdout.slice(-1500)}`);
    assert.equal(r.successful, 10);
  }));

  it('SIPp -> browser agent: the agent\'s call through A goes on through B', { timeout: 90_000 }, () => drill(null, async (d) => {
    const page = await browser.context.newPage();
    d.pages.push(page);
    await openSoftphoneAt(page, d.a.httpUrl, { user: AGENT.username, password: AGENT.password, autoanswer: true });
    // SIPp calls from the trunk's own port, so A recognises it as the trunk.
    const sipp = await startSipp({
      port: d.trunkPort,
      args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-bye-after-pause.xml'), '-s', AGENT_NUMBER, '-d', '9000', '-rtp_echo', '-m', '1', `${A_ADDRESS}:${d.a.sipPort}`],
      trace: true, timeoutSec: 60,
    });
    try {
      await waitCallState(page, /^in call$/);
      await statsUntil(page, (s) => s.packetsReceived >= 50);
      const { killedAt, samples } = await killAWatching(d, page);
      const end = await waitEnded(page, 30_000);
      assert.equal(end.originator, 'remote', `SIPp's BYE reached the agent: ${JSON.stringify(end)}`);
      const r = await sipp.done;
      assert.equal(r.code, 0, `SIPp's call: INVITE, 200, ACK, BYE answered 200: ${r.stdout.slice(-1500)}`);
      const wire = await d.capture.stop();
      const { toBrowser, resumedAt } = assertWire(wire, killedAt, webrtcPortFrom(wire));
      assertDecrypted(samples, toBrowser, killedAt, resumedAt);
    } finally {
      await sipp.stop();
    }
  }));
});
