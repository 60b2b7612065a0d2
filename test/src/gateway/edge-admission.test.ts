// Issue 8 acceptance, WebSocket admission before any SIP is read: a wrong Origin, a
// missing subprotocol, a Host the listener does not serve, one address over its
// connection limit (while a CIDR-exempt NAT address is not) each get their HTTP status
// and reason; a connection that never authenticates is closed with 1008 although it
// answers every ping; the total connection limit holds for the exempt address too;
// every refusal is logged with its source, never with the
// credentials in the URL; and the honest JsSIP client on 127.0.0.3 registers
// throughout. /health counts the open WebSockets.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type * as http from 'node:http';
import { WebSocket } from 'ws';
import { boundSocket, loadJsSIP, nextEvent } from '../sip/jssip-node.js';
import { CALLER, DOMAIN, assertReleasedAndStop, sleep, startGateway, type TestGateway } from './harness.js';
import { ATTACKER, CLIENT, SuiteOutcome } from './edge-attack.js';

const JsSIP = loadJsSIP();
type JsSipUA = InstanceType<typeof JsSIP.UA>;
/** A call centre's NAT address, exempt from the per-address limit. */
const CALL_CENTRE = '127.0.0.5';

function wsPort(gw: TestGateway): number {
  return gw.listeningPoints().find((p) => p.protocol === 'ws')!.port;
}

/** Opens a WebSocket; resolves with it once open, or with the HTTP refusal. */
async function upgrade(url: string, opts: { local?: string; protocols?: string[]; headers?: Record<string, string> } = {}):
  Promise<{ ws: WebSocket; refused?: undefined } | { ws?: undefined; refused: { status: number; reason: string } }> {
  const ws = new WebSocket(url, opts.protocols ?? ['sip'], { localAddress: opts.local ?? ATTACKER, headers: opts.headers });
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res: http.IncomingMessage) => {
      res.resume();
      ws.terminate();
      resolve({ refused: { status: res.statusCode!, reason: res.statusMessage ?? '' } });
    });
    ws.once('close', () => reject(new Error('closed before open')));
  });
}

async function health(gw: TestGateway): Promise<Record<string, number>> {
  const res = await fetch(`${gw.url!}health`);
  return await res.json() as Record<string, number>;
}

