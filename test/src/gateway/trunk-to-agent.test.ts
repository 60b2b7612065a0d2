// Issue 4 acceptance, trunk -> browser agent (DESIGN.md call flow 2, call-centre
// ingress): SIPp calls in over UDP, the gateway forks a WebRTC offer to every
// softphone page registered for the agent AOR, first answer wins, the others are
// cancelled; no agent registered is 480, a busy agent's 486 reaches the trunk.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Gateway } from '@trapezoid/gateway';
import { launchChromium, type Browser } from '../media/chromium.js';
import { startSipp, type SippResult, type SippRun } from '../sip/sipp.js';
import {
  AGENT, AGENT_NUMBER, GATEWAY_SCENARIOS, assertReleasedAndStop, incomingCount, openSoftphone, startGateway,
  udpPort, waitCallState, waitEnded, waitPackets, type PageParams,
} from './harness.js';

const PORTS = { min: 31200, max: 31399 };
const AGENT_PAGE: PageParams = { user: AGENT.username, password: AGENT.password };

describe('SIPp trunk -> gateway -> browser agents (Chromium + JsSIP)', { timeout: 180_000 }, () => {
  let browser: Browser;
  const pages: Page[] = [];
  let sipp: SippRun | null = null;
  let gw: Gateway | null = null;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    for (const p of pages.splice(0)) await p.close();
    await sipp?.stop();
    await gw?.stop();
    await browser?.close();
  });

  async function agentPage(params: Partial<PageParams> = {}): Promise<Page> {
    const page = await browser.context.newPage();
    pages.push(page);
    await openSoftphone(page, gw!, { ...AGENT_PAGE, ...params });
    return page;
  }
  /** SIPp calls AGENT_NUMBER at the gateway with `scenario` (one call). */
  async function callIn(scenario: string): Promise<SippRun> {
    sipp = await startSipp({
      args: ['-sf', join(GATEWAY_SCENARIOS, scenario), '-s', AGENT_NUMBER, '-m', '1', `127.0.0.1:${udpPort(gw!)}`],
      trace: true, timeoutSec: 40,
    });
    return sipp;
  }
  async function tearDown(): Promise<void> {
    for (const p of pages.splice(0)) await p.close();
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g);
    await sipp?.stop();
    sipp = null;
  }
  function received(r: SippResult): string[] {
    return r.messages.filter((m) => m.direction === 'received').map((m) => m.startLine);
  }

  it('two tabs registered for the agent both ring; the auto-answering one gets SIPp\'s audio, the other is cancelled; SIPp hangs up', { timeout: 60_000 }, async () => {
    try {
      gw = await startGateway({ ports: PORTS });
      const answering = await agentPage({ autoanswer: true });
      const other = await agentPage();
      assert.equal(gw.counters().registrations, 2, 'both tabs are registered contacts of the agent AOR');

      const run = await callIn('uac-pcap-then-bye.xml');
      await waitCallState(answering, /^in call$/);
      const ringing = await incomingCount(other);
      assert.equal(ringing, 1, 'the second tab rang too');
      const lost = await waitEnded(other);
      assert.equal(lost.cause, 'Canceled', `the losing tab was cancelled: ${JSON.stringify(lost)}`);

      // SIPp plays the recording toward the agent; the agent's microphone goes to SIPp.
      const s = await waitPackets(answering, { received: 50, sent: 50 });
      assert.equal(s.dtlsState, 'connected');
      assert.ok(s.packetsReceived >= 50, `agent received ${s.packetsReceived} packets of SIPp's recording`);
      assert.ok(s.packetsSent >= 50, `agent sent ${s.packetsSent} packets`);
      const media = gw.calls.list()[0]?.media;
      assert.ok(media, 'the call has media');
      assert.ok(media.rtp.stats.packetsIn >= 50, `RTP leg received SIPp's audio: ${JSON.stringify(media.rtp.stats)}`);
      assert.ok(media.rtp.stats.packetsOut >= 50, `RTP leg sent the agent's audio to SIPp: ${JSON.stringify(media.rtp.stats)}`);

      const end = await waitEnded(answering, 20_000);
      assert.equal(end.originator, 'remote', `SIPp hung up: ${JSON.stringify(end)}`);
      const r = await run.done;
      assert.equal(r.code, 0, `SIPp's call succeeded (200, ACK, BYE answered): ${r.stdout.slice(-1500)}`);
      assert.equal(await incomingCount(answering), 1);
    } finally {
      await tearDown();
    }
  });

  it('no agent registered: SIPp gets 480', { timeout: 30_000 }, async () => {
    try {
      gw = await startGateway({ ports: PORTS });
      const r = await (await callIn('uac-expect-480.xml')).done;
      assert.equal(r.code, 0, `SIPp got 480 and ACKed it: ${r.stdout.slice(-1500)}`);
      assert.ok(received(r).some((l) => l.startsWith('SIP/2.0 480')), received(r).join(' | '));
    } finally {
      await tearDown();
    }
  });

  it('the agent is busy (rejects 486): SIPp gets 486', { timeout: 40_000 }, async () => {
    try {
      gw = await startGateway({ ports: PORTS });
      const busy = await agentPage({ reject: 486 });
      const r = await (await callIn('uac-expect-486.xml')).done;
      assert.equal(r.code, 0, `SIPp got 486 and ACKed it: ${r.stdout.slice(-1500)}`);
      assert.ok(received(r).some((l) => l.startsWith('SIP/2.0 486')), received(r).join(' | '));
      assert.equal(await incomingCount(busy), 1, 'the agent\'s page was offered the call');
    } finally {
      await tearDown();
    }
  });
});
