// The two systems bench:compare runs in turn, given the same work: browsers over
// WebSocket, every INVITE challenged (digest MD5, one user), routed to a SIPp UAS that
// echoes RTP (-rtp_echo), G.711 only, DTLS-SRTP toward the browser and plain RTP toward
// SIPp. trapezoid is the gateway process (bench/call-setup/gateway-proc.mjs); the anchor
// is Kamailio (websocket, tm, rr, auth) + rtpengine (userspace, --table=-1). Each
// system's processes are pinned to `cpus` (taskset) and report their CPU time and
// memory the same way (/proc), so every ratio is taken in one invocation.
import { readFileSync, readdirSync, writeFileSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { start, stop, adopt, waitFor, sleep } from '../call-setup/procs.mjs';
import { startRtpengine } from '../media/rtpengine.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DOMAIN = 'bench.invalid';
export const USER = { user: 'alice', password: 'alice-secret' };

function tcpOpen(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** CPU seconds (user + system, all threads) of these processes so far (/proc/PID/stat, 100 Hz ticks). */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* exited */ }
  }
  return ticks / 100;
}

/** CPU seconds of each thread of a process: { tid: seconds }. */
export function threadSeconds(pid) {
  const out = {};
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        out[t] = (Number(f[11]) + Number(f[12])) / 100;
      } catch { /* exited */ }
    }
  } catch { /* exited */ }
  return out;
}

/**
 * Memory of these processes in bytes: RSS summed, and PSS summed (shared pages split
 * between the processes that map them: Kamailio's forked children share most of theirs).
 */
export function memoryOf(pids) {
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    try {
      const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(t)[1]) * 1024;
      pss += Number(/^Pss:\s+(\d+)/m.exec(t)[1]) * 1024;
    } catch { /* exited */ }
  }
  return { rss, pss };
}

/** The pids of a process group (Kamailio's main process and its forked workers). */
function groupPids(pgid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[2]) === pgid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

const pin = (cpus, cmd, args) => (cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args]);

/** nice(1) for the trunk: raised (-15) where we may (root), so it answers its socket first. */
const TRUNK_NICE = process.getuid?.() === 0 ? ['nice', '-n', '-15'] : [];

/**
 * SIPp's uas with Record-Route copied (bench/call-setup/uas-rr.xml), echoing RTP on mediaPort.
 * Its -rtp_echo reads every call's media from one socket (the kernel's default buffer,
 * ~11 ms of 300 calls' packets): sharing its CPU with the load client, it lost packets
 * there (seen in /proc/net/udp's drops) before either system under test did. Run at a
 * higher priority, it is woken for them at once, and the loss measured is the systems'.
 */
export async function startSipp({ port, controlPort, mediaPort, cpus, work }) {
  const [cmd0, args0] = pin(cpus, 'sipp', [
    '-sf', join(HERE, '../call-setup/uas-rr.xml'), '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1',
    '-mp', String(mediaPort), '-cp', String(controlPort), '-rtp_echo', '-nostdin', '-trace_err',
    '-error_file', join(work, `sipp-${port}-errors.log`), '-buff_size', String(4 << 20), '-max_recv_loops', '10000',
  ]);
  const [cmd, args] = TRUNK_NICE.length ? [TRUNK_NICE[0], [...TRUNK_NICE.slice(1), cmd0, ...args0]] : [cmd0, args0];
  const child = start('sipp', cmd, args, { cwd: work });
  await sleep(300);
  if (child.exitCode !== null) throw new Error(`sipp exited: ${child.output}`);
  return child;
}

