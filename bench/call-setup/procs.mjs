// Child processes of the call-setup bench (sipp, gateway, kamailio, rtpengine, dumpcap),
// each tracked so that every exit path of run.mjs stops them: normal end, a thrown
// error, SIGINT/SIGTERM. Only processes this bench spawned are ever signalled.

import { spawn, fork } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const children = new Set();

function track(child, name) {
  child.benchName = name;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Adopts a process spawned elsewhere (bench/media/rtpengine.mjs) so it is stopped too. */
export function adopt(child, name) {
  return track(child, name);
}

/** `group`: the child leads its own process group (Kamailio forks workers) and is signalled as a group. */
export function start(name, cmd, args, opts = {}) {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: Boolean(opts.group) }), name);
  child.group = Boolean(opts.group);
  child.output = '';
  const keep = (d) => { child.output = (child.output + d).slice(-20000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

export function startNode(name, script, args, opts = {}) {
  const child = track(fork(script, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], ...opts }), name);
  child.output = '';
  const keep = (d) => { child.output = (child.output + d).slice(-200000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export function stop(child, graceMs = 3000, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => signalChild(child, 'SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    signalChild(child, signal);
  });
}

function signalChild(child, signal) {
  try {
    if (child.group) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch { /* already gone */ }
}

export async function stopAll() {
  await Promise.all([...children].map((c) => stop(c)));
}

function killAllSync() {
  for (const c of children) signalChild(c, 'SIGKILL');
}
process.once('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { stopAll().finally(() => process.exit(130)); });
}

export function waitFor(pred, ms, what) {
  return new Promise((resolve, reject) => {
    const until = Date.now() + ms;
    const tick = async () => {
      let v;
      try { v = await pred(); } catch { v = undefined; }
      if (v) return resolve(v);
      if (Date.now() > until) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

const taken = new Set();
/** A loopback port free for both TCP and UDP, never handed out twice in this run. */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
    });
    if (taken.has(port) || taken.has(port + 2)) continue;
    const ok = await Promise.all([port, port + 2].map((p) => new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => { s.close(); resolve(false); });
      s.bind(p, '127.0.0.1', () => s.close(() => resolve(true)));
    })));
    if (ok.every(Boolean)) { taken.add(port); return port; }
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let nextMedia = 35000;
/** Four free UDP ports p..p+3 (SIPp's -mp: audio RTP/RTCP, video RTP/RTCP) in 35000-35999. */
export async function freeMediaPort() {
  for (; nextMedia < 36000; nextMedia += 4) {
    const p = nextMedia;
    const ok = await Promise.all([p, p + 1, p + 2, p + 3].map((port) => new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => { s.close(); resolve(false); });
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    })));
    if (ok.every(Boolean)) { nextMedia += 4; return p; }
  }
  throw new Error('no free media ports in 35000-35999');
}
