// Prometheus metrics of one gateway (prom-client, text format on the admin listener's
// /metrics). Names follow Prometheus conventions as rtpengine and LiveKit SIP use them:
// a `trapezoid_` namespace, base units (seconds, bytes), `_total` on counters, and a
// `node` label on every series so a cluster's nodes add up in one query. Labels are
// bounded (direction, trunk name from the configuration, SIP status, media direction,
// worker index): never a call id, user or number. Events bump counters as they happen;
// gauges are read when Prometheus scrapes; media counters move on the monitor's coarse
// sample, never per packet.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CallObserver, type ObservedCall } from '../monitor/call-observer.js';
import { MEDIA_DIRECTIONS } from '../monitor/directions.js';
import { endCause } from '../cdr/cause.js';

export const METRIC_PREFIX = 'trapezoid_';

/** What the scrape-time gauges read from the rest of the gateway. */
export interface MetricSources {
  registrations(): number;
  /** Open WebSocket (ws and wss) connections. */
  websocketConnections(): number;
  /** Each media worker: up, bridges, ports, event-loop utilization since the previous scrape. */
  mediaWorkers(): { index: number; up: boolean; bridges: number; portsInUse: number; utilization: number }[];
  /** Trunks' state: up (null: not pinged, no series), registered (null: does not register), ping round trip. */
  trunks(): { name: string; up: boolean | null; registered: boolean | null; rttSeconds?: number }[];
}

const SETUP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const MEDIA_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];
const JITTER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25];
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** SIP methods counted by name; anything else is "other" (bounded labels). */
const METHODS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'INFO', 'UPDATE', 'PRACK', 'REFER', 'NOTIFY', 'SUBSCRIBE', 'MESSAGE']);

export class GatewayMetrics {
  readonly registry = new Registry();
  /** SIP messages by "direction method" (requests) or "direction method status" (responses). */
  private readonly sipCounts = new Map<string, number>();
  private readonly c: ReturnType<typeof define>;

  constructor(node: string, observer: CallObserver, sources: MetricSources) {
    this.registry.setDefaultLabels({ node });
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    this.c = define(this.registry, observer, sources, this.sipCounts);
    const c = this.c;
    const base = (ob: ObservedCall) => ({ direction: ob.call.record.direction, trunk: ob.trunk ?? 'none' });
    observer.on('attempted', (ob) => c.attempted.inc(base(ob)));
    observer.on('adopted', () => c.takeovers.inc());
    observer.on('answered', (ob, seconds) => {
      c.answered.inc(base(ob));
      c.setup.observe(base(ob), seconds);
    });
    observer.on('firstMedia', (_ob, leg, seconds) => c.firstMedia.observe({ leg }, seconds));
    observer.on('media', (ob, delta) => {
      for (const d of MEDIA_DIRECTIONS) {
        const x = delta[d];
        if (x.packets > 0) c.packets.inc({ direction: d }, x.packets);
        if (x.bytes > 0) c.bytes.inc({ direction: d }, x.bytes);
        if (x.lost > 0) c.lost.inc({ direction: d }, x.lost);
      }
      if (delta['browser->gateway'].packets > 0) c.jitter.observe({ direction: 'browser->gateway' }, ob.jitterSeconds.browser);
      if (delta['trunk->gateway'].packets > 0) c.jitter.observe({ direction: 'trunk->gateway' }, ob.jitterSeconds.trunk);
    });
    observer.on('verdict', (_ob, verdict, previous) => {
      const was = previous.status === 'one-way' || previous.status === 'no-media';
      if (was || (verdict.status !== 'one-way' && verdict.status !== 'no-media')) return;
      for (const s of verdict.silent) c.oneWay.inc({ direction: s.direction });
    });
    observer.on('webrtcFailure', (_ob, stage) => c.webrtcFailures.inc({ stage }));
    observer.on('ended', (ob) => {
      const r = ob.call.record;
      const answered = CallObserver.wasAnswered(ob);
      if (!answered) c.failed.inc({ ...base(ob), status: String(r.endStatus ?? 500) });
      else c.duration.observe({ direction: r.direction }, Math.max(0, (r.endedAt ?? Date.now()) - (ob.answerSentAt ?? r.endedAt ?? Date.now())) / 1000);
      c.ended.inc({ ...base(ob), cause: ob.end ? endCause(ob.end) : 'unknown' });
    });
  }

  /** A SIP message seen on the transport tap. */
  sipMessage(direction: 'received' | 'sent', method: string, status?: number): void {
    const m = METHODS.has(method) ? method : 'other';
    // Counted here and handed to prom-client at scrape time (sipCounts): its inc() hashes
    // the label set each time, and this runs for every message the gateway sends or receives.
    const key = status === undefined ? `${direction} ${m}` : `${direction} ${m} ${status}`;
    this.sipCounts.set(key, (this.sipCounts.get(key) ?? 0) + 1);
  }

