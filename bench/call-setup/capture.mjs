// Wire time on the loopback interface: dumpcap records the SIP of one system under test
// (the WebSocket listener and the SIPp trunk port), tshark decodes it (the WebSocket
// port decoded as HTTP so the upgrade leads to the WebSocket dissector, whose `sip`
// subprotocol leads to SIP). Each SIP message becomes { t (s since epoch), side, kind, callId }.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { start, stop, waitFor, sleep } from './procs.mjs';

const run = promisify(execFile);

export async function startCapture(file, { wsPort, sippPort }) {
  const child = start('dumpcap', 'dumpcap', ['-q', '-i', 'lo', '-f', `tcp port ${wsPort} or udp port ${sippPort}`, '-w', file]);
  await waitFor(() => existsSync(file) && statSync(file).size > 0, 10000, 'dumpcap to start');
  await sleep(300);
  return {
    async stop() {
      await sleep(500);
      await stop(child, 5000, 'SIGINT');
    },
  };
}

/** The SIP messages of the capture, in order. side: 'ws' (browser leg) or 'trunk'. */
export async function readSip(file, { wsPort, sippPort }) {
  const { stdout } = await run('tshark', [
    '-r', file, '-n', '-d', `tcp.port==${wsPort},http`, '-Y', 'sip',
    '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f',
    '-e', 'frame.time_epoch', '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'udp.dstport',
    '-e', 'sip.Method', '-e', 'sip.Status-Code', '-e', 'sip.CSeq.method', '-e', 'sip.Call-ID',
  ], { maxBuffer: 256 * 1024 * 1024 });
  const out = [];
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const [t, tcpSrc, udpSrc, udpDst, method, status, cseqMethod, callId] = line.split('\t');
    const side = tcpSrc ? 'ws' : 'trunk';
    // Direction seen from the system under test.
    const dir = side === 'ws' ? (Number(tcpSrc) === wsPort ? 'out' : 'in') : (Number(udpDst) === sippPort ? 'out' : 'in');
    out.push({ t: Number(t), side, dir, method: method || null, status: status ? Number(status) : null, cseqMethod, callId, udpSrc: Number(udpSrc) });
  }
  return out;
}

/**
 * Per browser call (by its Call-ID): INVITE in on WS -> 200 (INVITE) out on WS, and the
 * trunk leg's INVITE out -> 200 in, matched as the first trunk INVITE after the browser's
 * INVITE (calls are sequential). Times in milliseconds.
 */
export function setupTimes(msgs) {
  const res = [];
  const wsInvites = msgs.filter((m) => m.side === 'ws' && m.dir === 'in' && m.method === 'INVITE');
  const seen = new Set();
  for (const first of wsInvites) {
    if (seen.has(first.callId)) continue;
    seen.add(first.callId);
    const ok = msgs.find((m) => m.side === 'ws' && m.dir === 'out' && m.status === 200 && m.cseqMethod === 'INVITE' && m.callId === first.callId);
    if (!ok) { res.push({ callId: first.callId, ok: false }); continue; }
    // The INVITE that was answered: after a digest challenge, the authenticated one.
    const inv = wsInvites.filter((m) => m.callId === first.callId && m.t <= ok.t).at(-1);
    const tInv = msgs.find((m) => m.side === 'trunk' && m.dir === 'out' && m.method === 'INVITE' && m.t >= inv.t);
    const tOk = tInv && msgs.find((m) => m.side === 'trunk' && m.dir === 'in' && m.status === 200 && m.cseqMethod === 'INVITE' && m.callId === tInv.callId);
    res.push({
      callId: inv.callId, ok: true,
      setupMs: (ok.t - inv.t) * 1000,
      ...(tInv && tOk && tOk.t <= ok.t ? {
        toTrunkMs: (tInv.t - inv.t) * 1000, trunkMs: (tOk.t - tInv.t) * 1000, toBrowserMs: (ok.t - tOk.t) * 1000,
      } : {}),
    });
  }
  return res;
}
