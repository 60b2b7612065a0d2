// Issue 4 acceptance, browser -> trunk (DESIGN.md call flow 1): the demo softphone
// (JsSIP in headless Chromium, fake microphone) registers with an in-process gateway
// and calls a number routed to SIPp acting as the trunk. Each test checks what each
// side saw, then that the gateway released the call and its ports.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Gateway } from '@trapezoid/gateway';
import { launchChromium, type Browser } from '../media/chromium.js';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import {
  CALLER, GATEWAY_SCENARIOS, assertReleasedAndStop, openSoftphone, startGateway, waitCallState, waitEnded, waitPackets,
} from './harness.js';

const PORTS = { min: 31000, max: 31199 };
const CALLER_PARAMS = { user: CALLER.username, password: CALLER.password };

describe('browser (Chromium + JsSIP) -> gateway -> SIPp trunk', { timeout: 180_000 }, () => {
  let browser: Browser;
  let page: Page | null = null;
  let sipp: SippRun | null = null;
  let gw: Gateway | null = null;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await page?.close();
    await sipp?.stop();
    await gw?.stop();
    await browser?.close();
  });

  /** SIPp as the trunk, the gateway pointing at it, the softphone registered. */
  async function setUp(sippArgs: string[], target: string): Promise<{ sipp: SippRun; gw: Gateway; page: Page }> {
    const trunkPort = await freePort();
    sipp = await startSipp({ port: trunkPort, args: [...sippArgs, '-m', '1'], trace: true, timeoutSec: 40 });
    gw = await startGateway({ trunkPort, ports: PORTS });
    page = await browser.context.newPage();
    await openSoftphone(page, gw, { ...CALLER_PARAMS, target });
    return { sipp, gw, page };
  }
  async function tearDown(): Promise<void> {
    await page?.close();
    page = null;
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g);
    await sipp?.stop();
    sipp = null;
  }
  it('calls SIPp uas -rtp_echo: answered, audio both ways, the browser\'s BYE reaches SIPp', { timeout: 60_000 }, async () => {
    try {
      const { sipp, page, gw } = await setUp(['-sn', 'uas', '-rtp_echo'], '1000');
      await page.click('#call');
      await waitCallState(page, /^in call$/);
      const s = await waitPackets(page, { received: 50, sent: 50 });
      assert.equal(s.dtlsState, 'connected');
      assert.ok(s.packetsSent >= 50, `browser sent ${s.packetsSent} packets`);
      assert.ok(s.packetsReceived >= 50, `browser received ${s.packetsReceived} packets echoed by SIPp`);
      assert.equal(gw.counters().liveCalls, 1);

      await page.click('#hangup');
      const end = await waitEnded(page);
      assert.equal(end.originator, 'local');
      const r = await sipp.done;
      assert.equal(r.code, 0, `SIPp's call succeeded (INVITE, ACK, BYE): ${r.stdout.slice(-1500)}`);
      const bye = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
      assert.ok(bye, 'SIPp received the BYE');
      assert.ok(r.messages.some((m) => m.direction === 'received' && m.startLine.startsWith('ACK ')), 'SIPp received the ACK');
    } finally {
      await tearDown();
    }
  });

  it('SIPp hangs up after answering: the browser sees the call end', { timeout: 60_000 }, async () => {
    try {
      const { sipp, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-bye-after-answer.xml'), '-rtp_echo'], '1001');
      await page.click('#call');
      await waitCallState(page, /^in call$/);
      const s = await waitPackets(page, { received: 20, sent: 20 });
      assert.ok(s.packetsReceived >= 20, `audio flowed before the hang-up: ${JSON.stringify(s)}`);
      const end = await waitEnded(page, 20_000);
      assert.equal(end.originator, 'remote', `the far end hung up: ${JSON.stringify(end)}`);
      const r = await sipp.done;
      assert.equal(r.code, 0, `SIPp's BYE was answered 200: ${r.stdout.slice(-1500)}`);
    } finally {
      await tearDown();
    }
  });

  it('the browser cancels while SIPp rings: SIPp gets CANCEL, the INVITE ends 487', { timeout: 60_000 }, async () => {
    try {
      const { sipp, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-ring-until-cancel.xml')], '1002');
      await page.click('#call');
      await waitCallState(page, /^ringing$/);
      await page.click('#hangup');
      const end = await waitEnded(page);
      assert.equal(end.cause, 'Canceled', JSON.stringify(end));
      const r = await sipp.done;
      assert.equal(r.code, 0, `SIPp saw CANCEL, sent 487, got its ACK: ${r.stdout.slice(-1500)}`);
      const received = new Set(r.messages.filter((m) => m.direction === 'received').map((m) => m.startLine.split(' ')[0]));
      assert.deepEqual([...received], ['INVITE', 'CANCEL', 'ACK'], 'SIPp received INVITE, CANCEL and the ACK of its 487, nothing else');
      assert.ok(r.messages.some((m) => m.direction === 'sent' && m.startLine.startsWith('SIP/2.0 487')), 'SIPp ended the INVITE 487');
    } finally {
      await tearDown();
    }
  });
});
