// Issue 10 acceptance, silent death and split brain (the namespaces variant). Three
// network namespaces made here: fo-p holds the "rest of the world" (a bridge, Redis,
// SIPp as the trunk, the caller: JsSIP + werift in a process of its own), fo-a and fo-b
// the two gateway nodes, each with its own address; the service address 10.77.0.10 sits
// on A. A is stopped with SIGSTOP (no FIN, no socket closed) and the address moved to B
// the way VRRP moves it (removed from A's interface, added to B's, neighbour caches
// refreshed); B takes the call over. Then A is resumed: it must stop forwarding and
// answering for the call (its lease is gone, the store says it was fenced), which stays
// on B. Every namespace is removed at teardown. Media ports 13400-13499, Redis 13903.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { RedisServerProcess } from '@trapezoid/cluster';
import { REPO_ROOT, startSipp, type SippRun } from '../sip/sipp.js';
import { sleep } from '../gateway/harness.js';
import { GatewayNode, run } from './nodes.js';

const NET = '10.77.0';
const PEER = `${NET}.254`;
const A_OWN = `${NET}.1`;
const B_OWN = `${NET}.2`;
const SERVICE = `${NET}.10`;
const PORTS = { min: 13400, max: 13499 };
const NS = { peer: 'fo-p', a: 'fo-a', b: 'fo-b' } as const;

async function ip(...args: string[]): Promise<void> {
  await run(['ip', ...args]);
}

/** fo-p with a bridge at .254; fo-a and fo-b each a veth on it with their own address. */
async function makeNetwork(): Promise<void> {
  await removeNetwork();
  for (const ns of Object.values(NS)) {
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  await ip('-n', NS.peer, 'link', 'add', 'fo-br', 'type', 'bridge');
  await ip('-n', NS.peer, 'addr', 'add', `${PEER}/24`, 'dev', 'fo-br');
  await ip('-n', NS.peer, 'link', 'set', 'fo-br', 'up');
  for (const [ns, own] of [[NS.a, A_OWN], [NS.b, B_OWN]] as const) {
    await ip('-n', NS.peer, 'link', 'add', `${ns}-h`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await ip('-n', NS.peer, 'link', 'set', `${ns}-h`, 'master', 'fo-br', 'up');
    await ip('-n', ns, 'addr', 'add', `${own}/24`, 'dev', 'eth0');
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }
  await ip('-n', NS.a, 'addr', 'add', `${SERVICE}/24`, 'dev', 'eth0');
}

async function removeNetwork(): Promise<void> {
  for (const ns of Object.values(NS)) await ip('netns', 'del', ns).catch(() => undefined);
}

/** What VRRP does when A stops advertising: the address leaves A and appears on B, announced. */
async function moveServiceAddress(): Promise<void> {
  await ip('-n', NS.a, 'addr', 'del', `${SERVICE}/24`, 'dev', 'eth0');
  await ip('-n', NS.b, 'addr', 'add', `${SERVICE}/24`, 'dev', 'eth0');
  // The gratuitous ARP's effect on the peers.
  await ip('-n', NS.peer, 'neigh', 'flush', 'dev', 'fo-br');
}

/** The caller process (caller-process.ts) in fo-p, its JSON lines as a running state. */
class Caller {
  received = 0;
  ended: string | null = null;
  confirmed = false;
  error: string | null = null;
  readonly proc: ChildProcess;
  constructor(wsUrl: string, number: string) {
    this.proc = spawn('ip', ['netns', 'exec', NS.peer, process.execPath, join(REPO_ROOT, 'test/dist/cluster/caller-process.js'), wsUrl, number, PEER], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { received?: number; ended?: string; confirmed?: boolean; error?: string };
      if (m.received !== undefined) this.received = m.received;
      if (m.ended !== undefined) this.ended = m.ended;
      if (m.confirmed) this.confirmed = true;
      if (m.error !== undefined) this.error = m.error;
    });
  }
  async until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
    for (const end = Date.now() + ms; !pred();) {
      if (this.error) throw new Error(`caller: ${this.error}`);
      if (Date.now() > end) throw new Error(`caller: ${what} not within ${ms} ms (received ${this.received})`);
      await sleep(100);
    }
  }
  async receives(n: number, ms = 10_000): Promise<void> {
    const from = this.received;
    await this.until(() => this.received >= from + n, `${n} more packets`, ms);
  }
  async quit(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin!.write('quit\n');
    await Promise.race([gone, sleep(3000)]);
    this.proc.kill('SIGKILL');
  }
}

