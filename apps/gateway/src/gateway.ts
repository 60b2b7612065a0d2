// The gateway service: owns the SIP transport and user agent, the registrar, the
// calls, the media engine (worker threads owning the media port range), the built-in
// echo endpoint and the HTTP side, and releases all of them in stop(). Several
// gateways can live in one process (tests do that): nothing here is global.

import { TransportLayer, UserAgent, SipError, type IncomingRequest, type ListeningPoint, type TransportInfo } from '@trapezoid/sip';
import { availableParallelism } from 'node:os';
import { MediaEngine, mediaPaths, type BridgesLost } from '@trapezoid/media';
import type { GatewayConfig, TrunkConfig } from './config/index.js';
import { createLogger, type Logger } from './logging.js';
import { Registrar } from './registrar/registrar.js';
import { CallRegistry } from './calls/call.js';
import { CallLifetime, lifetimeLimits } from './calls/lifetime.js';
import { CALL_OPTION_TAGS } from './calls/capabilities.js';
import { Router } from './calls/routing.js';
import { handleOutboundInvite } from './calls/outbound.js';
import { handleInboundInvite } from './calls/inbound.js';
import type { CallContext } from './calls/context.js';
import { EchoService } from './echo/echo-uas.js';
import { HttpServer } from './http/server.js';
import { ClusterNode } from './cluster/node.js';
import { Trunks } from './trunks/index.js';
import { RequestAuthenticator } from './auth/authenticator.js';
import { Operations } from './admin/operations.js';
import { echoRouted, exposureWarnings, isLoopback, mayServeDemoPassword } from './security/exposure.js';
import { GatewayWsAdmission } from './auth/ws-admission.js';
import { EdgeScreen } from './security/edge-screen.js';
import { CallGuards } from './security/call-guards.js';
import { CertificateWatcher, loadTlsFiles } from './security/tls-reload.js';
import { insecureTransportRefusal } from './security/secure-transport.js';

export interface GatewayCounters {
  liveCalls: number;
  callsStarted: number;
  callsCompleted: number;
  portsInUse: number;
  registrations: number;
  transactions: number;
  dialogs: number;
  /** Open SIP WebSocket connections (ws and wss). */
  wsConnections: number;
  /** Server transactions ever created (a flood that creates none leaves this alone). */
  serverTransactionsCreated: number;
  /** Requests answered statelessly (challenges over UDP, RFC 3261 §8.2.7). */
  statelessResponses: number;
  /** Requests dropped unanswered: banned addresses and scanners. */
  screenedDrops: number;
  /** Source addresses banned now (flood or scanner). */
  bannedAddresses: number;
}

export interface GatewayOptions {
  log?: Logger;
  /** Called once a drain (SIGTERM, or POST /api/v1/drain) has no live call left. */
  onDrained?: () => void;
}

export class Gateway {
  readonly log: Logger;
  readonly transport: TransportLayer;
  readonly ua: UserAgent;
  readonly registrar: Registrar;
  readonly auth: RequestAuthenticator;
  /** Admission of SIP WebSocket connections (limits, Origin, Host, credentials at the upgrade). */
  readonly wsAdmission: GatewayWsAdmission;
  readonly calls: CallRegistry;
  readonly router: Router;
  /** Rate limit, scanners and stateless challenges, before any transaction (issue 8). */
  readonly edgeScreen: EdgeScreen;
  /** Dial patterns and call limits per user and per trunk (issue 8). */
  readonly guards: CallGuards;
  /** tls/wss certificate renewal without a restart. */
  private readonly certWatchers: CertificateWatcher[] = [];
  /** Trunk runtime state (pings, registrations, location): `trunks.status()` for the admin API. */
  readonly trunks: Trunks;
  /** The built-in echo endpoint: only when a route uses it (issue 8, safe defaults). */
  private readonly echo: EchoService | null;
  private echoTrunk: TrunkConfig | undefined;
  private http: HttpServer | null = null;
  private httpPoint: { address: string; port: number } | null = null;
  private readonly ctx: CallContext;
  private mediaEngine: MediaEngine | null = null;
  /** Monitor, metrics, call records, capture, admin API and drain (apps/gateway/src/admin/operations.ts). */
  readonly ops: Operations;
  /** Replication and takeover (issue 10; a memory store without cluster.redis). */
  cluster: ClusterNode | null = null;
  /** Ends answered calls whose parties are gone (browser flow, media silence, ICE): calls/lifetime.ts. */
  readonly lifetime: CallLifetime;

