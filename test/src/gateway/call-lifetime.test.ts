// Issue 8: every answered call ends when its parties are gone, with BYE on the legs
// still up, a Reason header (RFC 3326) and one call-ended line naming the cause; and a
// browser that comes back in time keeps its call. Short limits through config:
// - the browser's WebSocket closes after the answer and stays gone: both legs end
//   within the grace time (JsSIP with werift in Node, SIPp as the trunk);
// - it closes and JsSIP reconnects and registers again within the grace time: the call
//   stays, and SIPp's BYE later reaches JsSIP over the new WebSocket;
// - a client that never does ICE: ended at the ICE limit;
// - nobody sends media: ended at the media limit; a trunk that answers on hold
//   (a=sendonly): not before the hold limit.
// The raw SIP client (raw-sip.ts) plays the browsers that never do ICE or media.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SipRequest } from '@trapezoid/sip';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { nextEvent } from '../sip/jssip-node.js';
import {
  CALLER, DOMAIN, GATEWAY_SCENARIOS, assertReleasedAndStop, sleep, startGateway, type TestGateway,
} from './harness.js';
import { callWithWerift, registerUa, stopUa, type JsSipUA } from './jssip-caller.js';
import { RawSipClient, placeRawCall, respond, silentBrowserOffer } from './raw-sip.js';

const PORTS = { min: 10100, max: 10199 };

interface Limits { flowGrace?: number; mediaTimeout?: number; holdTimeout?: number; iceTimeout?: number }

/** The gateway's call-ended events with their cause. */
function ends(gw: TestGateway): Array<{ status: number; reason: string; cause?: string; endedBy?: string }> {
  return gw.events.events.filter((e) => e.event === 'call-ended') as unknown as Array<{ status: number; reason: string; cause?: string }>;
}

async function waitEnd(gw: TestGateway, ms: number): Promise<{ status: number; reason: string; cause?: string; endedBy?: string; at: number }> {
  for (const until = Date.now() + ms; ends(gw).length === 0 && Date.now() < until;) await sleep(25);
  const e = ends(gw)[0];
  assert.ok(e, `the call ended within ${ms} ms`);
  return { ...e, at: Date.now() };
}

/** The Reason header of the BYE SIPp received. */
function byeReason(r: Awaited<SippRun['done']>): string | undefined {
  const bye = r.messages.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
  return bye ? /^Reason: *(.*)$/mi.exec(bye.text)?.[1]?.trim() ?? '' : undefined;
}

