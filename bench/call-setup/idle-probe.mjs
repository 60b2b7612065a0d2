// Diagnostic (not part of the results table): the gateway's CPU use in 5 s windows
// after a few calls have ended, to see whether ended calls leave work running.
//   node bench/call-setup/idle-probe.mjs [calls=5] [windows=8] [holdMs=500, no DTLS wait when < 500]
import { readFileSync, writeFileSync, mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, startNode, stopAll, freePort, freeMediaPort, sleep } from './procs.mjs';
import { startUa, stopUa, placeCall, waitConnected, hangUp } from './client.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const [calls = 5, windows = 8, holdMs = 500] = process.argv.slice(2).map(Number);
const work = mkdtempSync(join(tmpdir(), 'idle-probe-'));
const cpu = (pid) => { const st = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
try {
  const [wsPort, udpPort, httpPort, sippPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  start('sipp', 'sipp', ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(sippPort), '-mi', '127.0.0.1', '-mp', String(await freeMediaPort()), '-cp', String(await freePort()), '-rtp_echo', '-nostdin'], { cwd: work });
  const cfg = join(work, 'gw.yaml');
  writeFileSync(cfg, JSON.stringify({
    domain: 'bench.invalid', listeners: [{ protocol: 'ws', port: wsPort }, { protocol: 'udp', port: udpPort }],
    http: { port: httpPort, demo: false }, media: { portMin: 33000, portMax: 33999 },
    trunks: [{ name: 'sipp', address: '127.0.0.1', port: sippPort }], routes: [{ match: '^\\d+$', trunk: 'sipp' }],
    auth: { required: false }, logging: { level: 'warn' },
  }));
  const fd = openSync(join(work, 'gw.log'), 'w');
  const gw = startNode('gateway', join(HERE, 'gateway-proc.mjs'), [cfg], { stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  await new Promise((r) => gw.once('message', r));
  const ua = await startUa({ wsUrl: `ws://127.0.0.1:${wsPort}`, domain: 'bench.invalid' });
  let c0 = cpu(gw.pid);
  await sleep(5000);
  console.log(`before any call: ${((cpu(gw.pid) - c0) / 5).toFixed(1)} ms CPU/s`);
  for (let i = 0; i < calls; i++) {
    const c = await placeCall(ua, 'sip:1000@bench.invalid');
    if (holdMs >= 500) await waitConnected(c.pc, 5000);
    await sleep(holdMs);
    await hangUp(c.session);
  }
  console.log(`${calls} calls made and ended`);
  for (let w = 0; w < windows; w++) {
    c0 = cpu(gw.pid);
    await sleep(5000);
    console.log(`window ${w + 1} (${(w + 1) * 5} s after): ${((cpu(gw.pid) - c0) / 5).toFixed(1)} ms CPU/s`);
  }
  await stopUa(ua);
} finally {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
