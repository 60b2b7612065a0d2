// Everything an operator runs beside the calls, in one place the gateway starts and
// stops: the call monitor (media health, one-way audio), Prometheus metrics, call
// records, SIP capture, the admin listener, and draining. The gateway hands over what
// these read (transport, calls, registrar, router, media engine) and asks one question
// back: may a new call or connection come in (not while draining).

import { hostname } from 'node:os';
import type { TransportLayer } from '@trapezoid/sip';
import type { MediaEngine } from '@trapezoid/media';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import type { CallRegistry } from '../calls/call.js';
import type { Router } from '../calls/routing.js';
import type { Registrar } from '../registrar/registrar.js';
import { trunkPort, type Trunks } from '../trunks/index.js';
import { CallObserver } from '../monitor/call-observer.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { CdrWriter } from '../cdr/writer.js';
import { ADMIN_HANGUP_CAUSE, ADMIN_HANGUP_REASON } from '../cdr/cause.js';
import { HepExporter } from '../hep/exporter.js';
import { AdminAuth } from './auth.js';
import { AdminServer, type AdminBackend, type DrainStatus, type Readiness } from './server.js';
import { callView, registrationView, type TrunkView } from './views.js';

export interface OperationsDeps {
  config: GatewayConfig;
  log: Logger;
  transport: TransportLayer;
  calls: CallRegistry;
  registrar: Registrar;
  router: Router;
  /** Trunks' runtime state (OPTIONS pings, registration). */
  trunks: Trunks;
  /** Called once a drain has finished (no live call left): the process may exit. */
  onDrained?: () => void;
  /** At the drain deadline: leave the live calls to a peer node; null when there is none. */
  handOff?: () => Promise<number | null>;
}

export class Operations {
  readonly node: string;
  readonly observer: CallObserver;
  readonly metrics: GatewayMetrics;
  readonly cdr: CdrWriter;
  private readonly hep: HepExporter | null;
  private readonly auth: AdminAuth | null;
  /** True when the token was generated at start (printed once by main). */
  readonly generatedToken: boolean;
  private admin: AdminServer | null = null;
  private adminPoint: { address: string; port: number } | null = null;
  private engine: MediaEngine | null = null;
  private workersCache: { at: number; value: ReturnType<MediaEngine['workers']> } | null = null;
  private state: Readiness = 'starting';
  private drainDeadline: number | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private drainDone = false;

  constructor(private readonly deps: OperationsDeps) {
    const { config, log, transport, calls, registrar, router } = deps;
    this.node = config.cluster.node ?? hostname();
    this.observer = new CallObserver({
      calls, transport, log,
      trunkAt: (source) => router.trunkFrom(source)?.name,
      intervalMs: config.monitor.intervalMs,
      oneWayAudioMs: config.monitor.oneWayAudioSeconds * 1000,
    });
    this.metrics = new GatewayMetrics(this.node, this.observer, {
      registrations: () => registrar.bindings.size,
      websocketConnections: () => transport.openFlows().filter((f) => f.protocol === 'ws' || f.protocol === 'wss').length,
      mediaWorkers: () => this.mediaWorkers(),
      trunks: () => deps.trunks.status().map((t) => ({
        name: t.name,
        up: !t.ping || t.ping.reachability === 'unknown' ? null : t.ping.reachability === 'up',
        registered: t.registration ? t.registration.state === 'registered' : null,
        ...(t.ping?.lastRttMs !== undefined ? { rttSeconds: t.ping.lastRttMs / 1000 } : {}),
      })),
    });
    transport.addTap((m) => {
      if (m.message) this.metrics.sipMessage(m.direction, m.message.isRequest ? m.message.method : cseqMethod(m.message.headers.get('cseq')), m.message.isRequest ? undefined : m.message.status);
    });
    const w = config.cdr.webhook;
    this.cdr = new CdrWriter({
      ...(config.cdr.file ? { file: config.cdr.file } : {}),
      ...(w ? { webhook: { url: w.url, headers: w.headers, timeoutMs: w.timeoutMs, maxQueue: w.maxQueue, maxAttempts: w.maxAttempts, backoffMs: w.backoffMs, maxBackoffMs: w.maxBackoffMs } } : {}),
    }, this.observer, this.node, log, this.metrics);
    this.hep = config.hep
      ? new HepExporter(config.hep, transport, (id) => this.observer.correlationId(id), log, (r) => this.metrics.hep(r))
      : null;
    if (config.admin.enabled) {
      const a = AdminAuth.fromConfig(config.admin);
      this.auth = a.auth;
      this.generatedToken = a.generated;
    } else {
      this.auth = null;
      this.generatedToken = false;
    }
    calls.on('ended', () => this.drainStep());
  }

  /** Starts sampling media and the admin listener; the gateway is ready after this. */
  async start(engine: MediaEngine): Promise<void> {
    this.engine = engine;
    this.observer.attachEngine(engine);
    const c = this.deps.config.admin;
    if (this.auth) {
      this.admin = new AdminServer({ address: c.address, port: c.port, auth: this.auth, backend: this.backend() });
      this.adminPoint = await this.admin.listen();
      this.deps.log.info('admin listening', { event: 'listening', protocol: 'http', role: 'admin', ...this.adminPoint });
    }
    this.state = 'ready';
  }

