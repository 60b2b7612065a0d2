// Issue 9 acceptance with the second browser SIP library: SIP.js 0.21 (SimpleUser, in
// headless Chromium, the gateway's /sipjs.html) as caller and as agent, with hold by
// re-INVITE and DTMF by SIP INFO (SIP.js's only way), against SIPp as the trunk. The
// digits are decoded on the far side: RFC 4733 events at the trunk's media address, the
// INFO body SIPp checks, the INFO digits SIP.js reports. 0 calls and 0 ports after each.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from '../media/chromium.js';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import {
  AGENT, AGENT_NUMBER, CALLER, GATEWAY_SCENARIOS, assertReleasedAndStop, sleep, startGateway, udpPort,
  type SoftphoneStats, type TestGateway, type TestGatewayOptions,
} from './harness.js';
import { flowsAgain as flows, listen } from './media-checks.js';

const PORTS = { min: 11710, max: 11799 };
const SINK = 11800;

interface SipJsPhone {
  registered: boolean;
  callState: string;
  holds: string[];
  dtmfIn: Array<{ tone: string; duration: number }>;
  call(): Promise<void>;
  hangup(): Promise<void>;
  hold(): Promise<void>;
  unhold(): Promise<void>;
  dtmf(tone: string): Promise<void>;
  stats(): Promise<SoftphoneStats | null>;
}
declare const window: { sipjsPhone: SipJsPhone };
declare const document: { getElementById(id: string): { textContent: string | null } | null };

/** The page's own log (its #log lines), for a failure's message. */
const pageLog = (page: Page): Promise<string> => page.evaluate(() => document.getElementById('log')?.textContent ?? '').catch(() => '');

async function openSipJs(page: Page, gw: TestGateway, q: Record<string, string>): Promise<void> {
  await page.goto(`${gw.url!}sipjs.html?${new URLSearchParams(q).toString()}`);
  await page.waitForFunction(() => window.sipjsPhone.registered, undefined, { timeout: 15_000 });
}

/** Waits for the page's call state; on failure says what the page and the gateway saw. */
async function waitState(page: Page, gw: TestGateway, state: string, timeout = 15_000): Promise<void> {
  try {
    await page.waitForFunction((s) => window.sipjsPhone.callState === s, state, { timeout });
  } catch (err) {
    const calls = gw.events.events.filter((e) => typeof e.event === 'string' && /^(call|in-dialog|answer|early)/.test(e.event)).map((e) => `${e.event} ${e.status ?? ''} ${e.reason ?? ''}`);
    assert.fail(`no "${state}" (${String(err)}): page log:\n${await pageLog(page)}\ngateway: ${calls.join(' | ')}`);
  }
}

const stats = async (page: Page): Promise<SoftphoneStats> => (await page.evaluate(() => window.sipjsPhone.stats()))!;
const flowsAgain = (page: Page, n: number, limit: number): Promise<number> => flows(() => stats(page), n, limit);

