// Issue 4 acceptance, trunk -> browser agent (docs/architecture.md, "Call flows", call-centre
// ingress): SIPp calls in over UDP, the gateway forks a WebRTC offer to every
// softphone page registered for the agent AOR, first answer wins, the others are
// cancelled; no agent registered is 480, a busy agent's 486 reaches the trunk.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from '../media/chromium.js';
import { startSipp, type SippResult, type SippRun } from '../sip/sipp.js';
import {
  AGENT, AGENT_NUMBER, GATEWAY_SCENARIOS, assertReleasedAndStop, callEnd, incomingCount, openSoftphone, startGateway,
  udpPort, waitCallState, waitEnded, waitPackets, type PageParams,
  type TestGateway,
} from './harness.js';

const PORTS = { min: 17200, max: 17399 };
const AGENT_PAGE: PageParams = { user: AGENT.username, password: AGENT.password };

describe('SIPp trunk -> gateway -> browser agents (Chromium + JsSIP)', { timeout: 180_000 }, () => {
  let browser: Browser;
  const pages: Page[] = [];
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
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
  /** SIPp, from the trunk's address and port, calls AGENT_NUMBER at the gateway with the scenario `file` (one call). */
  async function callIn(file: string): Promise<SippRun> {
    sipp = await startSipp({
      port: gw!.trunkPort,
      args: ['-sf', join(GATEWAY_SCENARIOS, file), '-s', AGENT_NUMBER, '-m', '1', `127.0.0.1:${udpPort(gw!)}`],
      trace: true, timeoutSec: 40,
    });
    return sipp;
  }
  /** Runs a test body, then checks the gateway released everything (unless the body failed). */
  async function scenario(body: () => Promise<void>): Promise<void> {
    let passed = false;
    try {
      await body();
      passed = true;
    } finally {
      await tearDown(passed);
    }
  }
  async function tearDown(check: boolean): Promise<void> {
    for (const p of pages.splice(0)) await p.close();
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g, check);
    await sipp?.stop();
    sipp = null;
  }
  function received(r: SippResult): string[] {
    return r.messages.filter((m) => m.direction === 'received').map((m) => m.startLine);
  }

  it('two tabs registered for the agent both ring; the auto-answering one gets SIPp\'s audio, the other is cancelled; SIPp hangs up', { timeout: 60_000 }, () => scenario(async () => {
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
    const { rtp } = await media.stats();
    assert.ok(rtp.packetsIn! >= 50, `RTP leg received SIPp's audio: ${JSON.stringify(rtp)}`);
    assert.ok(rtp.packetsOut! >= 50, `RTP leg sent the agent's audio to SIPp: ${JSON.stringify(rtp)}`);

    const end = await waitEnded(answering, 20_000);
    assert.equal(end.originator, 'remote', `SIPp hung up: ${JSON.stringify(end)}`);
    const r = await run.done;
    assert.equal(r.code, 0, `SIPp's call succeeded (200, ACK, BYE answered): ${r.stdout.slice(-1500)}`);
    assert.equal(await incomingCount(answering), 1);
    const ended = await callEnd(gw);
    assert.deepEqual([ended.status, ended.endedBy], [200, 'a'], `the gateway saw the trunk hang up: ${JSON.stringify(ended)}`);
  }));

  it('the agent hangs up: SIPp gets the BYE', { timeout: 40_000 }, () => scenario(async () => {
    gw = await startGateway({ ports: PORTS });
    const agent = await agentPage({ autoanswer: true });
    const run = await callIn('uac-pcap-await-bye.xml');
    await waitCallState(agent, /^in call$/);
    const s = await waitPackets(agent, { received: 20, sent: 20 });
    assert.ok(s.packetsReceived >= 20 && s.packetsSent >= 20, JSON.stringify(s));
    await agent.click('#hangup');
    assert.equal((await waitEnded(agent)).originator, 'local');
    const r = await run.done;
    assert.equal(r.code, 0, `SIPp received the BYE and answered it: ${r.stdout.slice(-1500)}`);
    const ended = await callEnd(gw);
    assert.deepEqual([ended.status, ended.endedBy], [200, 'b'], JSON.stringify(ended));
  }));

  it('no agent registered: SIPp gets 480', { timeout: 30_000 }, () => scenario(async () => {
    gw = await startGateway({ ports: PORTS });
    const r = await (await callIn('uac-expect-480.xml')).done;
    assert.equal(r.code, 0, `SIPp got 480 and ACKed it: ${r.stdout.slice(-1500)}`);
    assert.ok(received(r).some((l) => l.startsWith('SIP/2.0 480')), received(r).join(' | '));
    assert.equal(gw.counters().callsStarted, 0, 'refused before a call (or a media port) was set up');
  }));

  it('the agent is busy (rejects 486): SIPp gets 486', { timeout: 40_000 }, () => scenario(async () => {
    gw = await startGateway({ ports: PORTS });
    const busy = await agentPage({ reject: 486 });
    const r = await (await callIn('uac-expect-486.xml')).done;
    assert.equal(r.code, 0, `SIPp got 486 and ACKed it: ${r.stdout.slice(-1500)}`);
    assert.ok(received(r).some((l) => l.startsWith('SIP/2.0 486')), received(r).join(' | '));
    assert.equal(await incomingCount(busy), 1, 'the agent\'s page was offered the call');
    assert.equal((await callEnd(gw)).status, 486);
  }));

  it('SIPp cancels while the agent rings: the page sees Canceled, SIPp gets 487', { timeout: 30_000 }, () => scenario(async () => {
    gw = await startGateway({ ports: PORTS });
    const ringing = await agentPage();
    const r = await (await callIn('uac-cancel-while-ringing.xml')).done;
    assert.equal(r.code, 0, `SIPp's CANCEL got 200, its INVITE 487: ${r.stdout.slice(-1500)}`);
    const end = await waitEnded(ringing);
    assert.deepEqual([end.cause, end.originator], ['Canceled', 'remote'], JSON.stringify(end));
    const ended = await callEnd(gw);
    assert.deepEqual([ended.status, ended.endedBy], [487, 'a'], JSON.stringify(ended));
  }));

  it('the agent never answers: the ring timeout cancels the page, SIPp gets 480', { timeout: 30_000 }, () => scenario(async () => {
    gw = await startGateway({ ports: PORTS, ringTimeout: 2 });
    const ringing = await agentPage();
    const r = await (await callIn('uac-expect-480.xml')).done;
    assert.equal(r.code, 0, `SIPp got 480 and ACKed it: ${r.stdout.slice(-1500)}`);
    const end = await waitEnded(ringing);
    assert.deepEqual([end.cause, end.originator], ['Canceled', 'remote'], JSON.stringify(end));
    assert.equal((await callEnd(gw)).status, 480);
  }));
});