  /** The admin API's base URL, if it runs. */
  get adminUrl(): string | undefined {
    if (!this.adminPoint) return undefined;
    const host = this.adminPoint.address.includes(':') ? `[${this.adminPoint.address}]` : this.adminPoint.address;
    return `http://${host}:${this.adminPoint.port}`;
  }

  /** The admin token (tests, and main prints a generated one once). */
  get adminToken(): string | undefined {
    return this.auth?.token;
  }

  get draining(): boolean {
    return this.state === 'draining';
  }

  /**
   * Stops taking calls (new INVITEs get 503, new WebSockets are refused), keeps the live
   * ones, closes agents' WebSockets with 1001 once no live call uses them, and ends
   * whatever is still live at the deadline (shutdown.drainSeconds). Idempotent.
   */
  drain(): DrainStatus {
    if (this.state !== 'draining') {
      this.state = 'draining';
      const ms = this.deps.config.shutdown.drainSeconds * 1000;
      this.drainDeadline = Date.now() + ms;
      this.deps.log.info('draining: no new calls', { event: 'drain-started', liveCalls: this.deps.calls.live, deadlineSeconds: ms / 1000 });
      this.drainTimer = setTimeout(() => {
        if (this.deps.calls.live === 0) return;
        void this.deadline();
      }, ms);
      this.drainTimer.unref();
      queueMicrotask(() => this.drainStep());
    }
    return { status: 'draining', liveCalls: this.deps.calls.live, deadline: new Date(this.drainDeadline!).toISOString() };
  }

  /** Leaves what is still live to a peer node if there is one, else ends it. */
  private async deadline(): Promise<void> {
    const left = await this.deps.handOff?.().catch((err: unknown) => {
      this.deps.log.error('hand-off failed', { event: 'handoff-error', error: String(err) });
      return null;
    });
    if (left != null) {
      this.drainStep();
      return;
    }
    this.deps.log.warn('drain deadline: ending the calls still live', { event: 'drain-deadline', liveCalls: this.deps.calls.live });
    await this.deps.calls.endAll('Drain deadline reached');
  }

  /** On drain and after each call ends: close idle agent WebSockets; finish when no call is left. */
  private drainStep(): void {
    if (this.state !== 'draining' || this.drainDone) return;
    const calls = this.deps.calls.list();
    // A call still being set up may be ringing an agent over any WebSocket: wait for it.
    if (calls.some((c) => !c.aDialog || !c.bDialog)) return;
    const inUse = new Set<string>();
    for (const c of calls) {
      for (const d of [c.aDialog, c.bDialog]) {
        const flow = d?.toState().flow?.flowId;
        if (flow !== undefined) inUse.add(flow);
      }
    }
    for (const f of this.deps.transport.openFlows()) {
      if ((f.protocol === 'ws' || f.protocol === 'wss') && f.flowId !== undefined && !inUse.has(f.flowId)) {
        this.deps.transport.closeFlow(f.flowId, 1001, 'Gateway draining');
      }
    }
    if (calls.length === 0) {
      this.drainDone = true;
      if (this.drainTimer) clearTimeout(this.drainTimer);
      this.deps.log.info('drained: no live call left', { event: 'drained' });
      this.deps.onDrained?.();
    }
  }

  private mediaWorkers(): ReturnType<MediaEngine['workers']> {
    // One read per scrape: utilization is measured between reads.
    const now = Date.now();
    if (!this.workersCache || now - this.workersCache.at > 500) this.workersCache = { at: now, value: this.engine?.workers() ?? [] };
    return this.workersCache.value;
  }

  private backend(): AdminBackend {
    const { calls, registrar, config } = this.deps;
    return {
      readiness: () => this.state,
      metrics: async () => ({ contentType: this.metrics.contentType, text: await this.metrics.text() }),
      calls: () => this.observer.list().map((ob) => callView(ob)),
      call: (id) => {
        const ob = this.observer.get(id);
        return ob ? callView(ob) : undefined;
      },
      hangup: async (id) => {
        const call = calls.get(id);
        if (!call || call.ended) return false;
        call.log.info('hang-up requested through the admin API', { event: 'admin-hangup' });
        await call.end(200, ADMIN_HANGUP_REASON, 'gateway', ADMIN_HANGUP_CAUSE);
        return true;
      },
      registrations: () => registrar.bindings.all().map((b) => registrationView(b)),
      trunks: () => {
        const status = new Map(this.deps.trunks.status().map((t) => [t.name, t]));
        return config.trunks.map((t): TrunkView => {
          const st = status.get(t.name);
          return {
            name: t.name, address: t.address, port: trunkPort(t), transport: t.transport ?? 'udp',
            state: st?.ping?.reachability ?? 'unknown', usable: st?.usable ?? true,
            ...(st?.ping?.lastRttMs !== undefined ? { rttMs: st.ping.lastRttMs } : {}),
            ...(st?.registration ? { registration: st.registration.state } : {}),
            activeCalls: this.observer.list().filter((ob) => ob.trunk === t.name).length,
          };
        });
      },
      drain: () => this.drain(),
    };
  }

  async stop(): Promise<void> {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.observer.close();
    await this.admin?.close();
    this.admin = null;
    await this.hep?.close();
    await this.cdr.close(2000);
  }
}

function cseqMethod(cseq: string | undefined): string {
  return /^\s*\d+\s+(\S+)/.exec(cseq ?? '')?.[1]?.toUpperCase() ?? 'other';
}
