// Issue 11 acceptance, call records: one record per finished call, in the JSON-lines
// file and at the webhook alike, with the right end cause and party for a BYE from the
// caller (also the instant it is answered), a BYE from the trunk, a CANCEL, a 486 and an answer timeout, both legs'
// identities and the media per direction. Then the webhook's failure modes: a receiver
// that is down and one that accepts the connection and never answers hold up no call
// (the timing comparison is in bench/cdr-webhook; here the structure: one request in
// flight at most, a bounded queue, retries with back-off, the file still complete).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { nextEvent } from '../sip/jssip-node.js';
import { GATEWAY_SCENARIOS, assertReleasedAndStop, startGateway, type TestGateway } from '../gateway/harness.js';
import { confirmed, delta, hangUp, placeCall, registerCaller, scrape, stopUa, until, value, type JsSipUA } from './ops-harness.js';
import { closePeerConnections } from './ops-harness.js';

const PORTS = { min: 14200, max: 14399 };

interface Cdr {
  version: number; id: string; node: string; direction: string; trunk?: string;
  caller: { kind: string; callId?: string; from?: string; to?: string; requestUri?: string; transport?: string; peer?: string };
  callee: { kind: string; callId?: string; from?: string; to?: string; requestUri?: string; transport?: string; peer?: string };
  start: string; ring?: string; answer?: string; end: string; durationSeconds: number; setupSeconds?: number;
  endCause: string; endStatus: number; endReason: string; hangupBy: string;
  media: Record<string, { packets: number; bytes: number; lost?: number }> & { srtpProfile?: string };
}

/**
 * An HTTP receiver of call records on `port` (0: any): `mode` says how it treats each
 * POST; `inFlight` counts requests received and not yet answered or abandoned.
 */