  private constructor(readonly config: GatewayConfig, opts: GatewayOptions) {
    this.log = opts.log ?? createLogger(config.logging.level);
    // A browser's WebSocket that died (with a node taken over here) is found again through
    // its re-registration (cluster/browser-flows.ts).
    this.transport = new TransportLayer({
      keepaliveIntervalMs: config.websocket.pingInterval * 1000,
      replaceFlow: (dest) => this.cluster?.flows.replace(dest) ?? Promise.resolve(undefined),
    });
    this.auth = new RequestAuthenticator({ config, log: this.log, transport: this.transport });
    // 100rel: reliable provisionals are PRACKed (libs/sip) and sent to INVITEs that require them.
    this.ua = new UserAgent({
      transport: this.transport, userAgentName: 'trapezoid', contactUser: 'trapezoid', supported: ['100rel', ...CALL_OPTION_TAGS],
      // SDES keys and SIPS URIs only over TLS (security/secure-transport.ts); requests on a
      // WebSocket must be from (and REGISTER for) the user the connection proved to be.
      screenRequest: (req) => insecureTransportRefusal(req, this.log) ?? this.auth.identities.screen(req),
      // Every request is screened before any transaction exists (security/edge-screen.ts).
      timers: config.sip.timers, statelessScreen: (req) => this.edgeScreen.screen(req),
      // An in-dialog request for a call being taken over waits for the takeover to finish.
      dialogLookup: async () => {
        await this.cluster?.settled();
        return undefined;
      },
    });
    this.wsAdmission = new GatewayWsAdmission({
      config, log: this.log, transport: this.transport, credentials: (url, req) => this.auth.upgradeCredentials(url, req),
    });
    this.registrar = new Registrar({
      ua: this.ua, transport: this.transport, auth: this.auth, log: this.log, maxContacts: config.security.maxContactsPerAor,
    });
    this.calls = new CallRegistry(this.log);
    this.router = new Router(config);
    this.edgeScreen = new EdgeScreen({ config, log: this.log, trunkAcl: this.router.trunkAcl, auth: this.auth });
    this.guards = new CallGuards(config, this.log);
    this.trunks = new Trunks(this.ua, config, this.log);
    this.echo = echoRouted(config) ? new EchoService(config.media.address, this.log, (source) => this.isOwnUdpSource(source)) : null;
    const engine = (): MediaEngine => {
      if (!this.mediaEngine) throw new SipError(503, 'Media engine not running');
      return this.mediaEngine;
    };
    this.ctx = {
      ua: this.ua, config, router: this.router, calls: this.calls, registrar: this.registrar,
      get engine() { return engine(); }, log: this.log, auth: this.auth, echoTrunk: () => this.echoTrunk, trunks: this.trunks,
      guards: this.guards,
    };
    this.ua.onRequest('INVITE', (req) => this.onInvite(req));
    for (const name of this.router.trunkAcl.unidentifiable) {
      this.log.warn('trunk has a host name and no source.addresses: its requests are treated as a client\'s', { event: 'trunk-unidentifiable', trunk: name });
    }
    this.ops = new Operations({
      config, log: this.log, transport: this.transport, calls: this.calls, registrar: this.registrar, router: this.router,
      trunks: this.trunks,
      ...(opts.onDrained ? { onDrained: opts.onDrained } : {}),
      handOff: async () => (this.cluster ? this.cluster.handOff() : null),
    });
    for (const w of exposureWarnings(config)) this.log.warn(w.message, w.meta);
    this.lifetime = new CallLifetime({
      limits: lifetimeLimits(config.lifetime), calls: this.calls, flows: this.transport, registrar: this.registrar, log: this.log,
      // The monitor follows every offer and answer on the wire: it knows when a call is on hold.
      isHeld: (call) => this.ops.observer.isHeld(call.id),
    });
    this.ops.observer.on('hold', (ob, held) => this.lifetime.setHeld(ob.call, held));
  }

