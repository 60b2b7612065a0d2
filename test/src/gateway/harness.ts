// What the gateway acceptance tests share: an in-process gateway on loopback with
// a trunk pointing at a SIPp peer, the demo softphone page driven through its
// window.softphone hooks, and the end-of-test check that every call and every
// media port was released.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import TransportStream from 'winston-transport';
import { Gateway, configSchema, createLogger } from '@trapezoid/gateway';
import { REPO_ROOT, freePort } from '../sip/sipp.js';

/** Scenarios written for these tests (SIPp XML). */
export const GATEWAY_SCENARIOS = join(REPO_ROOT, 'test/testdata/sipp');

export const DOMAIN = 'trapezoid.test';
export const AGENT = { username: 'agent', password: 'agent-secret' };
export const CALLER = { username: 'alice', password: 'alice-secret' };
/** Calls from a trunk to this number ring AGENT's registered contacts. */
export const AGENT_NUMBER = '2000';
/** The admin API token of test gateways (their admin listener binds an ephemeral port). */
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestGatewayOptions {
  /**
   * SIP port of the SIPp instance acting as the trunk: calls go there, and only
   * requests from 127.0.0.1 at this UDP port are the trunk's (issue 8: identified by
   * address and port). A free port when absent (gw.trunkPort).
   */
  trunkPort?: number;
  /** Digest credentials the gateway answers the trunk's 401/407 with. */
  trunkCredentials?: { username: string; password: string };
  /** Seconds the trunk may ring before the gateway gives up (default 20). */
  answerTimeout?: number;
  /** Seconds agents may ring before the gateway gives up (default 20). */
  ringTimeout?: number;
  /** media.native: the native fast path (default true) or the TypeScript path. */
  native?: boolean;
  /**
   * Media port range of this test file, so files running side by side never collide.
   * The gateway files use 17000-17599: below Linux's ephemeral range (32768+) and
   * clear of the benches (bench/media: 30000-33999, 38000-59999; bench/call-setup:
   * 33000-35999) and of the libs/media tests (42000+).
   */
  ports: { min: number; max: number };
  /** Media worker threads (default one per core); each costs start-up time (a DTLS warm-up). */
  workers?: number;
  /** Changes the raw configuration before it is validated (extra listeners, trunks, limits). */
  edit?: (raw: Record<string, unknown> & { trunks: Array<Record<string, unknown>>; listeners: Array<Record<string, unknown>> }) => void;
  /** Called when a drain finished (no live call left). */
  onDrained?: () => void;
}

/**
 * A gateway's log lines, kept in memory: tests read its call events (winston
 * objects). Errors are also printed, so a failing test shows what the gateway saw.
 */
export class EventLog extends TransportStream {
  readonly events: Array<Record<string, unknown>> = [];
  override log(info: Record<string, unknown>, next: () => void): void {
    this.events.push(info);
    if (info.level === 'error') process.stderr.write(`gateway error: ${JSON.stringify(info)}\n`);
    next();
  }

  /** The gateway's `call-ended` events: status, reason, endedBy. */
  callsEnded(): Array<{ status: number; reason: string; endedBy?: string }> {
    return this.events.filter((e) => e.event === 'call-ended') as unknown as Array<{ status: number; reason: string; endedBy?: string }>;
  }
}

export type TestGateway = Gateway & { events: EventLog; trunkPort: number };

/**
 * A gateway with WS and UDP listeners on ephemeral loopback ports and the demo page;
 * its log goes to `gw.events` instead of the console.
 */
export async function startGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const trunkPort = opts.trunkPort ?? await freePort();
  const raw = {
    domain: DOMAIN,
    listeners: [
      { protocol: 'ws', address: '127.0.0.1', port: 0 },
      { protocol: 'udp', address: '127.0.0.1', port: 0 },
    ],
    http: { address: '127.0.0.1', port: 0, demo: true },
    admin: { address: '127.0.0.1', port: 0, token: ADMIN_TOKEN } as Record<string, unknown>,
    media: { address: '127.0.0.1', portMin: opts.ports.min, portMax: opts.ports.max, native: opts.native ?? true, workers: opts.workers ?? 0 },
    // Trunks are recognised by source address and port: SIPp calling in from 127.0.0.1:trunkPort is this trunk.
    trunks: [{
      name: 'sipp', address: '127.0.0.1', port: trunkPort, codecs: ['PCMU', 'PCMA', 'telephone-event/8000'], answerTimeout: opts.answerTimeout ?? 20,
      ...(opts.trunkCredentials ? { credentials: opts.trunkCredentials } : {}),
    }],
    routes: [{ match: '^echo$', internal: 'echo' }, { match: '^\\d+$', trunk: 'sipp' }],
    inbound: [{ match: `^${AGENT_NUMBER}$`, aor: `sip:${AGENT.username}@${DOMAIN}`, ringTimeout: opts.ringTimeout ?? 20 }],
    users: [CALLER, AGENT],
    logging: { level: 'info' },
  };
  opts.edit?.(raw);
  const config = configSchema.parse(raw);
  const events = new EventLog();
  const log = createLogger('info');
  log.clear();
  log.add(events);
  const gw = await Gateway.start(config, { log, ...(opts.onDrained ? { onDrained: opts.onDrained } : {}) });
  return Object.assign(gw, { events, trunkPort });
}

