// Issue 4 acceptance, browser -> trunk (docs/architecture.md, "Call flows"): the demo softphone
// (JsSIP in headless Chromium, fake microphone) registers with an in-process gateway
// and calls a number routed to SIPp acting as the trunk. Each test checks what each
// side saw, then that the gateway released the call and its ports.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from '../media/chromium.js';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import {
  CALLER, GATEWAY_SCENARIOS, assertReleasedAndStop, callEnd, callState, openSoftphone, startGateway, waitCallState, waitEnded, waitPackets,
  type TestGateway, type TestGatewayOptions,
} from './harness.js';

const PORTS = { min: 17000, max: 17199 };
const CALLER_PARAMS = { user: CALLER.username, password: CALLER.password };

describe('browser (Chromium + JsSIP) -> gateway -> SIPp trunk', { timeout: 240_000 }, () => {
  let browser: Browser;
  let page: Page | null = null;
  /** Pages a test opened besides the setUp one. */
  const extraPages: Page[] = [];
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await page?.close();
    for (const e of extraPages.splice(0)) await e.close();
    await sipp?.stop();
    await gw?.stop();
    await browser?.close();
  });

  /** SIPp as the trunk, the gateway pointing at it, the softphone registered. */
  async function setUp(sippArgs: string[], target: string, gwOptions: Partial<TestGatewayOptions> = {}): Promise<{ sipp: SippRun; gw: TestGateway; page: Page }> {
    const trunkPort = await freePort();
    const calls = sippArgs.includes('-m') ? [] : ['-m', '1'];
    // 45 s: the consent-expiry test's BYE lands ~34 s after the tab closes, after a setup
    // that includes starting the gateway's media workers (~1.5 s).
    sipp = await startSipp({ port: trunkPort, args: [...sippArgs, ...calls], trace: true, timeoutSec: 45 });
    gw = await startGateway({ ...gwOptions, trunkPort, ports: PORTS });
    page = await browser.context.newPage();
    await openSoftphone(page, gw, { ...CALLER_PARAMS, target });
    return { sipp, gw, page };
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
  async function closePage(): Promise<void> {
    const p = page;
    page = null;
    await p?.close();
    for (const e of extraPages.splice(0)) await e.close();
  }
  async function tearDown(check: boolean): Promise<void> {
    await closePage();
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g, check);
    await sipp?.stop();
    sipp = null;
  }

  // Both media paths: the native addon (forwarding and OpenSSL DTLS, the default) and the
  // fallback a build without it runs (TypeScript forwarding, werift DTLS: media.native false).
  for (const native of [true, false]) it(`calls SIPp uas -rtp_echo: answered, audio both ways, the browser's BYE reaches SIPp (${native ? 'native path' : 'TypeScript and werift fallback'})`, { timeout: 60_000 }, () => scenario(async () => {
    const { sipp, page, gw } = await setUp(['-sn', 'uas', '-rtp_echo'], '1000', { native });
    const started = gw.events.events.find((e) => e.event === 'media-started');
    assert.match(String(started?.dtls), native ? /^native \(OpenSSL/ : /^werift \(media\.native is false\)/, 'the start-up log names the DTLS path');
    assert.equal(started?.fastPath, native ? 'native' : 'typescript (media.native is false)', 'the start-up log names the forwarding path');
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    const s = await waitPackets(page, { received: 50, sent: 50 });
    assert.equal(s.dtlsState, 'connected');
    assert.ok(s.packetsSent >= 50, `browser sent ${s.packetsSent} packets`);
    assert.ok(s.packetsReceived >= 50, `browser received ${s.packetsReceived} packets echoed by SIPp`);
    assert.equal(gw.counters().liveCalls, 1);
    // Once both directions are settled the media worker forwards them in the native addon
    // (npm test builds it), and the counters it keeps reach the stats path.
    const media = await gw.calls.list()[0]!.media!.stats();
    assert.deepEqual(media.native, { toTrunk: native, toBrowser: native }, `which path forwarded: ${JSON.stringify(media)}`);
    assert.ok(media.webrtc.packetsIn! >= 50 && media.rtp.packetsOut! >= 50 && media.rtp.packetsIn! >= 50 && media.webrtc.packetsOut! >= 50, JSON.stringify(media));
    assert.equal(media.webrtc.packetsDropped, 0, 'every SRTP packet from Chromium authenticated');

    await page.click('#hangup');
    const hangup = await waitEnded(page);
    assert.equal(hangup.originator, 'local');
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's call succeeded (INVITE, ACK, BYE): ${r.stdout.slice(-1500)}`);
    const bye = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
    assert.ok(bye, 'SIPp received the BYE');
    assert.ok(r.messages.some((m) => m.direction === 'received' && m.startLine.startsWith('ACK ')), 'SIPp received the ACK');
    const end = await callEnd(gw);
    assert.deepEqual([end.status, end.endedBy], [200, 'a'], `the gateway saw the browser hang up: ${JSON.stringify(end)}`);
  }));

  it('two tabs call at once: two independent calls, each with its own media, both released', { timeout: 60_000 }, () => scenario(async () => {
    const { sipp, page, gw } = await setUp(['-sn', 'uas', '-rtp_echo', '-m', '2'], '1010');
    const second = await browser.context.newPage();
    extraPages.push(second);
    await openSoftphone(second, gw, { ...CALLER_PARAMS, target: '1011' });
    await Promise.all([page.click('#call'), second.click('#call')]);
    await Promise.all([waitCallState(page, /^in call$/), waitCallState(second, /^in call$/)]);
    assert.equal(gw.counters().liveCalls, 2);
    const [a, b] = await Promise.all([waitPackets(page, { received: 50, sent: 50 }), waitPackets(second, { received: 50, sent: 50 })]);
    assert.ok(a.packetsReceived >= 50 && b.packetsReceived >= 50, `both calls got their echo: ${JSON.stringify([a, b])}`);
    const legPorts = gw.calls.list().map((c) => c.media!.rtpEndpoint.port);
    assert.notEqual(legPorts[0], legPorts[1], 'each call has its own RTP port');
    await Promise.all([page.click('#hangup'), second.click('#hangup')]);
    await Promise.all([waitEnded(page), waitEnded(second)]);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's two calls succeeded: ${r.stdout.slice(-1500)}`);
    assert.equal(r.successful, 2);
  }));

  it('SIPp hangs up after answering: the browser sees the call end', { timeout: 60_000 }, () => scenario(async () => {
    const { sipp, page, gw } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-bye-after-answer.xml'), '-rtp_echo'], '1001');
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    const s = await waitPackets(page, { received: 20, sent: 20 });
    assert.ok(s.packetsReceived >= 20, `audio flowed before the hang-up: ${JSON.stringify(s)}`);
    const end = await waitEnded(page, 20_000);
    assert.equal(end.originator, 'remote', `the far end hung up: ${JSON.stringify(end)}`);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's BYE was answered 200: ${r.stdout.slice(-1500)}`);
    const ended = await callEnd(gw);
    assert.deepEqual([ended.status, ended.endedBy], [200, 'b'], `the gateway saw the trunk hang up: ${JSON.stringify(ended)}`);
  }));

  it('the browser cancels while SIPp rings: SIPp gets CANCEL, the INVITE ends 487', { timeout: 60_000 }, () => scenario(async () => {
    const { sipp, page, gw } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-ring-until-cancel.xml')], '1002');
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
    const ended = await callEnd(gw);
    assert.deepEqual([ended.status, ended.endedBy], [487, 'a'], `the gateway ended the call 487, canceled by the browser: ${JSON.stringify(ended)}`);
  }));

  it('SIPp sends 183 with SDP and an announcement: the browser hears it before the answer', { timeout: 40_000 }, () => scenario(async () => {
    const { sipp, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-early-media.xml')], '1007');
    await page.click('#call');
    await waitCallState(page, /^ringing$/);
    const early = await waitPackets(page, { received: 20, sent: 0 });
    assert.equal(await callState(page), 'ringing', 'still not answered');
    assert.ok(early.packetsReceived >= 20, `early media reached the browser: ${JSON.stringify(early)}`);
    await waitCallState(page, /^in call$/);
    await page.click('#hangup');
    await waitEnded(page);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's call: 183, 200, ACK, BYE: ${r.stdout.slice(-1500)}`);
  }));

  it('a number no route matches: 404 to the browser, nothing set up', { timeout: 30_000 }, () => scenario(async () => {
    const { page, gw } = await setUp(['-sn', 'uas'], 'nowhere');
    await page.click('#call');
    const end = await waitEnded(page);
    assert.equal(end.status, 404, JSON.stringify(end));
    assert.equal(gw.counters().callsStarted, 0, 'no call (so no INVITE to the trunk, no media port) was set up');
  }));

  it('SIPp answers 486: the browser\'s call fails Busy', { timeout: 30_000 }, () => scenario(async () => {
    const { sipp, page, gw } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-busy.xml')], '1003');
    await page.click('#call');
    const end = await waitEnded(page);
    assert.deepEqual([end.cause, end.status], ['Busy', 486], `the trunk's 486 was relayed: ${JSON.stringify(end)}`);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's 486 was ACKed: ${r.stdout.slice(-1500)}`);
    const ended = await callEnd(gw);
    assert.deepEqual([ended.status, ended.endedBy], [486, 'b'], JSON.stringify(ended));
  }));

  it('SIPp challenges with 401: the gateway answers with the trunk\'s digest credentials, the call connects', { timeout: 40_000 }, () => scenario(async () => {
    const { sipp, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-digest-challenge.xml'), '-rtp_echo'], '1004',
      { trunkCredentials: { username: 'trunkuser', password: 'trunkpass' } });
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    const s = await waitPackets(page, { received: 20, sent: 20 });
    assert.ok(s.packetsReceived >= 20, `audio flowed: ${JSON.stringify(s)}`);
    await page.click('#hangup');
    await waitEnded(page);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp accepted the credentials (no 403) and saw the BYE: ${r.stdout.slice(-1500)}`);
    const invites = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '));
    assert.equal(invites.length, 2, 'the INVITE was repeated once, with credentials');
    assert.match(invites[1]!.text, /^Authorization: Digest .*username="trunkuser".*qop=auth/im);
  }));

  it('SIPp challenges with 407: the gateway answers with a correct Proxy-Authorization, the call connects', { timeout: 40_000 }, () => scenario(async () => {
    const { sipp, page } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-proxy-challenge.xml')], '1009',
      { trunkCredentials: { username: 'trunkuser', password: 'trunkpass' } });
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    await page.click('#hangup');
    await waitEnded(page);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp's call: 407, INVITE with credentials, 200, BYE: ${r.stdout.slice(-1500)}`);
    const invites = r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '));
    assert.equal(invites.length, 2, 'the INVITE was repeated once, with credentials');
    const header = /^Proxy-Authorization:\s*Digest (.*)$/im.exec(invites[1]!.text)?.[1] ?? '';
    const p = Object.fromEntries([...header.matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)].map((m) => [m[1]!, m[2] ?? m[3]!]));
    // RFC 2617 §3.2.2.1 with qop=auth.
    const md5 = (t: string): string => createHash('md5').update(t).digest('hex');
    const ha1 = md5(`trunkuser:${p.realm}:trunkpass`);
    const ha2 = md5(`INVITE:${p.uri}`);
    assert.equal(p.username, 'trunkuser');
    assert.equal(p.qop, 'auth');
    assert.equal(p.response, md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`), `digest response is right: ${header}`);
  }));

  it('the gateway shuts down mid-call: both sides get a BYE, everything is released', { timeout: 60_000 }, () => scenario(async () => {
    const { sipp, page, gw: running } = await setUp(['-sn', 'uas', '-rtp_echo'], '1008');
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    await waitPackets(page, { received: 20, sent: 20 });
    gw = null;
    await running.stop();
    const c = running.counters();
    assert.deepEqual([c.liveCalls, c.portsInUse], [0, 0], JSON.stringify(c));
    const end = await waitEnded(page);
    assert.equal(end.originator, 'remote', `the browser was hung up: ${JSON.stringify(end)}`);
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp got a BYE: ${r.stdout.slice(-1500)}`);
    assert.equal((await callEnd(running)).status, 503);
  }));

  // Chromium sends no BYE and no DTLS alert when a tab closes: the call ends when ICE
  // consent expires (RFC 7675 §5.1: 30 s without a consent check), about 30 s later.
  it('the tab closes mid-call without a BYE: consent expires, the gateway hangs up the trunk', { timeout: 60_000 }, () => scenario(async () => {
    // The tab's WebSocket closes too: a grace time longer than consent's keeps this about consent.
    const { sipp, page, gw } = await setUp(['-sn', 'uas', '-rtp_echo'], '1005', { edit: (c) => { c.lifetime = { flowGrace: 120 }; } });
    await page.click('#call');
    await waitCallState(page, /^in call$/);
    await waitPackets(page, { received: 20, sent: 20 });
    const closedAt = Date.now();
    await closePage();
    const r = await sipp.done;
    console.log(`tab closed: SIPp got the BYE after ${Date.now() - closedAt} ms`);
    assert.equal(r.code, 0, `SIPp's call ended with a BYE: ${r.stdout.slice(-1500)}`);
    const bye = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
    assert.match(bye?.text ?? '', /^Reason: SIP ;cause=480 ;text="Browser media consent lost \(RFC 7675\)"/m, 'the BYE says why');
    const ended = await callEnd(gw) as { status: number; endedBy?: string; cause?: string };
    assert.deepEqual([ended.status, ended.endedBy, ended.cause], [480, 'gateway', 'consent-lost'], `ended by the lost consent: ${JSON.stringify(ended)}`);
  }));

  it('SIPp rings past the trunk\'s answer timeout: the gateway cancels it, the browser gets 480', { timeout: 30_000 }, () => scenario(async () => {
    const { sipp, page, gw } = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-ring-until-cancel.xml')], '1006', { answerTimeout: 2 });
    const startedAt = Date.now();
    await page.click('#call');
    const end = await waitEnded(page);
    assert.equal(end.status, 480, `no answer in time is 480 to the browser: ${JSON.stringify(end)}`);
    assert.ok(Date.now() - startedAt >= 1_900, 'not before the timeout');
    const r = await sipp.done;
    assert.equal(r.code, 0, `SIPp was CANCELed, sent 487, got its ACK: ${r.stdout.slice(-1500)}`);
    const ended = await callEnd(gw);
    assert.equal(ended.status, 480, JSON.stringify(ended));
  }));
});