describe('WebSocket admission at the gateway', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let client: JsSipUA | null = null;
  const open: WebSocket[] = [];
  const outcome = new SuiteOutcome();
  before(async () => {
    gw = await startGateway({
      ports: { min: 19120, max: 19139 },
      edit: (raw) => {
        raw.websocket = { maxPerAddress: 3, maxConnections: 12, exempt: [`${CALL_CENTRE}/32`], authTimeout: 1.5, pingInterval: 0.2 };
        (raw.media as Record<string, unknown>).workers = 1;
      },
    });
    client = new JsSIP.UA({
      sockets: [boundSocket(JsSIP, `ws://127.0.0.1:${wsPort(gw)}`, CLIENT)], uri: `sip:${CALLER.username}@${DOMAIN}`,
      password: CALLER.password, register: true,
    });
    const registered = nextEvent(client, 'registered', 'registrationFailed');
    client.start();
    await registered;
  });
  after(async () => {
    for (const ws of open) ws.terminate();
    if (client?.isConnected()) {
      const gone = nextEvent(client, 'disconnected');
      client.stop();
      await gone;
    }
    await assertReleasedAndStop(gw, outcome.passed);
  });
  const url = (): string => `ws://127.0.0.1:${wsPort(gw)}`;
  const refusalsFrom = (address: string): Array<Record<string, unknown>> =>
    gw.events.events.filter((e) => (e.event === 'ws-refused' || e.event === 'ws-closed') && String(e.source).startsWith(address + ':'));

  it('a page from another site (wrong Origin) is refused 403, and the refusal is logged without the URL\'s credentials', () => outcome.run(async () => {
    const r = await upgrade(`${url()}/?token=eyJ.SECRET.sig&password=hunter2`, { headers: { Origin: 'https://evil.example' } });
    assert.deepEqual(r.refused, { status: 403, reason: 'Origin not allowed' });
    const line = refusalsFrom(ATTACKER).at(-1)!;
    assert.equal(line.level, 'warn');
    assert.equal(line.status, 403);
    assert.equal(line.reason, 'Origin not allowed');
    // The query's values go (libs/auth redactUrl; the log format's own redaction marks them again).
    assert.match(String(line.detail), /^Origin https:\/\/evil\.example; target \/\?token=(…|\[redacted\])&password=(…|\[redacted\])$/);
    const all = JSON.stringify(gw.events.events);
    assert.ok(!all.includes('SECRET') && !all.includes('hunter2'), 'no credential from the URL in the log');
    // The gateway's own page is an allowed Origin: same host the client connects to.
    const own = await upgrade(url(), { headers: { Origin: gw.url!.replace(/\/$/, '') } });
    assert.ok(own.ws, 'the demo page origin is admitted');
    own.ws.terminate();
  }));

  it('no "sip" subprotocol: 400 with the reason (RFC 7118 §4)', () => outcome.run(async () => {
    const r = await upgrade(url(), { protocols: ['chat'] });
    assert.deepEqual(r.refused, { status: 400, reason: 'WebSocket subprotocol "sip" required (RFC 7118)' });
    assert.equal(refusalsFrom(ATTACKER).at(-1)!.status, 400);
  }));

  it('a Host the loopback listener does not serve (DNS rebinding): 421', () => outcome.run(async () => {
    const r = await upgrade(url(), { headers: { Host: `rebind.example:${wsPort(gw)}`, Origin: 'http://rebind.example' } });
    assert.deepEqual(r.refused, { status: 421, reason: 'Host not served here' });
    assert.match(String(refusalsFrom(ATTACKER).at(-1)!.detail), /Host rebind\.example/);
  }));

  it('per-address limit: the 4th connection from 127.0.0.2 gets 429; the exempt NAT address opens 8, and the 13th connection in all gets 503; /health counts them', () => outcome.run(async () => {
    for (let i = 0; i < 50 && gw.wsAdmission.limits.open > 1; i++) await sleep(20);
    assert.equal(gw.wsAdmission.limits.open, 1, 'only the honest client is connected');
    const before = (await health(gw)).wsConnections!;
    for (let i = 0; i < 3; i++) {
      const r = await upgrade(url());
      assert.ok(r.ws, `connection ${i + 1} admitted`);
      open.push(r.ws);
    }
    const fourth = await upgrade(url());
    assert.deepEqual(fourth.refused, { status: 429, reason: 'Too many connections from this address' });
    for (let i = 0; i < 8; i++) {
      const r = await upgrade(url(), { local: CALL_CENTRE });
      assert.ok(r.ws, `call centre connection ${i + 1} admitted`);
      open.push(r.ws);
    }
    assert.equal((await health(gw)).wsConnections, before + 11);
    // 1 + 3 + 8 open: the total limit (websocket.maxConnections 12) holds for exempt addresses too.
    const over = await upgrade(url(), { local: CALL_CENTRE });
    assert.deepEqual(over.refused, { status: 503, reason: 'Too many connections' });
    // The honest client is still served.
    const again = nextEvent(client!, 'unregistered');
    client!.unregister();
    await again;
    const reg = nextEvent(client!, 'registered', 'registrationFailed');
    client!.register();
    await reg;
  }));

  it('connections that never authenticate are closed 1008 after websocket.authTimeout, though they answer every ping; the authenticated client stays', () => outcome.run(async () => {
    // The connections of the previous test are still unauthenticated: all of them go.
    let pongs = 0;
    for (const ws of open) ws.on('ping', () => { pongs++; });
    const closes = open.map((ws) => (ws.readyState === WebSocket.CLOSED ? Promise.resolve([0, Buffer.from('')]) : once(ws, 'close')));
    const results = (await Promise.all(closes)) as Array<[number, Buffer]>;
    for (const [code, reason] of results) assert.deepEqual([code, reason.toString()], [1008, 'Not authenticated in time']);
    assert.ok(pongs > 0, 'they answered pings');
    const closedLines = gw.events.events.filter((e) => e.event === 'ws-closed' && e.code === 1008);
    assert.ok(closedLines.some((e) => String(e.source).startsWith(`${CALL_CENTRE}:`)));
    assert.equal(client!.isConnected(), true, 'the registered client was not cut');
    await sleep(200);
    const h = await health(gw);
    assert.equal(h.wsConnections, 1, 'only the honest client is left');
    assert.equal(gw.wsAdmission.limits.open, 1);
    open.length = 0;
  }));
});