  static async start(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
    const gw = new Gateway(config, opts);
    try {
      await gw.listen();
    } catch (err) {
      await gw.stop();
      throw err;
    }
    return gw;
  }

  private async listen(): Promise<void> {
    // The store first: it holds the cluster's DTLS certificate, which every media worker uses.
    this.cluster = await ClusterNode.open(this.config, {
      ua: this.ua, transport: this.transport, calls: this.calls, bindings: this.registrar.bindings, log: this.log,
      trunk: (name) => this.config.trunks.find((t) => t.name === name),
      storeTiming: (op, seconds, ok) => this.ops.metrics.clusterStoreOp(op, seconds, ok),
    });
    // Each media worker warms a DTLS handshake before it is ready.
    const m = this.config.media;
    this.mediaEngine = await MediaEngine.start({
      certificate: this.cluster.certificate,
      workers: m.workers > 0 ? m.workers : availableParallelism(),
      portMin: m.portMin,
      portMax: m.portMax,
      address: m.address,
      native: m.native,
      nativeDtls: m.nativeDtls,
    });
    const paths = mediaPaths({ native: m.native, nativeDtls: m.nativeDtls });
    this.log.info('media engine started', {
      event: 'media-started', workers: this.mediaEngine.workerCount, ports: `${m.portMin}-${m.portMax}`,
      fastPath: paths.forwarding, dtls: paths.dtls,
    });
    // One listener per live call (its consent-lost watch): no leak warning at scale.
    this.mediaEngine.setMaxListeners(0);
    this.mediaEngine.on('workerError', (e: { worker: number; error: unknown }) => {
      this.log.error('media worker error', { event: 'media-worker-error', worker: e.worker, error: String(e.error) });
    });
    this.mediaEngine.on('bridgesLost', (e: BridgesLost) => {
      this.log.error('media worker lost', { event: 'media-worker-lost', worker: e.worker, reason: e.reason });
      for (const id of e.ids) void this.calls.list().find((c) => c.media?.id === id)?.end(500, 'Media worker lost');
    });
    for (const l of this.config.listeners) {
      const lp = await this.transport.listen({
        protocol: l.protocol,
        address: l.address,
        port: l.port,
        ...(l.advertise !== undefined ? { advertise: l.advertise } : {}),
        ...(l.tls ? { tls: loadTlsFiles(l.tls) } : {}),
        ...(l.protocol === 'ws' || l.protocol === 'wss' ? this.wsAdmission.listenOptions(l, () => this.ops.draining) : {}),
      });
      this.log.info('listening', { event: 'listening', protocol: lp.protocol, address: lp.address, port: lp.port });
      if (l.tls && (lp.protocol === 'tls' || lp.protocol === 'wss')) {
        const protocol = lp.protocol;
        this.certWatchers.push(new CertificateWatcher(l.tls, (t) => this.transport.updateTls(protocol, lp.port, t), `${protocol} ${lp.address}:${lp.port}`, this.log));
      }
    }
    await this.cluster.join(this.transport.listeningPoints(), this.mediaEngine);
    this.trunks.start();
    if (this.echo) {
      const echo = await this.echo.start();
      this.echoTrunk = {
        name: 'echo', address: echo.address, port: echo.port, transport: 'udp', domain: echo.address,
        codecs: ['PCMU', 'PCMA', 'telephone-event/8000'], answerTimeout: 10, inviteTimeout: 32, mediaNetworks: [], legacyHold: false, dtmf: 'rfc4733', refer: 'refuse',
      };
    }
    if (this.config.http.port >= 0) {
      this.http = new HttpServer({
        address: this.config.http.address,
        port: this.config.http.port,
        demo: this.config.http.demo,
        softphoneConfig: () => this.softphoneConfig(),
        health: () => ({ status: 'ok', ...this.counters() }),
      });
      this.httpPoint = await this.http.listen();
      this.log.info('http listening', { event: 'listening', protocol: 'http', ...this.httpPoint });
    }
    await this.ops.start(this.mediaEngine);
  }

