// Issue 11 acceptance, packaging, checked without a Docker engine or a cluster (none
// runs here): the compose file validates against the Compose Specification's schema
// (committed in infra/compose with its source), the gateway configurations it and the
// Kubernetes manifests carry are valid for this gateway, the manifests have the probes,
// ports, drain hook and grace the gateway needs, the Dockerfile builds in two stages as
// a non-root user with a health check whose command is run here against a live gateway,
// the systemd unit stops within the drain, and every query of the Grafana dashboard
// names a metric the gateway exports.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { configSchema } from '@trapezoid/gateway';
import { REPO_ROOT } from '../sip/sipp.js';
import { assertReleasedAndStop, startGateway, type TestGateway } from '../gateway/harness.js';
import { admin } from './ops-harness.js';

const INFRA = join(REPO_ROOT, 'infra');
const PORTS = { min: 14950, max: 14999 };
const read = (p: string): string => readFileSync(join(INFRA, p), 'utf8');

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v ?? {}) as Obj;

/** The gateway configuration in `text` is valid (the same check as `trapezoid check-config`). */
function assertValidConfig(text: string, where: string): ReturnType<typeof configSchema.parse> {
  const r = configSchema.safeParse(parse(text));
  assert.ok(r.success, `${where}: ${r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

describe('packaging', { timeout: 60_000 }, () => {
  let gw: TestGateway | null = null;
  after(async () => { await gw?.stop(); });

  it('compose: valid against the Compose Specification schema; two gateways, Redis and a SIPp trunk', () => {
    const schema = JSON.parse(read('compose/compose-spec.schema.json')) as Obj;
    // validateSchema off: the file names its meta-schema without the trailing '#' Ajv keys it by.
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    const validate = ajv.compile(schema);
    const compose = parse(read('compose/compose.yaml'), { merge: true }) as Obj;
    assert.ok(validate(compose), `compose.yaml: ${ajv.errorsText(validate.errors)}`);
    // The schema is not a rubber stamp: a wrong type is caught.
    assert.equal(validate({ services: { x: { ports: 'not-a-list' } } }), false);

    const services = obj(compose.services);
    assert.deepEqual(Object.keys(services).sort(), ['gateway-a', 'gateway-b', 'redis', 'trunk']);
    for (const name of ['gateway-a', 'gateway-b']) {
      const s = obj(services[name]);
      assert.equal(obj(s.build).dockerfile, 'infra/docker/Dockerfile');
      assert.equal(s.network_mode, 'host', 'media port ranges need the host network');
      const target = (s.configs as Obj[])[0]!;
      const file = obj(obj(compose.configs)[target.source as string]).file as string;
      const config = assertValidConfig(read(join('compose', file)), file);
      assert.ok(config.cluster.redis, `${name} joins the cluster through Redis`);
      assert.ok(config.shutdown.drainSeconds <= Number(/^(\d+)s$/.exec(String(s.stop_grace_period))![1]), 'stop_grace_period covers the drain');
    }
    assert.match(JSON.stringify(obj(services.trunk).command), /"-sn","uas"/);
    assert.match(read('compose/SOURCE.md'), /compose-spec\/compose-spec.*commit\s+[0-9a-f]{40}/s, 'the schema\'s source is noted');
  });

  it('Kubernetes: hostNetwork, readiness from /readyz, liveness /healthz, preStop drain, grace matching the drain', () => {
    const docs = [...parseAllDocuments(read('k8s/gateway.yaml')), ...parseAllDocuments(read('k8s/redis.yaml'))].map((d) => d.toJS() as Obj);
    assert.ok(docs.every((d) => typeof d.apiVersion === 'string' && typeof d.kind === 'string' && obj(d.metadata).name), 'every document is a Kubernetes object');
    const ds = docs.find((d) => d.kind === 'DaemonSet')!;
    const pod = obj(obj(obj(ds.spec).template).spec);
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.equal(obj(pod.securityContext).runAsNonRoot, true);
    const c = (pod.containers as Obj[])[0]!;
    const ports = c.ports as { name: string; containerPort: number; protocol: string }[];
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    const config = assertValidConfig(String(obj(cm.data)['gateway.yaml']), 'ConfigMap gateway.yaml');
    // Every listener of the configuration is a declared port, and so is the admin listener.
    for (const l of config.listeners) {
      assert.ok(ports.some((p) => p.containerPort === l.port && p.protocol === (l.protocol === 'udp' ? 'UDP' : 'TCP')), `${l.protocol} ${l.port} is declared`);
    }
    const adminPort = ports.find((p) => p.name === 'admin')!;
    assert.equal(adminPort.containerPort, config.admin.port);
    assert.deepEqual(obj(obj(c.readinessProbe).httpGet), { path: '/readyz', port: 'admin' });
    assert.deepEqual(obj(obj(c.livenessProbe).httpGet), { path: '/healthz', port: 'admin' });
    const preStop = obj(obj(obj(c.lifecycle).preStop).exec).command as string[];
    assert.deepEqual(preStop.slice(0, 3), ['node', 'apps/gateway/dist/main.js', 'drain']);
    const grace = pod.terminationGracePeriodSeconds as number;
    assert.ok(grace >= config.shutdown.drainSeconds && grace <= config.shutdown.drainSeconds + 15, `terminationGracePeriodSeconds ${grace} matches drainSeconds ${config.shutdown.drainSeconds}`);
    const env = (c.env as { name: string }[]).map((e) => e.name);
    assert.ok(env.includes('TRAPEZOID_ADMIN__ADDRESS'), 'the admin listener binds the pod address the kubelet probes');
    assert.ok(docs.some((d) => d.kind === 'PodDisruptionBudget'));
  });

  it('Dockerfile: two stages, native addon built, non-root, health check on /healthz that works against a gateway', async () => {
    const text = read('docker/Dockerfile').replace(/\\\n\s*/g, ' ');
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const stages = lines.filter((l) => /^FROM /i.test(l));
    assert.equal(stages.length, 2, 'multi-stage');
    assert.match(stages[0]!, / AS build$/i);
    const finalStage = lines.slice(lines.indexOf(stages[1]!));
    const buildStage = lines.slice(0, lines.indexOf(stages[1]!));
    const runs = buildStage.filter((l) => l.startsWith('RUN ')).map((l) => l.slice(4));
    assert.ok(runs.some((r) => r.includes('scripts/build-native.mjs --strict')), 'the native addon is built (and must build) in the image');
    // Every script a RUN line names exists, and every workspace's manifest is copied before npm ci.
    for (const r of runs) for (const m of r.matchAll(/node (scripts\/\S+)/g)) assert.ok(existsSync(join(REPO_ROOT, m[1]!)), `${m[1]} exists`);
    for (const r of runs) assert.equal(spawnSync('bash', ['-n', '-c', r]).status, 0, `RUN ${r} is valid shell`);
    const workspaces = [...readdirSync(join(REPO_ROOT, 'libs')).map((d) => `libs/${d}`), ...readdirSync(join(REPO_ROOT, 'apps')).map((d) => `apps/${d}`)]
      .filter((d) => existsSync(join(REPO_ROOT, d, 'package.json')));
    for (const w of workspaces) assert.ok(buildStage.includes(`COPY ${w}/package.json ${w}/`), `the build stage copies ${w}/package.json before npm ci`);
    assert.ok(finalStage.some((l) => /^COPY --from=build /.test(l)), 'the runtime stage takes the build output');
    const user = finalStage.find((l) => l.startsWith('USER '));
    assert.ok(user && !/^USER (root|0)(:|$)/.test(user.slice(5)), `runs as a non-root user: ${user}`);
    const health = finalStage.find((l) => l.startsWith('HEALTHCHECK '))!;
    assert.match(health, /\/healthz/);
    const cmd = /CMD (.*)$/.exec(health)![1]!;

    // The health check's own command, run as the image runs it (a shell), against a live
    // gateway's admin listener: healthy while it runs, unhealthy once it is gone.
    const g = gw = await startGateway({ ports: PORTS });
    const port = new URL(g.ops.adminUrl!).port;
    // Asynchronously: the gateway answering the check lives in this process.
    const run = (): Promise<number | null> => new Promise((resolve) => {
      execFile('sh', ['-c', cmd], { env: { PATH: process.env.PATH ?? '', TRAPEZOID_ADMIN__PORT: port }, timeout: 20_000 }, (err) => {
        resolve(err ? (typeof err.code === 'number' ? err.code : null) : 0);
      });
    });
    assert.equal(await run(), 0, 'healthy');
    gw = null;
    await assertReleasedAndStop(g);
    assert.equal(await run(), 1, 'unhealthy when the gateway is gone');
  });

  it('systemd: stops with SIGTERM within the drain time, reloads with SIGHUP, runs unprivileged', () => {
    const unit = read('systemd/trapezoid.service');
    const key = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(unit)?.[1];
    assert.match(key('ExecStart') ?? '', /apps\/gateway\/dist\/main\.js --config /);
    assert.equal(key('KillSignal'), 'SIGTERM');
    assert.ok(Number(key('TimeoutStopSec')) >= configSchema.parse({}).shutdown.drainSeconds, 'TimeoutStopSec covers the default drain');
    assert.match(key('ExecReload') ?? '', /kill -HUP/);
    assert.equal(key('User'), 'trapezoid');
    assert.equal(key('NoNewPrivileges'), 'true');
  });

  it('Grafana: every query names a metric the gateway exports', async () => {
    const dashboard = JSON.parse(read('grafana/trapezoid-dashboard.json')) as { panels: { title: string; targets: { expr: string }[] }[]; templating: { list: { query?: unknown }[] } };
    const g = gw = await startGateway({ ports: PORTS });
    const exported = new Set<string>();
    for (const line of (await admin(g, 'GET', '/metrics')).text.split('\n')) {
      const m = /^# TYPE (\S+) (\S+)/.exec(line);
      if (!m) continue;
      exported.add(m[1]!);
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m[1]! + s);
    }
    gw = null;
    await assertReleasedAndStop(g);
    const exprs = [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dashboard.templating.list.map((v) => String(v.query ?? ''))];
    const named = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(trapezoid_[a-z0-9_]+)\b/g)].map((m) => m[1]!)));
    assert.ok(named.size >= 25, `the dashboard covers the metrics: ${named.size}`);
    const missing = [...named].filter((n) => !exported.has(n));
    assert.deepEqual(missing, [], 'every metric a query names is exported');
    for (const p of dashboard.panels) assert.ok(p.targets.length > 0 && p.targets.every((t) => /trapezoid_/.test(t.expr)), `${p.title} queries trapezoid metrics`);
  });
});
