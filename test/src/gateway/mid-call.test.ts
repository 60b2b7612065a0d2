// Issue 9 acceptance, mid-call with real peers: the demo softphone (JsSIP in headless
// Chromium, default settings: session timers on) and SIPp as the trunk. A 100 s call
// survives JsSIP's refreshes (answered by the gateway, never relayed) with a 60 s hold by
// re-INVITE and a hold by UPDATE, media both ways again within 1 s of each resume; the
// trunk holds and resumes the browser; a 183's early media and a 200 that moves the
// trunk's media elsewhere; DTMF sent as SIP INFO both ways (decoded on the far side);
// blind transfer by the agent's REFER to a second SIPp; a session timer refresh left
// unanswered. Every test ends with 0 calls and 0 ports.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from '../media/chromium.js';
import { freePort, startSipp, type SippResult, type SippRun } from '../sip/sipp.js';
import {
  AGENT, AGENT_NUMBER, CALLER, GATEWAY_SCENARIOS, assertReleasedAndStop, callEnd, callState, openSoftphone, sleep, startGateway, udpPort,
  waitCallState, waitEnded, waitPackets, type SoftphoneStats, type TestGateway, type TestGatewayOptions,
} from './harness.js';
import { decodeEvents, flowsAgain as flows, listen } from './media-checks.js';

const PORTS = { min: 11300, max: 11449 };
/** Where the trunk's 183 says its early media goes (a socket of this test). */
const EARLY_PORT = 11450;
/** Where the DTMF trunk and the transfer target say their media goes (sockets of this test). */
const DTMF_SINK = 11451;
const TRANSFER_SINK = 11452;

interface HoldEvent { type: 'hold' | 'unhold'; originator: string; at: number }
declare const window: {
  softphone: {
    holds: HoldEvent[];
    dtmfIn: Array<{ tone: string; duration: number }>;
    refer: Array<{ what: string; status?: number }>;
    callState: string;
    dtmf(tones: string): void;
    transfer(target: string): void;
    hold(useUpdate?: boolean): Promise<void>;
    unhold(useUpdate?: boolean): Promise<void>;
    stats(): Promise<SoftphoneStats | null>;
  };
};

const stats = async (page: Page): Promise<SoftphoneStats> => (await page.evaluate(() => window.softphone.stats()))!;
const flowsAgain = (page: Page, n: number, limit: number): Promise<number> => flows(() => stats(page), n, limit);

function received(r: SippResult, method: string): Array<{ text: string }> {
  return r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith(method + ' '));
}