describe('silent death and split brain (network namespaces, the service address moved like VRRP)', { timeout: 120_000 }, () => {
  const redis = new RedisServerProcess({ port: 13903, address: PEER, netns: NS.peer });
  before(async () => {
    await makeNetwork();
    await redis.start();
  });
  after(async () => {
    await redis.kill();
    await removeNetwork();
  });

  it('A stopped (SIGSTOP) and its address moved: B carries the call on; A resumed stops forwarding and answering for it, the call stays on B', { timeout: 90_000 }, async () => {
    const trunkPort = 13480;
    let sipp: SippRun | null = null;
    let a: GatewayNode | null = null;
    let b: GatewayNode | null = null;
    let caller: Caller | null = null;
    let passed = false;
    try {
      // SIPp hangs up 15 s after answering: after the takeover and A's return.
      sipp = await startSipp({
        netns: NS.peer, address: PEER, port: trunkPort, mediaPort: 13490,
        args: ['-sf', join(REPO_ROOT, 'test/testdata/sipp/uas-bye-after-pause.xml'), '-d', '15000', '-rtp_echo', '-m', '1'], trace: true, timeoutSec: 60,
      });
      const common = {
        redisUrl: `redis://${PEER}:13903`, trunkPort, trunkAddress: PEER, ports: PORTS,
        // The browser cannot tell its WebSocket died silently: requests toward it wait briefly.
        cluster: { browserReconnectWait: 2 },
      };
      a = await GatewayNode.start({ ...common, name: 'a', address: SERVICE, httpAddress: A_OWN, netns: NS.a });
      b = await GatewayNode.start({ ...common, name: 'b', address: B_OWN, netns: NS.b });
      const ws = await a.waitFor((e) => e.event === 'listening' && e.protocol === 'ws');
      caller = new Caller(`ws://${SERVICE}:${Number(ws.port)}`, '1000');
      await caller.until(() => caller!.confirmed, 'the call');
      await caller.receives(50);

      a.signal('SIGSTOP');
      await moveServiceAddress();
      const stoppedAt = Date.now();
      const t = await b.waitFor((e) => e.event === 'takeover', 15_000);
      assert.deepEqual([t.calls, t.restored], [1, 1], JSON.stringify(t));
      console.log(`B took over ${Number(t.at) - stoppedAt} ms after A stopped`);
      await caller.receives(100);

      a.signal('SIGCONT');
      await a.waitFor((e) => e.event === 'node-fenced', 10_000);
      await a.waitFor((e) => e.event === 'call-handed-over', 10_000);
      const ha = await a.waitHealth((h) => h.liveCalls === 0 && h.portsInUse === 0, 5000);
      assert.deepEqual([ha.liveCalls, ha.portsInUse], [0, 0], `A let the call go: ${JSON.stringify(ha)}`);
      assert.equal(a.events.some((e) => e.event === 'call-ended'), false, 'A did not end the call (no BYE, no CDR from A)');
      // The call is B's and goes on.
      assert.equal((await b.health()).liveCalls, 1);
      await caller.receives(50);

      // SIPp hangs up: its BYE reaches B, which ends the call there (and only there).
      const r = await sipp.done;
      assert.equal(r.code, 0, `SIPp's BYE was answered 200: ${r.stdout.slice(-1500)}`);
      await b.waitFor((e) => e.event === 'call-ended', 15_000);
      assert.equal(a.events.some((e) => e.event === 'call-ended'), false, 'one end per call: B\'s');
      passed = true;
    } finally {
      await caller?.quit();
      await a?.kill();
      try {
        await b?.assertReleasedAndKill(passed);
      } finally {
        await sipp?.stop();
      }
    }
  });
});