  /** The URL of the demo page, if HTTP is on. */
  get url(): string | undefined {
    if (!this.httpPoint) return undefined;
    const host = this.httpPoint.address.includes(':') ? `[${this.httpPoint.address}]` : this.httpPoint.address;
    return `http://${host}:${this.httpPoint.port}/`;
  }

  listeningPoints(): ListeningPoint[] {
    return this.transport.listeningPoints();
  }

  counters(): GatewayCounters {
    const ua = this.ua.counters;
    return {
      liveCalls: this.calls.live,
      callsStarted: this.calls.started,
      callsCompleted: this.calls.completed,
      portsInUse: this.mediaEngine?.portsInUse ?? 0,
      registrations: this.registrar.bindings.size,
      transactions: ua.transactions,
      wsConnections: this.transport.connectionCount('ws') + this.transport.connectionCount('wss'),
      dialogs: ua.dialogs,
      serverTransactionsCreated: ua.serverTransactionsCreated,
      statelessResponses: ua.statelessResponses,
      screenedDrops: ua.screenedDrops,
      bannedAddresses: this.edgeScreen.flood.banned,
    };
  }

  private softphoneConfig(): Record<string, unknown> {
    const ws = this.transport.listeningPoints().find((p) => p.protocol === 'ws' || p.protocol === 'wss');
    const demoUser = this.config.users[0];
    return {
      wsUrl: ws ? `${ws.protocol}://${ws.address.includes(':') ? `[${ws.address}]` : ws.address}:${ws.port}` : null,
      domain: this.config.domain,
      ...(demoUser && mayServeDemoPassword(this.config) ? { demoUser: demoUser.username, demoPassword: demoUser.password } : {}),
    };
  }

  /** Stops taking calls, keeps the live ones, finishes (onDrained) when none is left. */
  drain(): void {
    this.ops.drain();
  }

  /**
   * A request sent by this gateway's own UDP socket (to the echo endpoint): one of our
   * UDP listening ports, from its address (or, for a wildcard bind, from the echo's
   * address or loopback, which the kernel picks as the source toward a local address).
   */
  private isOwnUdpSource(source: TransportInfo): boolean {
    return source.protocol === 'udp' && this.transport.listeningPoints().some((p) => p.protocol === 'udp' && p.port === source.remotePort
      && (p.address === source.remoteAddress || ((p.address === '0.0.0.0' || p.address === '::')
        && (source.remoteAddress === this.config.media.address || isLoopback(source.remoteAddress)))));
  }

  private onInvite(req: IncomingRequest): Promise<void> {
    if (this.ops.draining) {
      this.log.info('call refused: draining', { event: 'call-refused', reason: 'draining', aLeg: req.message.callId, source: req.message.transport?.remoteAddress });
      throw new SipError(503, 'Draining: not taking new calls');
    }
    const trunk = this.router.trunkFrom(req.message.transport);
    return trunk ? handleInboundInvite(this.ctx, req, trunk) : handleOutboundInvite(this.ctx, req);
  }

  /** Ends every call, then closes every socket and timer. */
  async stop(): Promise<void> {
    for (const w of this.certWatchers.splice(0)) w.close();
    await this.trunks.stop();
    await this.calls.endAll('Gateway shutting down');
    this.lifetime.close();
    // Calls left to a peer: it binds the service address, so the sockets close before the lease goes.
    const leaving = this.cluster?.handingOff ? this.cluster : null;
    if (!leaving) await this.cluster?.stop();
    this.cluster = null;
    await this.ops.stop();
    this.registrar.close();
    this.wsAdmission.close();
    this.auth.close();
    await this.echo?.close();
    await this.http?.close();
    this.http = null;
    await this.ua.close();
    await this.transport.close();
    await this.mediaEngine?.close();
    this.mediaEngine = null;
    await leaving?.stop();
  }
}