/** trapezoid with the bench's config; `ask(type)` talks to gateway-proc.mjs (memory after GC, counters). */
export async function startTrapezoid({ wsPort, udpPort, httpPort, sippPort, media, cpus, work, nodeArgs = [] }) {
  const config = {
    domain: DOMAIN,
    listeners: [{ protocol: 'ws', address: '127.0.0.1', port: wsPort }, { protocol: 'udp', address: '127.0.0.1', port: udpPort }],
    http: { address: '127.0.0.1', port: httpPort, demo: false },
    media: { address: '127.0.0.1', portMin: media.min, portMax: media.max },
    trunks: [{ name: 'sipp', address: '127.0.0.1', port: sippPort, codecs: ['PCMU', 'PCMA', 'telephone-event/8000'], answerTimeout: 20 }],
    routes: [{ match: '^\\d+$', trunk: 'sipp' }],
    auth: { required: true },
    // One user places every call, as the load client's browsers all log in as it; the
    // anchor's config has no per-user or per-address limits, so neither does this one.
    users: [{ username: USER.user, password: USER.password, maxCalls: 100_000, callsPerMinute: 10_000_000 }],
    security: { rateLimit: { exempt: ['127.0.0.0/8'] } },
    websocket: { exempt: ['127.0.0.0/8'], maxConnections: 100_000, authTimeout: 3600 },
    logging: { level: 'warn' },
    // rtpengine runs with --timeout=600 (bench/media/rtpengine.mjs): the memory phase's idle
    // calls (no RTP) must outlive its readings on both systems, not only on the anchor.
    lifetime: { mediaTimeout: 600 },
  };
  const cfg = join(work, 'gateway.yaml');
  writeFileSync(cfg, JSON.stringify(config, null, 2));
  const logFile = join(work, 'gateway.log');
  const logFd = openSync(logFile, 'w');
  const [cmd, args] = pin(cpus, process.execPath, ['--expose-gc', ...nodeArgs, join(HERE, 'gateway-proc.mjs'), cfg]);
  const gw = start('gateway', cmd, args, { stdio: ['ignore', logFd, logFd, 'ipc'] });
  closeSync(logFd);
  await new Promise((resolve, reject) => {
    gw.once('message', (m) => (m?.type === 'ready' ? resolve() : reject(new Error('unexpected message'))));
    gw.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${readFileSync(logFile, 'utf8').slice(-2000)}`)));
  });
  const ask = (type) => new Promise((resolve, reject) => {
    const id = Math.random();
    const t = setTimeout(() => reject(new Error(`gateway did not answer ${type}`)), 20000);
    const on = (m) => { if (m?.id === id) { clearTimeout(t); gw.off('message', on); resolve(m); } };
    gw.on('message', on);
    gw.send({ type, id });
  });
  const mediaTids = new Set((await ask('threads')).media.map(String));
  return {
    name: 'trapezoid', wsPort, logFile,
    pids: () => [gw.pid],
    /** CPU seconds so far by part: the main thread (SIP, calls), the media workers, the rest (V8's GC helpers, libuv's pool). */
    cpuParts() {
      const parts = { main: 0, media: 0, other: 0 };
      for (const [tid, sec] of Object.entries(threadSeconds(gw.pid))) {
        parts[tid === String(gw.pid) ? 'main' : mediaTids.has(tid) ? 'media' : 'other'] += sec;
      }
      return parts;
    },
    /** Forced GC in the main thread and every media worker, then the process's memory ({ rss, pss }). */
    settle: () => ask('gc'),
    ask,
    async stop() {
      if (gw.connected) gw.send({ type: 'stop' });
      await stop(gw, nodeArgs.some((a) => a.startsWith('--cpu-prof')) ? 30000 : 5000);
    },
  };
}

/** Kamailio (websocket, tm, rr, auth) + rtpengine userspace, both pinned to `cpus`. */
export async function startKamailio({ wsPort, udpPort, ngPort, sippPort, media, cpus, work, children = 4, rtpengineThreads = 1 }) {
  const rtpengine = await startRtpengine({ ngPort, portMin: media.min, portMax: media.max, threads: rtpengineThreads });
  adopt(rtpengine.child, 'rtpengine');
  if (cpus) start('taskset', 'taskset', ['-a', '-c', '-p', cpus, String(rtpengine.child.pid)]);
  const cfg = readFileSync(join(HERE, 'kamailio.cfg.tpl'), 'utf8')
    .replaceAll('@UDP_PORT@', String(udpPort)).replaceAll('@WS_PORT@', String(wsPort))
    .replaceAll('@NG_PORT@', String(ngPort)).replaceAll('@SIPP_PORT@', String(sippPort))
    .replaceAll('@CHILDREN@', String(children)).replaceAll('@NONCE_SECRET@', randomBytes(8).toString('hex'))
    .replaceAll('@USER@', USER.user).replaceAll('@PASSWORD@', USER.password);
  const cfgFile = join(work, 'kamailio.cfg');
  writeFileSync(cfgFile, cfg);
  mkdirSync(join(work, 'kamailio-run'), { recursive: true });
  const [cmd, args] = pin(cpus, 'kamailio', ['-DD', '-E', '-f', cfgFile, '-Y', join(work, 'kamailio-run'), '-P', join(work, 'kamailio.pid'),
    '-w', work, '-m', '256', '-M', '16']);
  const kamailio = start('kamailio', cmd, args, { group: true });
  try {
    await waitFor(async () => kamailio.exitCode === null && await tcpOpen(wsPort), 10000, `kamailio on ${wsPort}`);
  } catch (err) {
    throw new Error(`${err.message}: ${kamailio.output.slice(-3000)}`);
  }
  const pids = () => [...groupPids(kamailio.pid), rtpengine.child.pid];
  return {
    name: 'kamailio+rtpengine', wsPort,
    pids,
    /** CPU seconds so far by part: Kamailio's processes, rtpengine. */
    cpuParts: () => ({ kamailio: cpuSeconds(groupPids(kamailio.pid)), rtpengine: cpuSeconds([rtpengine.child.pid]) }),
    // C processes: nothing to collect; the same settling pause as trapezoid's GC gets.
    // The calls rtpengine holds (ng 'list'): the memory phase checks its readings count live calls.
    settle: async () => {
      await sleep(500);
      const listed = await rtpengine.ng.command({ command: 'list', limit: 1_000_000 }).catch(() => null);
      const liveCalls = Array.isArray(listed?.calls) ? listed.calls.length : undefined;
      return { ...memoryOf(pids()), ...(liveCalls !== undefined ? { liveCalls } : {}) };
    },
    async stop() {
      await stop(kamailio);
      rtpengine.ng.close();
      await stop(rtpengine.child);
    },
  };
}