/** The gateway's record of how its only call ended, once it has ended. */
export async function callEnd(gw: TestGateway, timeout = 5_000): Promise<{ status: number; reason: string; endedBy?: string }> {
  for (const until = Date.now() + timeout; gw.events.callsEnded().length === 0 && Date.now() < until;) await sleep(50);
  const ended = gw.events.callsEnded();
  assert.equal(ended.length, 1, `one call ended: ${JSON.stringify(ended)}`);
  return ended[0]!;
}

export function udpPort(gw: Gateway): number {
  const p = gw.listeningPoints().find((l) => l.protocol === 'udp');
  assert.ok(p, 'the gateway listens on UDP');
  return p.port;
}

/**
 * Issue 4: every end path releases the call record and its media ports. Polls a
 * few seconds (a BYE's 200 may still be on its way), then stops the gateway.
 * `check` false (the test already failed) only stops it, so the first failure is
 * the one reported.
 */
export async function assertReleasedAndStop(gw: TestGateway, check = true): Promise<void> {
  if (!check) {
    await gw.stop();
    return;
  }
  try {
    let c = gw.counters();
    for (const until = Date.now() + 5_000; (c.liveCalls !== 0 || c.portsInUse !== 0) && Date.now() < until;) {
      await sleep(100);
      c = gw.counters();
    }
    const calls = gw.calls.list().map((call) => call.record);
    assert.equal(c.liveCalls, 0, `no live call left: ${JSON.stringify(c)} ${JSON.stringify(calls)}`);
    assert.equal(c.portsInUse, 0, `every media port released: ${JSON.stringify(c)}`);
  } finally {
    await gw.stop();
  }
}

/**
 * For a describe() whose tests share one gateway: run() marks the suite failed when a
 * test throws, so after() checks the release (assertReleasedAndStop(gw, outcome.passed))
 * only when every test passed, and the first failure stays the one reported.
 */
export class SuiteOutcome {
  passed = true;
  readonly run = async (t: () => Promise<void>): Promise<void> => {
    try {
      await t();
    } catch (err) {
      this.passed = false;
      throw err;
    }
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The demo page's test hooks (apps/gateway/public/softphone.js).
export interface SoftphoneStats { packetsReceived: number; packetsSent: number; dtlsState: string | null }
export interface SoftphoneEnd { cause: string; originator: string; status?: number }
interface Softphone {
  registered: boolean;
  callState: string;
  ended: SoftphoneEnd | null;
  incoming: number;
  stats(): Promise<SoftphoneStats | null>;
}
declare const window: { softphone: Softphone };

export interface PageParams { user: string; password: string; target?: string; autoanswer?: boolean; reject?: number }

/** Opens the gateway's demo softphone and waits until it is registered. */
export async function openSoftphone(page: Page, gw: Gateway, p: PageParams): Promise<void> {
  const q = new URLSearchParams({ user: p.user, password: p.password });
  if (p.target) q.set('target', p.target);
  if (p.autoanswer) q.set('autoanswer', '1');
  if (p.reject) q.set('reject', String(p.reject));
  await page.goto(`${gw.url!}?${q.toString()}`);
  await page.waitForFunction(() => window.softphone.registered, undefined, { timeout: 15_000 });
}

export async function waitCallState(page: Page, pattern: RegExp, timeout = 15_000): Promise<void> {
  await page.waitForFunction((src) => new RegExp(src).test(window.softphone.callState), pattern.source, { timeout });
}

export async function waitEnded(page: Page, timeout = 15_000): Promise<SoftphoneEnd> {
  await page.waitForFunction(() => window.softphone.ended !== null, undefined, { timeout });
  return (await page.evaluate(() => window.softphone.ended))!;
}

export async function callState(page: Page): Promise<string> {
  return page.evaluate(() => window.softphone.callState);
}

export async function incomingCount(page: Page): Promise<number> {
  return page.evaluate(() => window.softphone.incoming);
}

/** getStats of the page's call, polled until both directions reach `min` packets (or time runs out). */
export async function waitPackets(page: Page, min: { received: number; sent: number }, timeout = 15_000): Promise<SoftphoneStats> {
  let s = await page.evaluate(() => window.softphone.stats());
  for (const until = Date.now() + timeout; Date.now() < until && !(s && s.packetsReceived >= min.received && s.packetsSent >= min.sent);) {
    await sleep(250);
    s = await page.evaluate(() => window.softphone.stats());
  }
  assert.ok(s, 'the call has a peer connection');
  return s;
}
