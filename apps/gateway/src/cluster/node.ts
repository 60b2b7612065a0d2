// This gateway as a member of a cluster (issue 10): its store (Redis when
// cluster.redis is set, else memory: one node, the same code path for the lease and the
// registrar's bindings), its lease and the self-fencing that goes with it, the
// replication of its calls (Redis only: in memory no survivor could read them), and the
// takeover of a dead node's calls. What each reaction means for the calls:
//   lease suspended (no renew for a while): every call falls silent, media and SIP,
//     until the lease is confirmed ours again (resumed) or lost;
//   fenced (declared dead by a survivor, or a write refused because the call moved):
//     the call is handed over, released here without a word to either side;
//   a dead node found: take it over if its service address can be bound here.

import { hostname } from 'node:os';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  DeadNodeWatcher, LeaseKeeper, MemoryStore, RecordWriter, RedisStore, takeOverNode,
  type CallRecord, type CallStore, type NodeInfo,
} from '@trapezoid/cluster';
import { generateCertificate, type CertificatePem, type MediaEngine } from '@trapezoid/media';
import type { ListeningPoint, TransportLayer, UserAgent } from '@trapezoid/sip';
import type { CallRegistry } from '../calls/call.js';
import type { GatewayConfig, TrunkConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import type { BindingStore } from '../registrar/bindings.js';
import { BrowserFlows } from './browser-flows.js';
import { Replicator } from './replicator.js';
import { restoreCall } from './restore.js';
import { handOffPeers } from './peers.js';
import { ServiceAddresses } from './service-address.js';
import { InviteLog, cancelRinging } from './ringing.js';
import { timedStore, type StoreTiming } from './timed-store.js';

export interface ClusterDeps {
  ua: UserAgent;
  transport: TransportLayer;
  calls: CallRegistry;
  bindings: BindingStore;
  trunk: (name: string) => TrunkConfig | undefined;
  log: Logger;
  /** Each store operation's latency (trapezoid_cluster_store_seconds). */
  storeTiming?: StoreTiming;
}

const CERTIFICATE_KEY = 'dtls-certificate';

export class ClusterNode {
  readonly flows: BrowserFlows;
  private keeper: LeaseKeeper | null = null;
  private writer: RecordWriter | null = null;
  private replicator: Replicator | null = null;
  private watcher: DeadNodeWatcher | null = null;
  private info: NodeInfo | null = null;
  private engine: MediaEngine | null = null;
  private readonly addresses: ServiceAddresses;
  private readonly takeovers = new Map<string, Promise<void>>();
  private invites: InviteLog | null = null;
  private stopped = false;
  /** Set by handOff(): stop() then gives up the lease but leaves the node for a peer to take over. */
  private leaving = false;

  private constructor(readonly store: CallStore, private readonly config: GatewayConfig, private readonly deps: ClusterDeps, readonly certificate: CertificatePem) {
    this.flows = new BrowserFlows(deps.bindings, config.cluster.browserReconnectWait * 1000);
    this.addresses = new ServiceAddresses(deps.transport, config.listeners, deps.log);
  }

  /** Opens the store and settles the cluster's DTLS certificate (the media workers need it first). */
  static async open(config: GatewayConfig, deps: ClusterDeps): Promise<ClusterNode> {
    const c = config.cluster;
    const backend: CallStore = c.redis ? await ClusterNode.connectRedis(c) : new MemoryStore();
    const store = deps.storeTiming ? timedStore(backend, deps.storeTiming) : backend;
    try {
      let certificate: CertificatePem;
      if (c.certificate) {
        certificate = { certPem: readFileSync(c.certificate.cert, 'utf8'), keyPem: readFileSync(c.certificate.key, 'utf8') };
      } else {
        // Generated once for the whole cluster: the first node's wins, the others take it.
        const made = JSON.stringify(await generateCertificate());
        certificate = JSON.parse(await store.shared(CERTIFICATE_KEY, made)) as CertificatePem;
      }
      return new ClusterNode(store, config, deps, certificate);
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** The Redis store of cluster.redis; an unreachable or refusing server is an error naming the key. */
  private static async connectRedis(c: GatewayConfig['cluster']): Promise<CallStore> {
    const r = c.redis!;
    try {
      return await RedisStore.connect({
        url: r.url, prefix: r.prefix, commandTimeoutMs: r.commandTimeout * 1000,
        ...(r.username !== undefined ? { username: r.username } : {}),
        ...(r.password !== undefined ? { password: r.password } : {}),
        ...(r.tls ? {
          tls: {
            ...(r.tls.ca ? { ca: readFileSync(r.tls.ca) } : {}),
            ...(r.tls.cert ? { cert: readFileSync(r.tls.cert) } : {}),
            ...(r.tls.key ? { key: readFileSync(r.tls.key) } : {}),
          },
        } : {}),
      }, r.connectTimeout * 1000);
    } catch (err) {
      throw new Error(`cluster.redis.url: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  get owner(): string | undefined {
    return this.info?.owner;
  }

  get serviceAddress(): string {
    return this.config.cluster.serviceAddress ?? this.config.media.address;
  }

  /** Takes the lease and starts replicating, once the listeners and the media engine are up. */
  async join(listening: ListeningPoint[], engine: MediaEngine): Promise<void> {
    this.engine = engine;
    const c = this.config.cluster;
    const node = c.node ?? hostname();
    const address = this.serviceAddress;
    this.info = {
      node, owner: `${node}#${randomBytes(4).toString('hex')}`, serviceAddress: address, startedAt: Date.now(),
      listeners: listening.filter((l) => l.address === address).map((l) => ({ protocol: l.protocol, address: l.address, port: l.port })),
    };
    await this.takeLease();
    const writer = new RecordWriter(this.store, { lease: () => this.keeper?.lease ?? null, endedTtlMs: c.endedTtl * 1000 });
    writer.on('refused', (e: { id: string; reason: string; owner?: string }) => {
      const call = this.deps.calls.get(e.id);
      if (!call || e.reason === 'lease') return;
      call.log.warn('the store refused this node\'s record: the call moved', { event: 'call-fenced', reason: e.reason, owner: e.owner });
      void call.handOver(`record refused (${e.reason})`);
    });
    writer.on('error', (err: unknown) => this.deps.log.error('call record write failed', { event: 'replication-error', error: String(err) }));
    this.writer = writer;
    // Only where another node could end a ringing call: the heads of the INVITEs sent.
    if (this.store.kind === 'redis') this.invites = new InviteLog(this.deps.transport);
    const invites = this.invites;
    // Records serve a survivor: a node alone in memory has none to read them, so it keeps
    // none (each would cost a media export and a write per answer, DTLS and end).
    if (this.store.kind === 'redis') {
      this.replicator = new Replicator({
        ...(invites ? { pendingInvite: (call) => invites.get(call.record.bCallId) } : {}),
        calls: this.deps.calls, writer, log: this.deps.log,
        checkpointMs: c.checkpointInterval * 1000, serviceAddress: address, bindings: this.deps.bindings,
      });
    }
    this.deps.calls.on('ended', (call) => this.flows.forget(call.id));
    this.deps.calls.on('handedOver', (call) => this.flows.forget(call.id));
    if (this.store.kind === 'redis' && c.takeover) {
      this.watcher = new DeadNodeWatcher(this.store, () => this.info!.owner, { intervalMs: c.lease.renew * 1000, graceMs: c.lease.ttl * 1000 });
      this.watcher.on('dead', (n: NodeInfo) => void this.takeOver(n));
      this.watcher.start();
    }
    this.deps.log.info('cluster joined', {
      event: 'cluster-joined', store: this.store.kind, owner: this.info.owner, serviceAddress: address, listeners: this.info.listeners,
      // Every node the same: the a=fingerprint of a call's SDP holds wherever it is carried on.
      dtlsFingerprint: new X509Certificate(this.certificate.certPem).fingerprint256,
    });
  }

  private async takeLease(): Promise<void> {
    const c = this.config.cluster;
    const keeper = new LeaseKeeper(this.store, this.info!, { ttlMs: c.lease.ttl * 1000, renewMs: c.lease.renew * 1000 });
    keeper.on('suspended', () => this.silenceAll(true));
    keeper.on('resumed', () => this.silenceAll(false));
    keeper.on('reacquired', () => {
      this.deps.log.warn('lease taken again (the store had lost it): rewriting every call record', { event: 'lease-reacquired' });
      this.watcher?.holdOff();
      this.writer?.catchUp();
    });
    keeper.on('fenced', () => void this.fenced());
    await keeper.start();
    this.keeper = keeper;
  }

  private silenceAll(on: boolean): void {
    this.deps.log.warn(on ? 'lease not renewed in time: calls silenced until it is' : 'lease renewed: calls resumed', {
      event: on ? 'lease-suspended' : 'lease-resumed', calls: this.deps.calls.live,
    });
    for (const call of this.deps.calls.list()) {
      call.suspended = on;
      void call.media?.silence(on).catch(() => undefined);
    }
  }

  /** Another node declared this one dead and took its calls: let them go, then start afresh. */
  private async fenced(): Promise<void> {
    const calls = this.deps.calls.list();
    this.deps.log.error('this node was declared dead: its calls belong to another node now', { event: 'node-fenced', owner: this.info?.owner, calls: calls.length });
    await Promise.all(calls.map((c) => c.handOver('node fenced')));
    if (this.stopped || !this.info) return;
    // A new incarnation: a fresh owner id and lease, so new calls replicate again.
    this.info = { ...this.info, owner: `${this.info.node}#${randomBytes(4).toString('hex')}`, startedAt: Date.now() };
    await this.takeLease().catch((err: unknown) => this.deps.log.error('cannot take a new lease', { event: 'lease-error', error: String(err) }));
  }

  /** Resolves once any takeover under way is done (an in-dialog request may be for one of its calls). */
  async settled(): Promise<void> {
    await Promise.all([...this.takeovers.values()]);
  }

  private takeOver(dead: NodeInfo): Promise<void> {
    let run = this.takeovers.get(dead.owner);
    if (!run) {
      run = this.runTakeover(dead).finally(() => this.takeovers.delete(dead.owner));
      this.takeovers.set(dead.owner, run);
    }
    return run;
  }

  private async runTakeover(dead: NodeInfo): Promise<void> {
    const lease = this.keeper?.lease;
    const engine = this.engine;
    if (!lease || !engine || this.stopped) return;
    const log = this.deps.log;
    const startedAt = performance.now();
    let outcome;
    try {
      outcome = await takeOverNode(this.store, lease, dead, () => this.addresses.bind(dead), () => this.addresses.unbind(dead),
        this.config.cluster.lease.ttl * 1000);
    } catch (err) {
      log.warn('takeover attempt failed', { event: 'takeover-error', node: dead.owner, error: String(err) });
      await this.addresses.unbind(dead).catch(() => undefined);
      return;
    }
    if (!outcome.taken) return;
    let restored = 0;
    await Promise.all(outcome.calls.map(async (record) => {
      if (record.state !== 'answered') this.endRinging(record);
      else if (await this.restoreOne(record, engine)) restored++;
    }));
    log.info('took over a dead node', {
      event: 'takeover', node: dead.owner, address: dead.serviceAddress, calls: outcome.calls.length, restored,
      ms: Math.round(performance.now() - startedAt),
    });
  }

  /** A call that was still ringing: not carried over, ended cleanly (ringing.ts), one end here. */
  private endRinging(record: CallRecord): void {
    const pending = record.b.pendingInvite;
    if (pending) void cancelRinging(this.deps.transport, pending, record.serviceAddress, this.deps.log);
    this.deps.log.info('a dead node\'s ringing call ended', { event: 'call-ringing-ended', callId: record.id, canceled: pending !== undefined });
    this.writer!.adopt(record.id, record.version);
    this.writer!.write({ ...record, state: 'ended', endedAt: Date.now(), endStatus: 487, endReason: 'its node died while it rang', media: null });
  }

  private async restoreOne(record: CallRecord, engine: MediaEngine): Promise<boolean> {
    const writer = this.writer!;
    writer.adopt(record.id, record.version);
    try {
      const call = await restoreCall(record, {
        ua: this.deps.ua, engine, calls: this.deps.calls, flows: this.flows, trunk: this.deps.trunk, log: this.deps.log,
        advertised: this.advertised(),
      });
      this.replicator!.adopted(call, record);
      return true;
    } catch (err) {
      // The call cannot go on here: its record ends (one end per call, here).
      this.deps.log.error('call could not be restored', { event: 'restore-failed', callId: record.id, error: String(err) });
      writer.write({ ...record, state: 'ended', endedAt: Date.now(), endStatus: 500, endReason: `restore failed: ${String(err)}`, media: null });
      return false;
    }
  }

  /** What SDP named for each side's media, as call setup chose it (calls/context.ts). */
  private advertised(): { browser?: string; trunk?: string } {
    const m = this.config.media;
    const pick = (side: { advertise?: string | undefined } | undefined): string | undefined => (side ? side.advertise : m.publicAddress);
    const browser = pick(m.interfaces?.browser);
    const trunk = pick(m.interfaces?.trunk);
    return { ...(browser !== undefined ? { browser } : {}), ...(trunk !== undefined ? { trunk } : {}) };
  }

  /**
   * The drain deadline on a node with a live peer in a shared store: the calls still live
   * are let go here without a word (no BYE, no end record, their records kept) and are
   * the peer's to take over once stop() gives up the lease, exactly as after a crash but
   * without waiting out the TTL. Returns how many calls were left, or null when there is
   * nobody to leave them to (memory store, no peer that renewed its lease lately, takeover
   * off): end them then.
   */
  async handOff(): Promise<number | null> {
    if (this.store.kind !== 'redis' || !this.config.shutdown.handOff || !this.info || this.stopped) return null;
    const self = this.info.owner;
    let peers: string[];
    try {
      // Not a peer whose lease merely has yet to lapse: one that crashed would lose the calls.
      const lease = { ttlMs: this.config.cluster.lease.ttl * 1000, renewMs: this.config.cluster.lease.renew * 1000 };
      peers = handOffPeers(await this.store.nodes(), self, lease).map((n) => n.node);
    } catch (err) {
      this.deps.log.warn('cannot see the other nodes: ending the calls instead of leaving them', { event: 'handoff-error', error: String(err) });
      return null;
    }
    if (peers.length === 0) return null;
    this.leaving = true;
    // No takeover by a node on its way out.
    this.watcher?.stop();
    const calls = this.deps.calls.list();
    this.deps.log.warn('drain deadline: leaving the calls still live to a peer', { event: 'handoff', calls: calls.length, peers });
    await Promise.all(calls.map((c) => c.handOver('drain deadline: left to a peer node')));
    return calls.length;
  }

  /** True once handOff() left the calls to a peer: the sockets must close before the lease goes. */
  get handingOff(): boolean {
    return this.leaving;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.flows.close();
    this.invites?.close();
    this.watcher?.stop();
    this.replicator?.close();
    const writer = this.writer;
    if (writer) await Promise.race([writer.idle(), new Promise((r) => setTimeout(r, 1000))]);
    writer?.close();
    // Gone cleanly: no lease, no node entry, so nobody takes over calls that ended. Or,
    // leaving the calls to a peer, the lease only: the node is dead to the others at once.
    await this.keeper?.release(this.leaving);
    await this.store.close();
  }
}