async function receiver(port: number, mode: () => 'accept' | 'hang'): Promise<{ url: string; bodies: Cdr[]; requests: number; maxInFlight: number; close(): Promise<void> }> {
  const state = { bodies: [] as Cdr[], inFlight: 0, maxInFlight: 0, requests: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    state.requests++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.on('close', () => { state.inFlight--; });
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      if (mode() === 'hang') return;
      state.bodies.push(JSON.parse(body) as Cdr);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${bound}/cdr`, bodies: state.bodies,
    get requests() { return state.requests; },
    get maxInFlight() { return state.maxInFlight; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function fileRecords(path: string): Cdr[] {
  let text = '';
  try { text = readFileSync(path, 'utf8'); } catch { return []; }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Cdr);
}

describe('call detail records', { timeout: 150_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'trapezoid-cdr-'));
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  let ua: JsSipUA | null = null;
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    if (ua) await stopUa(ua).catch(() => undefined);
    await closePeerConnections();
    await sipp?.stop();
    await gw?.stop();
    for (const c of closers) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one record per call, in the file and at the webhook, with the end cause and who hung up', async () => {
    let passed = false;
    const hook = await receiver(0, () => 'accept');
    closers.push(hook.close);
    const file = join(dir, 'cdr.jsonl');
    try {
      const g = gw = await startGateway({
        ports: PORTS, answerTimeout: 1.5,
        edit: (raw) => { raw.cdr = { file, webhook: { url: hook.url } }; raw.cluster = { node: 'cdr-test-node' }; },
      });
      ua = await registerCaller(g, {}, false);
      const trunk = async (args: string[]): Promise<SippRun> => (sipp = await startSipp({ port: g.trunkPort, args: [...args, '-m', '1'], timeoutSec: 30 }));
      const ended = async (n: number): Promise<Cdr> => {
        await until(() => fileRecords(file).length >= n && hook.bodies.length >= n, 5_000);
        const recs = fileRecords(file);
        assert.equal(recs.length, n, `record ${n} in the file`);
        return recs[n - 1]!;
      };

      // 1. Answered, audio echoed, the browser hangs up.
      let s = await trunk(['-sn', 'uas', '-rtp_echo']);
      let call = placeCall(ua, '1000');
      await confirmed(call);
      call.startSending();
      await until(() => call.received() >= 20, 10_000);
      await hangUp(call);
      let r = await ended(1);
      assert.deepEqual([r.endCause, r.endStatus, r.hangupBy], ['hangup', 200, 'caller'], JSON.stringify(r));
      assert.equal(r.version, 1);
      assert.equal(r.node, 'cdr-test-node');
      assert.deepEqual([r.direction, r.trunk], ['outbound', 'sipp']);
      assert.equal(r.caller.kind, 'browser');
      assert.equal(r.caller.transport, 'ws');
      assert.match(r.caller.from ?? '', /sip:alice@/);
      assert.match(r.caller.requestUri ?? '', /^sip:1000@/);
      assert.equal(r.callee.kind, 'trunk');
      assert.equal(r.callee.transport, 'udp');
      assert.equal(r.callee.peer, `127.0.0.1:${g.trunkPort}`);
      assert.ok(r.callee.callId && r.callee.callId !== r.caller.callId, 'each leg has its own Call-ID');
      assert.ok(r.ring && r.answer, 'it rang and was answered');
      assert.ok(Date.parse(r.start) <= Date.parse(r.ring) && Date.parse(r.ring) <= Date.parse(r.answer) && Date.parse(r.answer) <= Date.parse(r.end), 'times in order');
      assert.ok(r.durationSeconds > 0 && r.setupSeconds! > 0);
      for (const d of ['browser->gateway', 'gateway->trunk', 'trunk->gateway', 'gateway->browser']) assert.ok(r.media[d]!.packets > 0, `media ${d}: ${JSON.stringify(r.media)}`);
      assert.equal(r.media['browser->gateway']!.packets, call.sent(), 'every packet the browser sent is in the record');
      await s.done;

      // 2. Answered, the trunk hangs up (BYE from the callee).
      s = await trunk(['-sf', join(GATEWAY_SCENARIOS, 'uas-bye-after-answer.xml')]);
      call = placeCall(ua, '1000');
      await confirmed(call, false);
      await nextEvent(call.session, 'ended', 'failed', 10_000);
      r = await ended(2);
      assert.deepEqual([r.endCause, r.endStatus, r.hangupBy], ['hangup', 200, 'callee'], JSON.stringify(r));
      await s.done;

      // 3. The browser cancels while the trunk rings.
      s = await trunk(['-sf', join(GATEWAY_SCENARIOS, 'uas-ring-until-cancel.xml')]);
      call = placeCall(ua, '1000');
      await nextEvent(call.session, 'progress', 'failed');
      const canceled = nextEvent(call.session, 'failed');
      call.session.terminate();
      await canceled;
      r = await ended(3);
      assert.deepEqual([r.endCause, r.endStatus, r.hangupBy], ['canceled', 487, 'caller'], JSON.stringify(r));
      assert.ok(r.ring && !r.answer, 'rang, never answered');
      assert.equal(r.durationSeconds, 0);
      await s.done;

      // 4. The trunk answers 486.
      s = await trunk(['-sf', join(GATEWAY_SCENARIOS, 'uas-busy.xml')]);
      call = placeCall(ua, '1000');
      const busy = await nextEvent<{ message?: { status_code?: number } }>(call.session, 'failed');
      assert.equal(busy.message?.status_code, 486);
      r = await ended(4);
      assert.deepEqual([r.endCause, r.endStatus, r.hangupBy], ['busy', 486, 'callee'], JSON.stringify(r));
      await s.done;

      // 5. The trunk rings past the answer timeout: the gateway gives up.
      s = await trunk(['-sf', join(GATEWAY_SCENARIOS, 'uas-ring-until-cancel.xml')]);
      call = placeCall(ua, '1000');
      const timeout = await nextEvent<{ message?: { status_code?: number } }>(call.session, 'failed', undefined, 10_000);
      assert.equal(timeout.message?.status_code, 480);
      r = await ended(5);
      assert.deepEqual([r.endCause, r.endStatus, r.hangupBy], ['no-answer', 480, 'gateway'], JSON.stringify(r));
      await s.done;

      // 6. The browser hangs up the moment it is answered: its ACK and BYE leave in one
      // turn and may be read in one (the BYE before the gateway linked the legs).
      s = await trunk(['-sn', 'uas']);
      call = placeCall(ua, '1000');
      await nextEvent(call.session, 'confirmed', 'failed');
      const gone = nextEvent(call.session, 'ended', 'failed');
      call.session.terminate();
      await gone;
      r = await ended(6);
      assert.deepEqual([r.endCause, r.endStatus, r.hangupBy], ['hangup', 200, 'caller'], JSON.stringify(r));
      assert.ok(r.answer, 'it was answered');
      await s.done;

      // The webhook got the same six records as the file, once each.
      await until(() => hook.bodies.length >= 6);
      assert.deepEqual(hook.bodies, fileRecords(file), 'the webhook and the file carry the same records');
      assert.equal(new Set(hook.bodies.map((b) => b.id)).size, 6, 'one record per call');
      const m = await scrape(g);
      assert.equal(value(m, 'trapezoid_cdr_records_total', { sink: 'file', result: 'written' }), 6);
      assert.equal(value(m, 'trapezoid_cdr_records_total', { sink: 'webhook', result: 'written' }), 6);
      // The same six calls in the call metrics: by the status the caller got, and by cause.
      const viaSipp = { direction: 'outbound', trunk: 'sipp' };
      assert.equal(value(m, 'trapezoid_calls_attempted_total', viaSipp), 6);
      assert.equal(value(m, 'trapezoid_calls_answered_total', viaSipp), 3);
      for (const status of ['486', '487', '480']) assert.equal(value(m, 'trapezoid_calls_failed_total', { ...viaSipp, status }), 1, `failed with ${status}`);
      for (const [cause, n] of [['hangup', 3], ['busy', 1], ['canceled', 1], ['no-answer', 1]] as const) {
        assert.equal(value(m, 'trapezoid_calls_ended_total', { ...viaSipp, cause }), n, `ended by ${cause}`);
      }
      await stopUa(ua);
      ua = null;
      passed = true;
    } finally {
      // The caller first, as on success: a JsSIP UA that outlives its gateway keeps retrying
      // the WebSocket, and the test process never exits.
      if (ua) await stopUa(ua).catch(() => undefined);
      ua = null;
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
      await sipp?.stop();
      sipp = null;
    }
  });

  it('a webhook that is down, then one that never answers, holds up no call; records wait in a bounded queue', async () => {
    let passed = false;
    // Down: a port nobody listens on, until the receiver starts there.
    const port = await freePort();
    let mode: 'accept' | 'hang' = 'accept';
    const file = join(dir, 'cdr-down.jsonl');
    try {
      const g = gw = await startGateway({
        ports: PORTS,
        edit: (raw) => {
          raw.cdr = { file, webhook: { url: `http://127.0.0.1:${port}/cdr`, timeoutMs: 800, backoffMs: 200, maxBackoffMs: 400, maxAttempts: 100, maxQueue: 3 } };
        },
      });
      ua = await registerCaller(g, {}, false);
      const echoCall = async (): Promise<void> => {
        const call = placeCall(ua!, 'echo');
        await confirmed(call, false);
        await hangUp(call);
      };
      await echoCall();
      await echoCall();
      await until(() => fileRecords(file).length === 2);
      assert.equal(fileRecords(file).length, 2, 'calls went on and were recorded while the receiver was down');
      let m = await scrape(g);
      assert.equal(value(m, 'trapezoid_cdr_webhook_queue_length'), 2, 'both records wait for the receiver');

      // The receiver comes up: the retries (back-off at most 400 ms) deliver both.
      const hook = await receiver(port, () => mode);
      closers.push(hook.close);
      await until(() => hook.bodies.length === 2, 5_000);
      assert.deepEqual(hook.bodies.map((b) => b.id), fileRecords(file).map((r) => r.id), 'delivered in order once it was up');

      // Now it accepts every connection and never answers.
      mode = 'hang';
      for (let i = 0; i < 5; i++) await echoCall();
      await until(() => fileRecords(file).length === 7);
      assert.equal(fileRecords(file).length, 7, 'five more calls completed and were written to the file');
      assert.ok(hook.requests >= 3, `deliveries were tried on the hanging receiver: ${hook.requests}`);
      assert.equal(hook.bodies.length, 2, 'none of them completed');
      assert.equal(hook.maxInFlight, 1, 'never more than one delivery in flight');
      m = await scrape(g);
      assert.ok(value(m, 'trapezoid_cdr_webhook_queue_length') <= 3, 'the queue stays within maxQueue');
      assert.ok(value(m, 'trapezoid_cdr_records_total', { sink: 'webhook', result: 'dropped' }) >= 2, 'the oldest records were dropped and counted');
      assert.equal(delta(new Map(), m, 'trapezoid_calls_answered_total', { direction: 'outbound', trunk: 'echo' }), 7, 'every call was answered');
      await stopUa(ua);
      ua = null;
      passed = true;
    } finally {
      // The caller first, as on success: a JsSIP UA that outlives its gateway keeps retrying
      // the WebSocket, and the test process never exits.
      if (ua) await stopUa(ua).catch(() => undefined);
      ua = null;
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
    }
  });
});