describe('calls end when their parties are gone', { timeout: 120_000 }, () => {
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  let ua: JsSipUA | null = null;
  let raw: RawSipClient | null = null;
  after(async () => {
    raw?.close();
    if (ua) await stopUa(ua);
    await gw?.stop();
    await sipp?.stop();
  });

  async function setUp(sippArgs: string[], limits: Limits): Promise<TestGateway> {
    const trunkPort = await freePort();
    sipp = await startSipp({ port: trunkPort, args: [...sippArgs, '-m', '1'], trace: true, timeoutSec: 40 });
    gw = await startGateway({
      trunkPort, ports: PORTS,
      edit: (c) => { c.lifetime = { flowGrace: 30, mediaTimeout: 0, holdTimeout: 0, iceTimeout: 0, ...limits }; },
    });
    return gw;
  }

  async function tearDown(passed: boolean): Promise<void> {
    raw?.close();
    raw = null;
    if (ua) await stopUa(ua);
    ua = null;
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g, passed);
    await sipp?.stop();
    sipp = null;
  }

  const awaitBye = (direction = 'sendrecv'): string[] => ['-sf', join(GATEWAY_SCENARIOS, 'uas-answer-await-bye.xml'), '-key', 'direction', direction];

  it('the browser\'s WebSocket closes after the answer and does not come back: both legs end within the grace time', { timeout: 40_000 }, async () => {
    let passed = false;
    try {
      const g = await setUp(awaitBye(), { flowGrace: 2 });
      // It would come back only after a minute: past the grace time.
      ua = await registerUa(g, { connection_recovery_min_interval: 60, connection_recovery_max_interval: 60 });
      await callWithWerift(ua, '1000');
      const closedAt = Date.now();
      jssipSocket(ua).terminate();
      const end = await waitEnd(g, 5_000);
      const after = end.at - closedAt;
      assert.ok(after >= 1_900 && after < 3_500, `ended ${after} ms after the WebSocket closed (grace 2 s)`);
      assert.deepEqual([end.status, end.cause, end.endedBy], [480, 'flow-lost', 'gateway'], JSON.stringify(end));
      const r = await sipp!.done;
      assert.equal(r.code, 0, `SIPp got its BYE: ${r.stdout.slice(-800)}`);
      assert.match(byeReason(r) ?? '', /^SIP ;cause=480 ;text="Browser connection lost, not back within 2 s"$/);
      await stillServed(g);
      passed = true;
    } finally {
      await tearDown(passed);
    }
  });

  it('the WebSocket closes and JsSIP reconnects and registers again within the grace time: the call stays, and SIPp\'s BYE reaches it over the new WebSocket', { timeout: 40_000 }, async () => {
    let passed = false;
    try {
      // SIPp hangs up 7 s after the answer: after the grace time (4 s) has run out.
      const g = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-bye-after-pause.xml'), '-d', '7000'], { flowGrace: 4 });
      ua = await registerUa(g, { connection_recovery_min_interval: 1, connection_recovery_max_interval: 1 });
      const call = await callWithWerift(ua, '1000');
      const reRegistered = nextEvent(ua, 'registered', 'registrationFailed', 5_000);
      const lostAt = Date.now();
      jssipSocket(ua).terminate();
      await reRegistered;
      const restored = g.events.events.find((e) => e.event === 'browser-flow-restored');
      assert.ok(restored, 'the gateway moved the call\'s browser leg to the new WebSocket');
      console.log(`# reconnected and registered ${Date.now() - lostAt} ms after the WebSocket closed`);
      const ended = nextEvent<{ originator: string }>(call.session, 'ended', 'failed', 12_000);
      await sleep(Math.max(0, lostAt + 4_500 - Date.now()));
      assert.equal(g.counters().liveCalls, 1, 'the call outlived the grace time');
      const e = await ended;
      assert.equal(e.originator, 'remote', 'SIPp\'s BYE reached JsSIP over the new flow');
      const end = await waitEnd(g, 2_000);
      assert.deepEqual([end.status, end.endedBy], [200, 'b'], JSON.stringify(end));
      const r = await sipp!.done;
      assert.equal(r.code, 0, `SIPp's BYE got its 200 from the browser: ${r.stdout.slice(-800)}`);
      passed = true;
    } finally {
      await tearDown(passed);
    }
  });

  it('a client that never does ICE: both legs end at the ICE limit', { timeout: 30_000 }, async () => {
    let passed = false;
    try {
      const g = await setUp(awaitBye(), { iceTimeout: 2 });
      raw = await RawSipClient.open('ws', g.listeningPoints().find((p) => p.protocol === 'ws')!.port, { localAddress: '127.0.0.3' });
      const call = await placeRawCall(raw, `sip:1000@${DOMAIN}`, CALLER, DOMAIN, silentBrowserOffer());
      const answeredAt = Date.now();
      const bye = await raw.next((m) => m.isRequest && (m as SipRequest).method === 'BYE' && m.callId === call.callId, 5_000) as SipRequest;
      respond(raw, bye);
      const after = Date.now() - answeredAt;
      assert.ok(after >= 1_900 && after < 3_500, `BYE ${after} ms after the answer (ICE limit 2 s)`);
      assert.match(bye.headers.get('reason') ?? '', /^SIP ;cause=408 ;text="Browser ICE not completed within 2 s of the answer"$/);
      const end = await waitEnd(g, 2_000);
      assert.deepEqual([end.status, end.cause], [408, 'ice-timeout']);
      const r = await sipp!.done;
      assert.equal(r.code, 0, r.stdout.slice(-800));
      assert.match(byeReason(r) ?? '', /cause=408/);
      await stillServed(g);
      passed = true;
    } finally {
      await tearDown(passed);
    }
  });

  for (const held of [false, true]) it(held ? 'a trunk that answers on hold (sendonly): not ended at the media limit, ended at the hold limit' : 'no media from either side: both legs end at the media limit', { timeout: 30_000 }, async () => {
    let passed = false;
    try {
      const g = await setUp(awaitBye(held ? 'sendonly' : 'sendrecv'), { mediaTimeout: 2, holdTimeout: 5 });
      raw = await RawSipClient.open('ws', g.listeningPoints().find((p) => p.protocol === 'ws')!.port, { localAddress: '127.0.0.3' });
      const call = await placeRawCall(raw, `sip:1000@${DOMAIN}`, CALLER, DOMAIN, silentBrowserOffer());
      const answeredAt = Date.now();
      const bye = await raw.next((m) => m.isRequest && (m as SipRequest).method === 'BYE' && m.callId === call.callId, 8_000) as SipRequest;
      respond(raw, bye);
      const after = Date.now() - answeredAt;
      const limit = held ? 5_000 : 2_000;
      assert.ok(after >= limit - 100 && after < limit + 1_500, `BYE ${after} ms after the answer (limit ${limit} ms)`);
      assert.match(bye.headers.get('reason') ?? '', new RegExp(`^SIP ;cause=408 ;text="No media from the (browser|trunk) for [0-9.]+ s${held ? ' on hold' : ''}"$`));
      const end = await waitEnd(g, 2_000);
      assert.deepEqual([end.status, end.cause], [408, 'media-timeout']);
      const r = await sipp!.done;
      assert.equal(r.code, 0, r.stdout.slice(-800));
      passed = true;
    } finally {
      await tearDown(passed);
    }
  });
});

/** A valid client is still served once the gateway ended the call: a fresh JsSIP registers. */
async function stillServed(gw: TestGateway): Promise<void> {
  const other = await registerUa(gw);
  await stopUa(other);
}

/** JsSIP's WebSocket (the `ws` package here): terminate() drops it like a lost network. */
function jssipSocket(ua: JsSipUA): { terminate(): void } {
  return (ua as unknown as { _transport: { socket: { _ws: { terminate(): void } } } })._transport.socket._ws;
}
