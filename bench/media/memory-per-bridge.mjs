#!/usr/bin/env node
// The media worker's memory per live WebRTC<->RTP bridge, as a browser call holds it:
// ICE checked, DTLS-SRTP done, consent kept, no RTP (the idle calls of the compare
// bench's memory phase). A MediaEngine with one worker; N bridges are made and each
// WebRTC leg is driven through ICE and DTLS by the load client's browser pieces
// (bench/loadclient/peer.mjs, the native addon's socket and OpenSSL DTLS); after the
// worker has let go of each handshake's state (15 s without SRTP from the browser), a
// forced GC in the worker (engine.usage(true)) and its V8 heap and ArrayBuffer/external
// figures, against the same taken before the N bridges.
//
//   node --expose-gc bench/media/memory-per-bridge.mjs [--bridges 300] [--settle 17000]
//        [--profile AES_CM_128_HMAC_SHA1_80|AEAD_AES_128_GCM] [--media DIR ...]
//
// --media names checkouts (default this one) whose libs/media/dist runs the worker, so
// one invocation compares e.g. main's worktree with a branch; each runs in a child
// process of its own. The browser side always comes from this checkout.
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    bridges: { type: 'string', default: '300' },
    warm: { type: 'string', default: '40' },
    settle: { type: 'string', default: '17000' },
    profile: { type: 'string', default: 'AES_CM_128_HMAC_SHA1_80' },
    media: { type: 'string', multiple: true },
    child: { type: 'string' },
  },
});

const ADDRESS = '127.0.0.1';

if (o.child === undefined) {
  const dirs = o.media ?? [path.resolve(here, '../..')];
  const rows = [];
  for (const dir of dirs) {
    const args = ['--child', dir, '--bridges', o.bridges, '--warm', o.warm, '--settle', o.settle, '--profile', o.profile];
    const child = fork(fileURLToPath(import.meta.url), args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [row] = await once(child, 'message');
    rows.push({ dir, ...row });
    await once(child, 'exit');
  }
  console.log(`\n${o.bridges} WebRTC<->RTP bridges (${o.profile}), after ${o.warm} warm-up bridges; worker figures after a forced GC, bytes per bridge:`);
  console.log('| media checkout | heap used | external | arrayBuffers | heap + external | bridges live |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.dir} | ${r.heap.toFixed(0)} | ${r.external.toFixed(0)} | ${r.arrayBuffers.toFixed(0)} | ${(r.heap + r.external).toFixed(0)} | ${r.live} |`);
  }
  process.exit(0);
}

const { MediaEngine } = await import(pathToFileURL(path.join(o.child, 'libs/media/dist/index.js')).href);
const { BrowserMedia } = await import('../loadclient/peer.mjs');
const N = Number(o.bridges);
const WARM = Number(o.warm);
const engine = await MediaEngine.start({ workers: 1, portMin: 30000, portMax: 30000 + 4 * (N + WARM) + 100, address: ADDRESS, prebound: 0 });
// The trunk side's peer: RTCP reports from the RTP legs land here and are dropped.
const trunk = createSocket('udp4');
trunk.on('message', () => undefined);
trunk.bind(0, ADDRESS);
await once(trunk, 'listening');
const trunkPort = trunk.address().port;
let nextClientPort = 40000;
const browsers = [];

/** The answer our browser gets: what the gateway's SDP would carry for the WebRTC leg. */
function answerSdp(w) {
  return [
    'v=0', `o=- 1 2 IN IP4 ${w.address}`, 's=-', 't=0 0',
    `m=audio ${w.port} UDP/TLS/RTP/SAVPF 0`, `c=IN IP4 ${w.address}`,
    `a=candidate:1 1 udp 2130706431 ${w.address} ${w.port} typ host`,
    `a=ice-ufrag:${w.ufrag}`, `a=ice-pwd:${w.pwd}`, `a=fingerprint:sha-256 ${w.fingerprint.value}`,
    `a=setup:${w.setup}`, 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:0 PCMU/8000', '',
  ].join('\r\n');
}

async function bridge(i) {
  const b = await BrowserMedia.create(i, ADDRESS, nextClientPort++, [o.profile]);
  const d = await engine.createBridge({
    legs: [
      { kind: 'webrtc', clockRate: 8000, remote: { ufrag: b.ice.ufrag, pwd: b.ice.pwd, fingerprints: [{ algorithm: 'sha-256', value: b.certificate.fingerprint }], setup: 'actpass' } },
      { kind: 'rtp', remote: { address: ADDRESS, port: trunkPort, rtcpPort: trunkPort } },
    ],
    bridge: { payloadTypes: [[0, 0]], clockRate: 8000 },
  });
  b.answer(answerSdp(d.legs[0]));
  browsers.push(b);
  const t0 = Date.now();
  while (b.srtpIn === null) {
    if (b.failure !== null || Date.now() - t0 > 10000) throw new Error(`bridge ${i}: ${b.failure ?? 'no DTLS in 10 s'}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function make(from, count) {
  for (let i = from; i < from + count; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, from + count - i) }, (_, k) => bridge(i + k)));
  }
}

const settle = () => new Promise((r) => setTimeout(r, Number(o.settle)));
const sample = async () => (await engine.usage(true))[0];

await make(0, WARM);
await settle();
const before = await sample();
await make(WARM, N);
await settle();
const after = await sample();
const per = (k) => (after[k] - before[k]) / N;
process.send({ heap: per('usedHeapSize'), external: per('external'), arrayBuffers: per('arrayBuffers'), live: after.bridges });
await Promise.all(browsers.map((b) => b.close()));
await engine.close();
trunk.close();
process.disconnect();
