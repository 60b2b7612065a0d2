#!/usr/bin/env node
// A small UAS on libs/sip: answers REGISTER (200, bindings echoed with their
// expiry), INVITE (200 with an SDP answer; user "busy" gets 486), BYE and OPTIONS.
// It prints one JSON line when listening and one with its counters on "stats" (a
// line on stdin) and when it stops (SIGINT, SIGTERM, or its stdin pipe closed).
//
//   node libs/sip/dist/examples/uas.js --udp 5060 --tcp 5060 [--ws 8080]
//     [--address 127.0.0.1] [--t1 500] [--ring 0] [--auth alice:secret ...]
//     [--realm trapezoid] [--auth-algorithms SHA-256,MD5]
//
// Port 0 picks a free port; the "listening" line tells which.

import { fstatSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import {
  DigestServer, TransportLayer, UserAgent, parseUri, isSipUri,
  type Dialog, type DigestAlgorithm, type IncomingRequest, type SipMessage, type TransportProtocol, type UaCounters,
} from '../index.js';
import { flagNumber, flagString, parseFlags } from './args.js';
import { answerSdp } from './sdp-answer.js';

const USAGE = 'usage: uas.js [--udp PORT] [--tcp PORT] [--ws PORT] [--address 127.0.0.1] [--t1 MS] [--t2 MS] ' +
  '[--ring MS] [--auth USER:PASSWORD ...] [--realm REALM] [--auth-algorithms SHA-256,MD5]';

interface Counters {
  /** Requests and responses on the wire, retransmissions included, by method / status class. */
  wire: Record<string, number>;
  registers: number;
  invites: number;
  answered: number;
  rejected: number;
  challenged: number;
  /** Requests refused with 403 (wrong password, unknown user) or 400 (bad credentials). */
  authRejected: number;
  /** Accepted credentials by digest algorithm. */
  authenticated: Record<string, number>;
  acks: number;
  ackTimeouts: number;
  byes: number;
  cancels: number;
}

/** One "stats" or "stopped" line on stdout (test/src/sip reads it). */
export interface StatsLine extends Counters {
  event: 'stats' | 'stopped';
  ua: UaCounters;
  cpuUs: NodeJS.CpuUsage;
  uptimeMs: number;
  heapUsedMB: number;
  /** Event-loop delay since the previous stats line. */
  loopDelayMs: { p99: number; max: number };
}

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2));
  if (flags.has('help')) { console.log(USAGE); return; }
  const address = flagString(flags, 'address') ?? '127.0.0.1';
  const transport = new TransportLayer();
  const points = [];
  for (const protocol of ['udp', 'tcp', 'ws'] as const) {
    for (const port of flags.get(protocol) ?? []) {
      points.push(await transport.listen({ protocol, address, port: Number(port) }));
    }
  }
  if (points.length === 0) throw new Error('no listening point: give --udp, --tcp or --ws\n' + USAGE);
  const T1 = flagNumber(flags, 't1', 500);
  const ua = new UserAgent({
    transport, timers: { T1, T2: flagNumber(flags, 't2', Math.max(4000, T1)) },
    userAgentName: 'trapezoid-example-uas', contactUser: 'uas',
  });
  const ringMs = flagNumber(flags, 'ring', 0);
  const users = new Map<string, string>();
  for (const pair of flags.get('auth') ?? []) {
    const i = pair.indexOf(':');
    if (i <= 0) throw new Error(`--auth takes USER:PASSWORD, got ${pair}`);
    users.set(pair.slice(0, i), pair.slice(i + 1));
  }
  const digest = users.size === 0 ? undefined : new DigestServer({
    realm: flagString(flags, 'realm') ?? 'trapezoid',
    algorithms: (flagString(flags, 'auth-algorithms') ?? 'SHA-256,MD5').split(',') as DigestAlgorithm[],
    lookup: (username) => (users.has(username) ? { password: users.get(username)! } : undefined),
  });

  const c: Counters = {
    wire: {}, registers: 0, invites: 0, answered: 0, rejected: 0, challenged: 0, authRejected: 0,
    authenticated: {}, acks: 0, ackTimeouts: 0, byes: 0, cancels: 0,
  };
  transport.on('message', (m: SipMessage) => {
    const key = m.isRequest ? m.method : String(m.status);
    c.wire[key] = (c.wire[key] ?? 0) + 1;
  });
  ua.on('dialog', (d: Dialog) => {
    d.once('bye', () => { c.byes++; });
  });

  /** RFC 3261 §22.1: 401 with one challenge per algorithm, or the verdict's status. */
  async function authorized(req: IncomingRequest): Promise<boolean> {
    if (!digest) return true;
    const m = req.message;
    const v = await digest.verify({ method: m.method, uri: m.uri, authorization: m.headers.get('authorization') });
    if (v.ok) {
      const alg = String(v.credentials.algorithm);
      c.authenticated[alg] = (c.authenticated[alg] ?? 0) + 1;
      return true;
    }
    if (v.status === 401) {
      c.challenged++;
      req.reply(401, { headers: { 'WWW-Authenticate': digest.challenge(v.stale) } });
    } else {
      c.authRejected++;
      // v.reason tells an unknown user from a wrong password: the log may say it, the wire must not.
      req.reply(v.status);
    }
    return false;
  }

  ua.onRequest('REGISTER', async (req) => {
    c.registers++;
    if (!(await authorized(req))) return;
    // A registrar's answer lists the bindings with their expiry (RFC 3261 §10.3 step 8);
    // this example keeps none beyond the request, so it echoes what was asked.
    const dflt = req.message.headers.get('expires') ?? '3600';
    const contacts = req.message.headers.getAll('contact').filter((v) => v !== '*')
      .map((v) => (/;\s*expires=/i.test(v) ? v : `${v};expires=${dflt}`));
    req.reply(200, { headers: contacts.length > 0 ? { Contact: contacts } : {} });
  });

  ua.onRequest('INVITE', async (req) => {
    c.invites++;
    if (!(await authorized(req))) return;
    const uri = parseUri(req.message.uri);
    if (isSipUri(uri) && uri.user === 'busy') {
      c.rejected++;
      req.reply(486);
      return;
    }
    req.once('cancel', () => { c.cancels++; });
    const answer = (): void => {
      if (req.finalSent) return;
      c.answered++;
      req.answer({ body: answerSdp(req.message.body.toString('utf8'), address), contentType: 'application/sdp' })
        .then(() => { c.acks++; }, () => { c.ackTimeouts++; });
    };
    if (ringMs > 0) {
      req.progress(180);
      setTimeout(answer, ringMs).unref();
    } else answer();
  });

  // Event-loop delay since the previous stats line: a long stall (a major GC with many
  // transactions alive) shows up as peer retransmissions.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const stats = (event: StatsLine['event']): string => {
    const line: StatsLine = {
      event, ...c, ua: ua.counters, cpuUs: process.cpuUsage(), uptimeMs: Math.round(process.uptime() * 1000),
      heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1048576),
      loopDelayMs: { p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
    };
    loopDelay.reset();
    return JSON.stringify(line);
  };
  console.log(JSON.stringify({
    event: 'listening', points: points.map((p) => ({ protocol: p.protocol as TransportProtocol, address: p.address, port: p.port })),
  }));

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(stats('stopped'));
    await ua.close();
    await transport.close();
    rl.close();
  };
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'stats') console.log(stats('stats'));
  });
  // A parent holding our stdin pipe stops us by closing it; stdin from /dev/null or a
  // terminal that ends is no reason to stop (signals do that).
  // (Node's child_process pipes are socket pairs, a shell's are FIFOs.)
  const stdin = fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) rl.on('close', () => void stop());
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
});