describe('mid-call: JsSIP in Chromium <-> gateway <-> SIPp', { timeout: 300_000 }, () => {
  let browser: Browser;
  let page: Page | null = null;
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  before(async () => { browser = await launchChromium(); });
  after(async () => {
    await page?.close();
    await sipp?.stop();
    await gw?.stop();
    await browser?.close();
  });

  let target: SippRun | null = null;
  async function setUp(sippArgs: string[], timeoutSec: number, opts: { agent?: boolean; edit?: TestGatewayOptions['edit'] } = {}): Promise<{ sipp: SippRun; gw: TestGateway; page: Page }> {
    const trunkPort = await freePort();
    if (!opts.agent) sipp = await startSipp({ port: trunkPort, args: [...sippArgs, '-m', '1'], trace: true, timeoutSec });
    gw = await startGateway({ trunkPort, ports: PORTS, ...(opts.edit ? { edit: opts.edit } : {}) });
    page = await browser.context.newPage();
    await openSoftphone(page, gw, opts.agent
      ? { user: AGENT.username, password: AGENT.password, autoanswer: true }
      : { user: CALLER.username, password: CALLER.password, target: '1000' });
    if (opts.agent) {
      sipp = await startSipp({ port: trunkPort, args: [...sippArgs, '-s', AGENT_NUMBER, '-m', '1', `127.0.0.1:${udpPort(gw)}`], trace: true, timeoutSec });
    }
    return { sipp: sipp!, gw, page };
  }
  async function scenario(body: () => Promise<void>): Promise<void> {
    let passed = false;
    try {
      await body();
      passed = true;
    } finally {
      await page?.close();
      page = null;
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
      await sipp?.stop();
      sipp = null;
      await target?.stop();
      target = null;
    }
  }

  it('a 100 s call with default JsSIP settings survives its refreshes; a 60 s hold by re-INVITE and one by UPDATE, media both ways within 1 s of each resume', { timeout: 180_000 }, () => scenario(async () => {
    const { sipp, gw, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-mid-call.xml'), '-rtp_echo'], 150);
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    const answeredAt = Date.now();
    await waitPackets(page, { received: 20, sent: 20 });

    await page.evaluate(() => window.softphone.hold(false));
    const heldAt = await stats(page);
    await sleep(2_000);
    const during = await stats(page);
    assert.ok(during.packetsReceived - heldAt.packetsReceived < 10, `nothing reaches the browser on hold (SIPp keeps echoing): ${JSON.stringify([heldAt, during])}`);
    assert.ok(during.packetsSent - heldAt.packetsSent > 50, 'the browser, sendonly, still sends');
    // A long hold: JsSIP's first refresh (UPDATE at 45 s) falls in it.
    await sleep(60_000 - 2_000);
    await page.evaluate(() => window.softphone.unhold(false));
    const tookInvite = await flowsAgain(page, 15, 1_000);

    await page.evaluate(() => window.softphone.hold(true));
    await sleep(1_000);
    await page.evaluate(() => window.softphone.unhold(true));
    const tookUpdate = await flowsAgain(page, 15, 1_000);
    console.log(`media both ways after resume: ${tookInvite} ms (re-INVITE, after 60 s on hold), ${tookUpdate} ms (UPDATE)`);

    // Until 100 s after the answer. JsSIP restarts its 45 s refresh timer after each of its
    // re-INVITEs and UPDATEs (they refresh too, RFC 4028 §7.4): the offerless UPDATE
    // falls inside the 60 s hold.
    await sleep(Math.max(0, 100_000 - (Date.now() - answeredAt)));
    assert.equal(await callState(page), 'in call', 'the call survived 100 s');
    await flowsAgain(page, 20, 2_000);
    const refreshes = gw.events.events.filter((e) => e.event === 'in-dialog' && e.method === 'UPDATE' && e.purpose === 'refresh');
    assert.ok(refreshes.length >= 1, `JsSIP's offerless refresh was answered by the gateway: ${JSON.stringify(refreshes)}`);
    assert.ok(refreshes.every((e) => e.status === 200 && e.relayed === false && e.side === 'a'));

    await page.click('#hangup');
    await waitEnded(page);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's call: ${r.stdout.slice(-1500)}`);
    const reinvites = received(r, 'INVITE').slice(1);
    const updates = received(r, 'UPDATE');
    assert.deepEqual(reinvites.map((m) => /a=(sendonly|sendrecv|recvonly|inactive)/.exec(m.text)?.[1]), ['sendonly', 'sendrecv'], 'hold and resume by re-INVITE');
    assert.deepEqual(updates.map((m) => /a=(sendonly|sendrecv|recvonly|inactive)/.exec(m.text)?.[1]), ['sendonly', 'sendrecv'], 'hold and resume by UPDATE, nothing else: the refreshes stayed on the browser leg');
  }));

  it('SIPp puts the browser on hold and back by re-INVITE: JsSIP sees both, media stops and comes back', { timeout: 60_000 }, () => scenario(async () => {
    const { sipp, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-hold-resume.xml'), '-rtp_echo'], 40);
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    await waitPackets(page, { received: 20, sent: 20 });
    await page.waitForFunction(() => window.softphone.holds.some((h) => h.type === 'hold'), undefined, { timeout: 10_000 });
    await sleep(500);
    const a = await stats(page);
    await sleep(1_500);
    const b = await stats(page);
    assert.ok(b.packetsReceived - a.packetsReceived < 10, `held: nothing comes back (${JSON.stringify([a, b])})`);
    await page.waitForFunction(() => window.softphone.holds.some((h) => h.type === 'unhold'), undefined, { timeout: 10_000 });
    await flowsAgain(page, 15, 1_000);
    const holds = await page.evaluate(() => window.softphone.holds.map((h) => [h.type, h.originator]));
    assert.deepEqual(holds, [['hold', 'remote'], ['unhold', 'remote']]);
    const end = await waitEnded(page, 15_000);
    assert.equal(end.originator, 'remote');
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's re-INVITEs were answered 200 and its BYE too: ${r.stdout.slice(-1500)}`);
    const answers = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200') && /CSeq: [12] INVITE/i.test(m.text));
    assert.deepEqual(answers.map((m) => /a=(sendonly|sendrecv|recvonly|inactive)/.exec(m.text)?.[1]), ['recvonly', 'sendrecv'], 'the browser\'s answers, mapped');
  }));

  it('a 183 with early media then a 200 naming another address: media went to the 183\'s address through the 180, then both ways with the 200\'s', { timeout: 60_000 }, () => scenario(async () => {
    const early = await listen(EARLY_PORT);
    try {
      const { sipp, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-early-then-moved.xml'), '-key', 'early_port', String(EARLY_PORT), '-rtp_echo'], 40);
      await page.click('#call');
      await waitCallState(page, /^ringing$/);
      await waitCallState(page, /^in call$/, 15_000);
      const answeredAt = Date.now();
      assert.ok(early.at.length >= 20, `the browser's early media reached the 183's address: ${early.at.length} packets`);
      // SIPp sends the 180 one second before its 200: early media went on through it.
      assert.ok(early.at.some((t) => t > answeredAt - 600), 'still flowing in the last half second before the answer');
      const s = await waitPackets(page, { received: 50, sent: 50 });
      assert.ok(s.packetsReceived >= 50, `audio both ways after the 200 (SIPp's echo at its own port): ${JSON.stringify(s)}`);
      const before = early.at.length;
      await sleep(500);
      assert.ok(early.at.length - before <= 2, 'the 183\'s address gets nothing after the 200');
      await page.click('#hangup');
      await waitEnded(page);
      assert.equal((await sipp.done).code, 0);
    } finally {
      await early.close();
    }
  }));

  it('DTMF as SIP INFO both ways: JsSIP\'s digits reach SIPp\'s media address as RFC 4733 events; SIPp\'s INFO digits reach JsSIP', { timeout: 60_000 }, () => scenario(async () => {
    const sink = await listen(DTMF_SINK);
    try {
      const { sipp, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-dtmf-info.xml'), '-key', 'media_sink', String(DTMF_SINK)], 40);
      await page.click('#call');
      await waitCallState(page, /^in call$/);
      await page.evaluate(() => window.softphone.dtmf('1#'));
      for (let i = 0; i < 60 && decodeEvents(sink.packets, 101).filter((e) => e.ends > 0).length < 2; i++) await sleep(50);
      const events = decodeEvents(sink.packets, 101);
      // JsSIP's INFO: Signal 1 and #, 160 ms each: 1280 at 8 kHz, the end packet three times.
      assert.deepEqual(events.map((e) => [e.event, e.marker, e.ends, e.duration]), [[1, true, 3, 1280], [11, true, 3, 1280]], JSON.stringify(events));
      await page.waitForFunction(() => window.softphone.dtmfIn.length >= 2, undefined, { timeout: 10_000 });
      assert.deepEqual(await page.evaluate(() => window.softphone.dtmfIn), [{ tone: '5', duration: 250 }, { tone: '#', duration: 300 }]);
      await page.click('#hangup');
      await waitEnded(page);
      const r = await sipp.done;
      assert.equal(r.code, 0, `SIPp's INFOs were answered 200: ${r.stdout.slice(-1500)}`);
      assert.equal(received(r, 'INFO').length, 0, 'the browser\'s INFOs were turned into RFC 4733, not relayed');
    } finally {
      await sink.close();
    }
  }));

  it('blind transfer: the agent\'s REFER connects SIPp\'s caller to a second SIPp, whose media address now gets the caller\'s audio; JsSIP sees the NOTIFYs', { timeout: 60_000 }, () => scenario(async () => {
    const sink = await listen(TRANSFER_SINK);
    try {
      const targetPort = await freePort();
      target = await startSipp({ port: targetPort, args: ['-sf', join(GATEWAY_SCENARIOS, 'uas-transfer-target.xml'), '-key', 'media_sink', String(TRANSFER_SINK), '-m', '1'], trace: true, timeoutSec: 40 });
      const { sipp, gw, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uac-pcap-await-bye.xml')], 40, {
        agent: true,
        edit: (raw) => {
          raw.trunks.push({ name: 'target', address: '127.0.0.1', port: targetPort, codecs: ['PCMA', 'PCMU'] });
          (raw.routes as unknown[]).unshift({ match: '^3\\d{3}$', trunk: 'target' });
        },
      });
      await waitCallState(page, /^in call$/);
      await page.evaluate(() => window.softphone.transfer('3000'));
      const ended = await waitEnded(page, 15_000);
      assert.equal(ended.originator, 'remote', 'the agent\'s leg was ended by the gateway');
      for (let i = 0; i < 40 && sink.packets.length < 50; i++) await sleep(50);
      assert.ok(sink.packets.length >= 50, `the caller's audio reaches the transfer target: ${sink.packets.length} packets`);
      assert.ok(sink.packets.every((b) => (b[1]! & 0x7f) === 8), 'PCMA, as the caller sends it');
      const refer = await page.evaluate(() => window.softphone.refer.map((r) => r.what));
      assert.ok(refer.includes('accepted') && refer.includes('trying') && refer.includes('connected'), `NOTIFY progress seen by JsSIP: ${JSON.stringify(refer)}`);
      const [r1, r2] = await Promise.all([sipp.done, target.done]);
      assert.equal(r2.code, 0, `the target answered and hung up: ${r2.stdout.slice(-1000)}`);
      assert.match(received(r2, 'INVITE')[0]!.text, /^Referred-By: <sip:agent@/im);
      assert.equal(r1.code, 0, `the caller got the target's BYE through the gateway: ${r1.stdout.slice(-1000)}`);
      assert.equal(gw.counters().callsStarted, 1, 'one call from start to end');
    } finally {
      await sink.close();
    }
  }));

  it('session timer toward the trunk: the gateway refreshes by UPDATE; the refresh left unanswered ends the call on both legs', { timeout: 60_000 }, () => scenario(async () => {
    const { sipp, gw, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-session-timer.xml'), '-rtp_echo'], 40);
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    const answeredAt = Date.now();
    const end = await waitEnded(page, 25_000);
    const took = Date.now() - answeredAt;
    assert.equal(end.originator, 'remote', 'the browser got a BYE');
    assert.ok(took > 9_000 && took < 17_000, `refresh at 5 s answered, at 10 s not, expired 5 s later (${took} ms)`);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp got both UPDATEs and then the BYE: ${r.stdout.slice(-1500)}`);
    const updates = received(r, 'UPDATE');
    assert.ok(updates.length >= 2 && /^Session-Expires: 10;refresher=uac/im.test(updates[0]!.text), 'refreshes carry the interval');
    const ended = await callEnd(gw);
    assert.deepEqual([ended.status, ended.endedBy], [408, 'gateway'], JSON.stringify(ended));
    assert.ok(gw.events.events.some((e) => e.event === 'session-expired'), 'logged');
  }));
});