describe('SIP.js 0.21 in Chromium <-> gateway <-> SIPp', { timeout: 180_000 }, () => {
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
    }
  }

  async function caller(sippArgs: string[]): Promise<{ page: Page; sipp: SippRun; gw: TestGateway }> {
    const trunkPort = await freePort();
    sipp = await startSipp({ port: trunkPort, args: [...sippArgs, '-m', '1'], trace: true, timeoutSec: 40 });
    gw = await startGateway({ trunkPort, ports: PORTS });
    page = await browser.context.newPage();
    await openSipJs(page, gw, { user: CALLER.username, password: CALLER.password, target: '1000' });
    return { page, sipp, gw };
  }

  it('as caller: answered, hold and resume by re-INVITE reach SIPp, media both ways within 1 s of the resume', { timeout: 60_000 }, () => scenario(async () => {
    const { page, sipp } = await caller(['-sf', join(GATEWAY_SCENARIOS, 'uas-mid-call.xml'), '-rtp_echo']);
    await page.evaluate(() => window.sipjsPhone.call());
    await waitState(page, gw!, 'in call');
    await flowsAgain(page, 30, 10_000);
    await page.evaluate(() => window.sipjsPhone.hold());
    await page.waitForFunction(() => window.sipjsPhone.holds.includes('hold'), undefined, { timeout: 5_000 });
    await sleep(1_500);
    await page.evaluate(() => window.sipjsPhone.unhold());
    await page.waitForFunction(() => window.sipjsPhone.holds.includes('unhold'), undefined, { timeout: 5_000 });
    await flowsAgain(page, 15, 1_000);
    await page.evaluate(() => window.sipjsPhone.hangup());
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's call: ${r.stdout.slice(-1500)}`);
    const reinvites = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('INVITE ')).slice(1);
    assert.deepEqual(reinvites.map((m) => /a=(sendonly|sendrecv|recvonly|inactive)/.exec(m.text)?.[1]), ['sendonly', 'sendrecv']);
  }));

  it('as caller: its INFO digit reaches SIPp\'s media address as RFC 4733 (end bits, 2 s); SIPp\'s INFO digits reach SIP.js', { timeout: 60_000 }, () => scenario(async () => {
    const sink = await listen(SINK);
    try {
      const { page, sipp } = await caller(['-sf', join(GATEWAY_SCENARIOS, 'uas-dtmf-info.xml'), '-key', 'media_sink', String(SINK)]);
      await page.evaluate(() => window.sipjsPhone.call());
      await waitState(page, gw!, 'in call');
      await page.evaluate(() => window.sipjsPhone.dtmf('7'));
      for (let i = 0; i < 80 && !sink.packets.some((b) => (b[1]! & 0x7f) === 101 && (b[13]! & 0x80) !== 0); i++) await sleep(50);
      const events = sink.packets.filter((b) => (b[1]! & 0x7f) === 101);
      const ends = events.filter((b) => (b[13]! & 0x80) !== 0);
      assert.ok(events.length > 3 && events.every((b) => b[12] === 7), `event 7: ${events.length} packets`);
      assert.equal((events[0]![1]! & 0x80) !== 0, true, 'marker on the first');
      assert.deepEqual(ends.map((b) => b.readUInt16BE(14)), [16000, 16000, 16000], 'SIP.js says 2000 ms: 16000 at 8 kHz, the end three times');
      await page.waitForFunction(() => window.sipjsPhone.dtmfIn.length >= 2, undefined, { timeout: 10_000 });
      assert.deepEqual(await page.evaluate(() => window.sipjsPhone.dtmfIn), [{ tone: '5', duration: 250 }, { tone: '#', duration: 300 }]);
      await page.evaluate(() => window.sipjsPhone.hangup());
      assert.equal((await sipp.done).code, 0);
    } finally {
      await sink.close();
    }
  }));

  it('as agent: answers SIPp\'s call, holds (nothing reaches it) and resumes (media both ways within 1 s; the re-INVITEs reach SIPp), sends an INFO digit SIPp checks (trunk set to INFO)', { timeout: 60_000 }, () => scenario(async () => {
    const trunkPort = await freePort();
    const edit: TestGatewayOptions['edit'] = (raw) => { raw.trunks[0]!.dtmf = 'info'; };
    gw = await startGateway({ trunkPort, ports: PORTS, edit });
    page = await browser.context.newPage();
    await openSipJs(page, gw, { user: AGENT.username, password: AGENT.password, autoanswer: '1' });
    sipp = await startSipp({
      port: trunkPort, trace: true, timeoutSec: 40,
      args: ['-sf', join(GATEWAY_SCENARIOS, 'uac-agent-mid-call.xml'), '-s', AGENT_NUMBER, '-m', '1', `127.0.0.1:${udpPort(gw)}`],
    });
    const p = page;
    await waitState(p, gw, 'in call');
    for (let i = 0; i < 100 && ((await stats(p))?.packetsReceived ?? 0) < 30; i++) await sleep(50);
    assert.ok((await stats(p)).packetsReceived >= 30, 'SIPp\'s audio reaches the agent');
    await p.evaluate(() => window.sipjsPhone.hold());
    await p.waitForFunction(() => window.sipjsPhone.holds.includes('hold'), undefined, { timeout: 5_000 });
    // The agent, sendonly, is sent nothing while SIPp keeps playing its recording.
    await sleep(300);
    const heldAt = await stats(p);
    await sleep(500);
    const during = await stats(p);
    assert.ok(during.packetsReceived - heldAt.packetsReceived < 5, `nothing reaches the agent on hold: ${JSON.stringify([heldAt, during])}`);
    await p.evaluate(() => window.sipjsPhone.unhold());
    await p.waitForFunction(() => window.sipjsPhone.holds.includes('unhold'), undefined, { timeout: 5_000 });
    // SIPp's recording (4.7 s) still plays: it reaches the agent again, and the agent sends.
    await flowsAgain(p, 15, 1_000);
    await p.evaluate(() => window.sipjsPhone.dtmf('9'));
    await sleep(300);
    await p.evaluate(() => window.sipjsPhone.hangup());
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp answered both re-INVITEs and the INFO (Signal=9), then the BYE: ${r.stdout.slice(-1500)}`);
    const got = r.messages.filter((m) => m.direction === 'received');
    assert.deepEqual(got.filter((m) => m.startLine.startsWith('INVITE ')).map((m) => /a=(sendonly|sendrecv|recvonly|inactive)/.exec(m.text)?.[1]), ['sendonly', 'sendrecv']);
    assert.match(got.find((m) => m.startLine.startsWith('INFO '))!.text, /Signal=9\r?\nDuration=2000/);
  }));
});