  /** Call records: written or dropped, per sink. */
  cdr(sink: 'file' | 'webhook', result: 'written' | 'dropped' | 'failed'): void {
    this.c.cdr.inc({ sink, result });
  }

  set cdrQueueLength(n: number) {
    this.c.cdrQueue.set(n);
  }

  /** HEP capture packets: sent, or dropped (queue full, send error). */
  hep(result: 'sent' | 'dropped'): void {
    this.c.hep.inc({ result });
  }

  /** One cluster-store operation and how long it took (cluster/timed-store.ts times them). */
  clusterStoreOp(op: string, seconds: number, ok: boolean): void {
    this.c.storeLatency.observe({ op, result: ok ? 'ok' : 'error' }, seconds);
  }

  /** Prometheus text exposition (version 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function define(registry: Registry, observer: CallObserver, sources: MetricSources, sipCounts: ReadonlyMap<string, number>) {
  const r = [registry];
  const p = METRIC_PREFIX;
  return {
    active: new Gauge({
      name: `${p}calls_active`, help: 'Calls in progress (set up or answered).', labelNames: ['direction', 'trunk'] as const, registers: r,
      collect() {
        this.reset();
        for (const ob of observer.list()) this.inc({ direction: ob.call.record.direction, trunk: ob.trunk ?? 'none' });
      },
    }),
    attempted: new Counter({ name: `${p}calls_attempted_total`, help: 'Calls started (an INVITE accepted for routing).', labelNames: ['direction', 'trunk'] as const, registers: r }),
    answered: new Counter({ name: `${p}calls_answered_total`, help: 'Calls answered (2xx sent to the caller).', labelNames: ['direction', 'trunk'] as const, registers: r }),
    failed: new Counter({ name: `${p}calls_failed_total`, help: 'Calls that ended unanswered, by the final SIP status the caller got.', labelNames: ['direction', 'trunk', 'status'] as const, registers: r }),
    ended: new Counter({ name: `${p}calls_ended_total`, help: 'Calls ended, by end cause (hangup, canceled, busy, rejected, no-answer, setup-failed, media-failed, consent-lost, admin, shutdown ...).', labelNames: ['direction', 'trunk', 'cause'] as const, registers: r }),
    setup: new Histogram({ name: `${p}call_setup_seconds`, help: 'Call setup time: the caller\'s INVITE to the 200 OK sent to it.', labelNames: ['direction', 'trunk'] as const, buckets: SETUP_BUCKETS, registers: r }),
    firstMedia: new Histogram({ name: `${p}call_answer_to_media_seconds`, help: 'From the 200 OK to the first packet received from a leg (browser: ICE and DTLS included).', labelNames: ['leg'] as const, buckets: MEDIA_BUCKETS, registers: r }),
    duration: new Histogram({ name: `${p}call_duration_seconds`, help: 'Answered calls: answer to hang-up.', labelNames: ['direction'] as const, buckets: DURATION_BUCKETS, registers: r }),
    registrations: new Gauge({ name: `${p}registrations`, help: 'Registered contacts (bindings) of browser agents.', registers: r, collect() { this.set(sources.registrations()); } }),
    websockets: new Gauge({ name: `${p}websocket_connections`, help: 'Open SIP-over-WebSocket connections (ws and wss).', registers: r, collect() { this.set(sources.websocketConnections()); } }),
    sipRequests: new Counter({
      name: `${p}sip_requests_total`, help: 'SIP requests sent and received, by method.', labelNames: ['direction', 'method'] as const, registers: r,
      collect() {
        this.reset();
        for (const [key, n] of sipCounts) {
          const [direction, method, code] = key.split(' ') as [string, string, string | undefined];
          if (code === undefined) this.inc({ direction, method }, n);
        }
      },
    }),
    sipResponses: new Counter({
      name: `${p}sip_responses_total`, help: 'SIP responses sent and received, by method and status code.', labelNames: ['direction', 'method', 'code'] as const, registers: r,
      collect() {
        this.reset();
        for (const [key, n] of sipCounts) {
          const [direction, method, code] = key.split(' ') as [string, string, string | undefined];
          if (code !== undefined) this.inc({ direction, method, code }, n);
        }
      },
    }),
    trunkUp: new Gauge({
      name: `${p}trunk_up`, help: 'Trunk reachability (1 up, 0 down) from its OPTIONS pings and registration; trunks of unknown state have no series.', labelNames: ['trunk'] as const, registers: r,
      collect() {
        this.reset();
        for (const t of sources.trunks()) if (t.up !== null) this.set({ trunk: t.name }, t.up ? 1 : 0);
      },
    }),
    trunkRegistered: new Gauge({
      name: `${p}trunk_registered`, help: 'Outbound registration of a trunk that registers (1 registered, 0 not).', labelNames: ['trunk'] as const, registers: r,
      collect() {
        this.reset();
        for (const t of sources.trunks()) if (t.registered !== null) this.set({ trunk: t.name }, t.registered ? 1 : 0);
      },
    }),
    trunkRtt: new Gauge({
      name: `${p}trunk_options_rtt_seconds`, help: 'Round trip of the last answered OPTIONS ping to a trunk.', labelNames: ['trunk'] as const, registers: r,
      collect() {
        this.reset();
        for (const t of sources.trunks()) if (t.rttSeconds !== undefined) this.set({ trunk: t.name }, t.rttSeconds);
      },
    }),
    packets: new Counter({ name: `${p}media_packets_total`, help: 'RTP packets by direction through the gateway (browser->gateway, gateway->trunk, trunk->gateway, gateway->browser).', labelNames: ['direction'] as const, registers: r }),
    bytes: new Counter({ name: `${p}media_bytes_total`, help: 'RTP bytes by direction through the gateway.', labelNames: ['direction'] as const, registers: r }),
    lost: new Counter({ name: `${p}media_packets_lost_total`, help: 'RTP packets lost before reaching the gateway (RFC 3550 sequence gaps), by direction.', labelNames: ['direction'] as const, registers: r }),
    jitter: new Histogram({ name: `${p}media_jitter_seconds`, help: 'Interarrival jitter (RFC 3550) of the media the gateway receives, per call and sample.', labelNames: ['direction'] as const, buckets: JITTER_BUCKETS, registers: r }),
    oneWay: new Counter({ name: `${p}media_one_way_audio_total`, help: 'Calls flagged by the one-way-audio detector, by the direction that stopped.', labelNames: ['direction'] as const, registers: r }),
    oneWayNow: new Gauge({
      name: `${p}media_one_way_audio_calls`, help: 'Live calls flagged now: one-way audio, or no media either way.', labelNames: ['status'] as const, registers: r,
      collect() {
        let oneWay = 0;
        let none = 0;
        for (const ob of observer.list()) {
          if (ob.verdict.status === 'one-way') oneWay++;
          else if (ob.verdict.status === 'no-media') none++;
        }
        this.set({ status: 'one-way' }, oneWay);
        this.set({ status: 'no-media' }, none);
      },
    }),
    webrtcFailures: new Counter({ name: `${p}webrtc_failures_total`, help: 'Browser media that failed: ICE never connected, DTLS never completed, consent lost (RFC 7675).', labelNames: ['stage'] as const, registers: r }),
    workerBridges: new Gauge({
      name: `${p}media_worker_bridges`, help: 'Bridges (calls\' media) on each media worker.', labelNames: ['worker'] as const, registers: r,
      collect() { this.reset(); for (const w of sources.mediaWorkers()) this.set({ worker: String(w.index) }, w.bridges); },
    }),
    workerUtilization: new Gauge({
      name: `${p}media_worker_utilization`, help: 'Fraction of time each media worker\'s event loop was busy since the previous scrape.', labelNames: ['worker'] as const, registers: r,
      collect() { this.reset(); for (const w of sources.mediaWorkers()) this.set({ worker: String(w.index) }, w.utilization); },
    }),
    workerUp: new Gauge({
      name: `${p}media_worker_up`, help: 'Media worker thread running (1) or down and respawning (0).', labelNames: ['worker'] as const, registers: r,
      collect() { this.reset(); for (const w of sources.mediaWorkers()) this.set({ worker: String(w.index) }, w.up ? 1 : 0); },
    }),
    ports: new Gauge({
      name: `${p}media_ports_in_use`, help: 'Media ports bound by calls.', registers: r,
      collect() { this.set(sources.mediaWorkers().reduce((n, w) => n + w.portsInUse, 0)); },
    }),
    cdr: new Counter({ name: `${p}cdr_records_total`, help: 'Call records by sink and result (written, dropped from a full queue, failed after every retry).', labelNames: ['sink', 'result'] as const, registers: r }),
    cdrQueue: new Gauge({ name: `${p}cdr_webhook_queue_length`, help: 'Call records waiting for the webhook.', registers: r }),
    hep: new Counter({ name: `${p}hep_packets_total`, help: 'SIP capture (HEPv3) packets sent to the collector, or dropped.', labelNames: ['result'] as const, registers: r }),
    storeLatency: new Histogram({ name: `${p}cluster_store_seconds`, help: 'Call-store (Redis) operation latency; fed by the cluster store.', labelNames: ['op', 'result'] as const, buckets: SETUP_BUCKETS, registers: r }),
    takeovers: new Counter({ name: `${p}cluster_takeovers_total`, help: 'Calls this node took over from a dead node.', registers: r }),
  };
}
