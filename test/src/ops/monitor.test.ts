// Issue 11 acceptance, metrics and media health: one call through the gateway (JsSIP in
// Node with werift -> gateway -> SIPp trunk) moves each metric by the exact amount it
// should; a call whose trunk never sends is flagged as one-way audio within the
// configured time, naming trunk->gateway, and one whose browser stops sending while the
// trunk goes on is flagged naming browser->gateway; a call the trunk holds mid-call for
// longer than the threshold, or answers on hold (a=inactive), is not flagged.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createSocket, type Socket } from 'node:dgram';
import { startSipp, type SippRun } from '../sip/sipp.js';
import { nextEvent } from '../sip/jssip-node.js';
import { GATEWAY_SCENARIOS, assertReleasedAndStop, sleep, startGateway, type TestGateway } from '../gateway/harness.js';
import {
  admin, confirmed, delta, hangUp, placeCall, registerCaller, scrape, stopUa, until, value, type JsSipUA,
} from './ops-harness.js';
import { closePeerConnections } from './ops-harness.js';

const PORTS = { min: 14000, max: 14189 };
/** The trunk's media in the browser->gateway case: a socket of the test (outside the gateway's range). */
const TRUNK_MEDIA = 14190;
const ONE_WAY_SECONDS = 2;
const INTERVAL_MS = 250;

interface CallView {
  id: string;
  state: string;
  legs: { kind: string; callId?: string; sdpDirection?: string }[];
  media: { health: string; silent: { leg: string; direction: string; silentMs: number }[]; directions: Record<string, { packets: number }> };
}

