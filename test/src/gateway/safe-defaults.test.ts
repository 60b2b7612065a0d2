// Issue 8 item 9 acceptance, safe defaults: the echo endpoint does not listen unless a
// route uses it, and when it does it answers the gateway only; a UDP request whose Via
// says TCP is answered over UDP and no connection is opened toward the Via; the demo
// page's /config.json hands out the demo password only on a loopback HTTP listener,
// and a demo reachable beyond loopback is warned about. After each refusal a valid
// client (JsSIP in Node) is still served: its call to echo hears its RTP come back.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { CALLER, assertReleasedAndStop, startGateway, udpPort, type TestGateway } from './harness.js';
import { newBranch, requestText } from './raw-sip.js';
import { callFails, callWithWerift, echoed, registerUa, stopUa, type JsSipUA } from './jssip-caller.js';

const PORTS = { min: 19520, max: 19559 };
/** One media worker: these tests make one call at a time. */
const WORKERS = 1;

/**
 * Local ports of the UDP sockets this process (any thread) has open, from /proc, outside
 * the media range (media workers may bind a pool of legs ahead of calls).
 */
function ownUdpPorts(): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch { /* closed meanwhile */ }
  }
  const ports: number[] = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const port = f.length > 9 && inodes.has(f[9]!) ? parseInt(f[1]!.split(':')[1]!, 16) : -1;
      if (port >= 0 && (port < PORTS.min || port > PORTS.max)) ports.push(port);
    }
  }
  return ports.sort((a, b) => a - b);
}

/** An unauthenticated INVITE whose Via names `host:port` over `viaTransport`. */
function invite(viaTransport: string, host: string, port: number, to: number): string {
  return requestText({
    method: 'INVITE', uri: `sip:1000@127.0.0.1:${to}`, via: `SIP/2.0/${viaTransport} ${host}:${port};branch=${newBranch()}`,
    from: `<sip:mallory@${host}>;tag=${randomBytes(4).toString('hex')}`, to: '<sip:1000@127.0.0.1>',
    callId: randomBytes(8).toString('hex'), cseq: 1, headers: [`Contact: <sip:mallory@${host}:${port}>`],
  });
}

describe('safe defaults', { timeout: 90_000 }, () => {
  let gw: TestGateway | null = null;
  let caller: JsSipUA | null = null;
  after(async () => {
    if (caller) await stopUa(caller);
    await gw?.stop();
  });
  async function release(passed: boolean): Promise<void> {
    if (caller) await stopUa(caller);
    caller = null;
    const g = gw;
    gw = null;
    if (g) await assertReleasedAndStop(g, passed);
  }

  it('no route to echo: the echo endpoint binds no socket and "echo" is not found; a demo page beyond loopback serves no password and is warned about', async () => {
    let passed = false;
    try {
      const before = ownUdpPorts();
      gw = await startGateway({
        ports: PORTS, workers: WORKERS,
        edit: (raw) => {
          raw.routes = [{ match: '^\\d+$', trunk: 'sipp' }];
          raw.http = { address: '0.0.0.0', port: 0, demo: true };
        },
      });
      const added = ownUdpPorts().filter((p) => !before.includes(p));
      assert.deepEqual(added, [udpPort(gw)], 'only the SIP UDP listener: no echo endpoint');

      const url = new URL('/config.json', `http://127.0.0.1:${new URL(gw.url!).port}/`);
      const open = await (await fetch(url)).json() as Record<string, unknown>;
      assert.equal(open.demoPassword, undefined, 'no password from a listener others can reach');
      assert.equal(open.demoUser, undefined);
      const warned = gw.events.events.find((e) => e.event === 'demo-exposed');
      assert.ok(warned, 'start-up warned that the demo is reachable beyond loopback');
      assert.equal(warned.level, 'warn');

      caller = await registerUa(gw);
      assert.deepEqual(await callFails(caller, 'echo'), { status: 404, reason: 'No route for echo' });
      passed = true;
    } finally {
      await release(passed);
    }
  });

  it('with its route: a stranger\'s INVITE straight to the echo endpoint is refused 403; the gateway\'s call to echo hears its RTP', async () => {
    let passed = false;
    const stranger = createSocket('udp4');
    try {
      const before = ownUdpPorts();
      gw = await startGateway({ ports: PORTS, workers: WORKERS });
      const echoPort = ownUdpPorts().filter((p) => !before.includes(p) && p !== udpPort(gw!));
      assert.equal(echoPort.length, 1, `the echo endpoint has one SIP socket: ${echoPort.join(', ')}`);
      await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.2', resolve));
      const reply = new Promise<string>((resolve) => stranger.once('message', (d) => resolve(d.toString('latin1'))));
      stranger.send(invite('UDP', '127.0.0.2', stranger.address().port, echoPort[0]!), echoPort[0]!, '127.0.0.1');
      assert.match(await reply, /^SIP\/2\.0 403 Echo answers the gateway only\r\n/);

      caller = await registerUa(gw);
      const call = await callWithWerift(caller, 'echo');
      const rtp = await echoed(call, 25);
      assert.ok(rtp.received >= 25, `echoed RTP came back through the gateway: ${JSON.stringify(rtp)}`);
      call.session.terminate();
      passed = true;
    } finally {
      stranger.close();
      await release(passed);
    }
  });

  it('a UDP INVITE whose Via says TCP is answered over UDP (407) and no TCP connection is opened toward the Via', async () => {
    let passed = false;
    let udp: Socket | null = null;
    const accepted: string[] = [];
    const tcp = createServer((c) => { accepted.push(`${c.remoteAddress}:${c.remotePort}`); c.destroy(); });
    try {
      gw = await startGateway({ ports: PORTS, workers: WORKERS });
      const local = await (await fetch(new URL('/config.json', gw.url))).json() as Record<string, unknown>;
      assert.equal(local.demoPassword, CALLER.password, 'the loopback demo signs in without typing');
      assert.equal(gw.events.events.some((e) => e.event === 'demo-exposed'), false);
      // The attacker's address and port, on UDP and TCP alike: the Via names it with TCP.
      udp = createSocket('udp4');
      await new Promise<void>((resolve) => udp!.bind(0, '127.0.0.2', resolve));
      const port = udp.address().port;
      await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(port, '127.0.0.2', resolve); });
      const replies: string[] = [];
      udp.on('message', (d) => replies.push(d.toString('latin1').split('\r\n')[0]!));
      for (const t of ['TCP', 'TLS']) udp.send(invite(t, '127.0.0.2', port, udpPort(gw)), udpPort(gw), '127.0.0.1');
      for (const until = Date.now() + 3_000; replies.length < 2 && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(replies, ['SIP/2.0 407 Proxy Authentication Required', 'SIP/2.0 407 Proxy Authentication Required'], 'answered over UDP, once each');
      assert.deepEqual(accepted, [], 'no connection toward the Via\'s address');

      caller = await registerUa(gw);
      const call = await callWithWerift(caller, 'echo');
      assert.ok((await echoed(call, 10)).received >= 10);
      call.session.terminate();
      passed = true;
    } finally {
      udp?.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await release(passed);
    }
  });
});