describe('metrics and the one-way-audio detector', { timeout: 120_000 }, () => {
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  let ua: JsSipUA | null = null;
  after(async () => {
    if (ua) await stopUa(ua).catch(() => undefined);
    await closePeerConnections();
    await sipp?.stop();
    await gw?.stop();
  });

  async function setUp(sippArgs: string[], register = false): Promise<TestGateway> {
    gw = await startGateway({
      ports: PORTS,
      edit: (raw) => { raw.monitor = { intervalMs: INTERVAL_MS, oneWayAudioSeconds: ONE_WAY_SECONDS }; },
    });
    sipp = await startSipp({ port: gw.trunkPort, args: [...sippArgs, '-m', '1'], timeoutSec: 40 });
    ua = await registerCaller(gw, {}, register);
    return gw;
  }

  async function tearDown(passed: boolean): Promise<void> {
    if (ua) await stopUa(ua);
    ua = null;
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g, passed);
    await sipp?.stop();
    sipp = null;
  }

  it('a call moves each metric by its exact amount, and the gauges return to zero', async () => {
    let passed = false;
    try {
      const g = await setUp(['-sn', 'uas', '-rtp_echo'], true);
      const before = await scrape(g);
      const call = placeCall(ua!, '1000');
      await confirmed(call);
      call.startSending();
      await until(() => call.received() >= 25, 10_000);
      assert.ok(call.received() >= 25, `echoed audio came back to the browser: ${call.received()}`);
      const during = await scrape(g);
      assert.equal(value(during, 'trapezoid_calls_active', { direction: 'outbound', trunk: 'sipp' }), 1, 'one call active');
      assert.equal(value(during, 'trapezoid_registrations'), 1, 'the caller is registered');
      assert.equal(value(during, 'trapezoid_websocket_connections'), 1, 'over one WebSocket');
      assert.ok(value(during, 'trapezoid_media_ports_in_use') >= 2, 'the call holds media ports');
      assert.equal(value(during, 'trapezoid_media_worker_up', { worker: '0' }), 1);
      await hangUp(call);
      // The last counters are folded in when the bridge is destroyed, before the call ends.
      await until(() => g.calls.live === 0);
      const after = await scrape(g);

      const labels = { direction: 'outbound', trunk: 'sipp' };
      assert.equal(delta(before, after, 'trapezoid_calls_attempted_total', labels), 1, 'attempted +1');
      assert.equal(delta(before, after, 'trapezoid_calls_answered_total', labels), 1, 'answered +1');
      assert.equal(value(after, 'trapezoid_calls_active', labels), 0, 'active back to 0');
      assert.equal(delta(before, after, 'trapezoid_calls_ended_total', { ...labels, cause: 'hangup' }), 1, 'ended by a hang-up +1');
      const failed = [...after.keys()].filter((k) => k.startsWith('trapezoid_calls_failed_total'));
      assert.deepEqual(failed, [], 'no failed call');
      assert.equal(delta(before, after, 'trapezoid_call_setup_seconds_count', labels), 1, 'setup histogram count +1');
      assert.ok(value(after, 'trapezoid_call_setup_seconds_sum', labels) > 0, 'setup took some time');
      assert.equal(delta(before, after, 'trapezoid_call_answer_to_media_seconds_count', { leg: 'browser' }), 1, '200 -> first media from the browser +1');
      assert.equal(delta(before, after, 'trapezoid_call_answer_to_media_seconds_count', { leg: 'trunk' }), 1, '200 -> first media from the trunk +1');
      assert.equal(delta(before, after, 'trapezoid_call_duration_seconds_count', { direction: 'outbound' }), 1, 'duration histogram +1');
      for (const d of ['browser->gateway', 'gateway->trunk', 'trunk->gateway', 'gateway->browser']) {
        assert.ok(delta(before, after, 'trapezoid_media_packets_total', { direction: d }) > 0, `packets ${d} > 0`);
        assert.ok(delta(before, after, 'trapezoid_media_bytes_total', { direction: d }) > 0, `bytes ${d} > 0`);
      }
      for (const d of ['browser->gateway', 'trunk->gateway']) {
        assert.ok(delta(before, after, 'trapezoid_media_jitter_seconds_count', { direction: d }) > 0, `jitter of ${d} observed`);
        assert.equal(delta(before, after, 'trapezoid_media_packets_lost_total', { direction: d }), 0, `nothing lost ${d} on loopback`);
      }
      assert.ok(delta(before, after, 'trapezoid_media_packets_total', { direction: 'browser->gateway' }) >= call.sent() - 5,
        `every packet werift sent was counted: ${delta(before, after, 'trapezoid_media_packets_total', { direction: 'browser->gateway' })} of ${call.sent()}`);
      assert.equal(delta(before, after, 'trapezoid_sip_requests_total', { direction: 'sent', method: 'INVITE' }), 1, 'one INVITE to the trunk');
      assert.equal(delta(before, after, 'trapezoid_sip_responses_total', { direction: 'sent', method: 'INVITE', code: '200' }), 1, 'one 200 to the browser');
      assert.equal(delta(before, after, 'trapezoid_webrtc_failures_total', { stage: 'ice' }), 0);
      // A node alone in memory keeps no call records (no survivor could read them: the
      // failover tests see them in Redis); its store operations are timed all the same.
      assert.equal(delta(before, after, 'trapezoid_cluster_store_seconds_count', { op: 'put', result: 'ok' }), 0, 'no call record written in memory');
      assert.ok(value(after, 'trapezoid_cluster_store_seconds_count', { op: 'acquireLease', result: 'ok' }) >= 1, 'the lease taken at start was timed');
      assert.equal(value(after, 'trapezoid_cluster_store_seconds_count', { op: 'put', result: 'error' }), 0);
      assert.ok(!(await admin(g, 'GET', '/metrics')).text.split('\n').some((l) => l.startsWith('trapezoid_') && !l.includes('node="')), 'every series has the node label');
      passed = true;
    } finally {
      await tearDown(passed);
    }
  });

  it('media flowing one way only is flagged within the configured time, naming the direction that stopped', async () => {
    let passed = false;
    try {
      // The trunk answers and never sends (no -rtp_echo): the browser hears nothing.
      const g = await setUp(['-sn', 'uas']);
      const before = await scrape(g);
      const call = placeCall(ua!, '1000');
      await confirmed(call);
      call.startSending();
      const answeredAt = g.calls.list()[0]!.record.answeredAt!;
      const flagged = await until(() => g.events.events.find((e) => e.event === 'one-way-audio'), (ONE_WAY_SECONDS + 4) * 1000);
      assert.ok(flagged, 'the detector flagged the call in the log');
      const after = Number(new Date(String(flagged.timestamp)));
      const tookMs = after - answeredAt;
      console.log(`one-way audio flagged ${tookMs} ms after the answer (threshold ${ONE_WAY_SECONDS} s, sampled every ${INTERVAL_MS} ms)`);
      assert.ok(tookMs >= ONE_WAY_SECONDS * 1000, `not before the configured time: ${tookMs} ms`);
      assert.ok(tookMs <= ONE_WAY_SECONDS * 1000 + INTERVAL_MS + 1000, `within the configured time and one sample: ${tookMs} ms`);
      assert.deepEqual(flagged.directions, ['trunk->gateway'], JSON.stringify(flagged));
      assert.deepEqual(flagged.legs, ['trunk']);
      assert.equal(flagged.status, 'one-way');

      const { body } = await admin(g, 'GET', '/api/v1/calls');
      const view = (body as { calls: CallView[] }).calls[0]!;
      assert.equal(view.media.health, 'one-way');
      assert.deepEqual(view.media.silent.map((s) => [s.leg, s.direction]), [['trunk', 'trunk->gateway']]);
      assert.ok(view.media.directions['browser->gateway']!.packets > 0 && view.media.directions['gateway->trunk']!.packets > 0, 'the other direction flows');
      const m = await scrape(g);
      assert.equal(delta(before, m, 'trapezoid_media_one_way_audio_total', { direction: 'trunk->gateway' }), 1, 'counted once');
      assert.equal(value(m, 'trapezoid_media_one_way_audio_calls', { status: 'one-way' }), 1, 'one call flagged now');
      await hangUp(call);
      await until(() => g.calls.live === 0);
      assert.equal(value(await scrape(g), 'trapezoid_media_one_way_audio_calls', { status: 'one-way' }), 0, 'no flagged call once it ended');
      passed = true;
    } finally {
      await tearDown(passed);
    }
  });

  it('a browser that stops sending while the trunk goes on is flagged within the configured time, naming browser->gateway', async () => {
    let passed = false;
    let sink: Socket | null = null;
    let sending: NodeJS.Timeout | null = null;
    try {
      // The trunk's media is this socket: it learns the gateway's port from what the
      // gateway forwards (symmetric RTP), then sends PCMU there every 20 ms on its own.
      const s = sink = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(TRUNK_MEDIA, '127.0.0.1', resolve));
      let gatewayPort = 0;
      let forwarded = 0;
      s.on('message', (_m, from) => { gatewayPort = from.port; forwarded++; });
      const g = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-answer-media-sink.xml'), '-key', 'media_sink', String(TRUNK_MEDIA)]);
      const before = await scrape(g);
      const call = placeCall(ua!, '1000');
      await confirmed(call);
      call.startSending();
      await until(() => forwarded >= 10, 5_000);
      assert.ok(forwarded >= 10, `the browser's audio reached the trunk: ${forwarded}`);
      const packet = Buffer.alloc(12 + 160, 0xff);
      packet.writeUInt16BE(0x8000, 0);
      packet.writeUInt32BE(0x7e57, 8);
      let seq = 0;
      sending = setInterval(() => {
        packet.writeUInt16BE(++seq & 0xffff, 2);
        packet.writeUInt32BE((seq * 160) >>> 0, 4);
        s.send(packet, gatewayPort, '127.0.0.1');
      }, 20);
      await until(() => call.received() >= 10, 5_000);
      assert.ok(call.received() >= 10, `the trunk's audio reached the browser: ${call.received()}`);
      // Now the browser's microphone path dies; the trunk goes on.
      await call.stopSending();
      const stoppedAt = Date.now();
      const flagged = await until(() => g.events.events.find((e) => e.event === 'one-way-audio'), (ONE_WAY_SECONDS + 4) * 1000);
      assert.ok(flagged, 'the detector flagged the call in the log');
      const tookMs = Number(new Date(String(flagged.timestamp))) - stoppedAt;
      console.log(`browser->gateway silence flagged ${tookMs} ms after the browser stopped (threshold ${ONE_WAY_SECONDS} s, sampled every ${INTERVAL_MS} ms)`);
      assert.ok(tookMs >= ONE_WAY_SECONDS * 1000 - INTERVAL_MS, `not before the configured time: ${tookMs} ms`);
      assert.ok(tookMs <= ONE_WAY_SECONDS * 1000 + INTERVAL_MS + 1000, `within the configured time and one sample: ${tookMs} ms`);
      assert.deepEqual(flagged.directions, ['browser->gateway'], JSON.stringify(flagged));
      assert.deepEqual(flagged.legs, ['browser']);
      assert.equal(flagged.status, 'one-way');
      const { body } = await admin(g, 'GET', '/api/v1/calls');
      const view = (body as { calls: CallView[] }).calls[0]!;
      assert.equal(view.media.health, 'one-way');
      assert.deepEqual(view.media.silent.map((x) => [x.leg, x.direction]), [['browser', 'browser->gateway']]);
      const m = await scrape(g);
      assert.equal(delta(before, m, 'trapezoid_media_one_way_audio_total', { direction: 'browser->gateway' }), 1, 'counted once, by its direction');
      assert.equal(delta(before, m, 'trapezoid_media_one_way_audio_total', { direction: 'trunk->gateway' }), 0);
      clearInterval(sending);
      sending = null;
      await hangUp(call);
      await until(() => g.calls.live === 0);
      passed = true;
    } finally {
      if (sending) clearInterval(sending);
      await new Promise<void>((resolve) => { if (sink) sink.close(() => resolve()); else resolve(); });
      await tearDown(passed);
    }
  });

  it('a call the trunk puts on hold mid-call (re-INVITE a=sendonly, longer than the threshold) is not flagged, and flows again on resume', async () => {
    let passed = false;
    try {
      // uas-hold-resume: 3 s after the answer the trunk holds for 3 s, resumes, hangs up 4 s later.
      const g = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-hold-resume.xml'), '-rtp_echo']);
      const call = placeCall(ua!, '1000');
      await confirmed(call);
      call.startSending();
      const health = async (): Promise<string | undefined> => ((await admin(g, 'GET', '/api/v1/calls')).body as { calls: CallView[] }).calls[0]?.media.health;
      assert.equal(await until(async () => (await health()) === 'held', 6_000, 100), true, 'the admin API shows the call held');
      const heldFrom = call.received();
      await sleep((ONE_WAY_SECONDS * 1000) + 2 * INTERVAL_MS);
      assert.equal(await health(), 'held', 'still held past the threshold');
      assert.ok(call.received() - heldFrom <= 5, `nothing reaches the browser while held: ${call.received() - heldFrom}`);
      assert.equal(await until(async () => (await health()) === 'ok', 4_000, 100), true, 'resumed');
      const resumedFrom = call.received();
      await until(() => call.received() - resumedFrom >= 25, 5_000);
      assert.ok(call.received() - resumedFrom >= 25, `the echo comes back after the resume: ${call.received() - resumedFrom}`);
      await nextEvent(call.session, 'ended', 'failed', 10_000);
      await call.stopSending();
      assert.equal(g.events.events.find((e) => e.event === 'one-way-audio'), undefined, 'never flagged');
      passed = true;
    } finally {
      await tearDown(passed);
    }
  });

  it('a held call (the trunk answered a=inactive) with the same silence is not flagged', async () => {
    let passed = false;
    try {
      const g = await setUp(['-sf', join(GATEWAY_SCENARIOS, 'uas-answer-inactive.xml')]);
      const before = await scrape(g);
      const call = placeCall(ua!, '1000');
      await confirmed(call);
      call.startSending();
      await sleep((ONE_WAY_SECONDS * 1000) + 4 * INTERVAL_MS);
      assert.equal(g.events.events.find((e) => e.event === 'one-way-audio'), undefined, 'not flagged');
      const { body } = await admin(g, 'GET', '/api/v1/calls');
      const view = (body as { calls: CallView[] }).calls[0]!;
      assert.equal(view.state, 'answered');
      assert.equal(view.media.health, 'held');
      assert.equal(view.legs.find((l) => l.kind === 'trunk')?.sdpDirection, 'inactive', JSON.stringify(view.legs));
      assert.equal(delta(before, await scrape(g), 'trapezoid_media_one_way_audio_total', { direction: 'trunk->gateway' }), 0);
      await hangUp(call);
      passed = true;
    } finally {
      await tearDown(passed);
    }
  });
});
