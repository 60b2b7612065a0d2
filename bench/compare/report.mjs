// Writes bench/results/compare.md from one compare.mjs run: the figures of each system,
// the ratio between them with its direction spelled out, the machine's load through the
// run, and whether each goal of issue 12 was met (by how much, where not). NOTES.md (the
// why, maintained by hand) is appended as it is.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const f = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const T = 'trapezoid';
const K = 'kamailio';
const NAMES = { trapezoid: 'trapezoid', kamailio: 'Kamailio + rtpengine' };

function phase(run, name, system) {
  return run.phases.find((p) => p.phase === name && p.system === system) ?? null;
}

/** "a / b = r" with the direction named; ≥ 1.0 means `better` wins. */
function ratio(a, b, what) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${f(a / b)} (${what})`;
}

export function writeReport(run, file, notes) {
  const out = [];
  const w = (s = '') => out.push(s);
  const rT = phase(run, 'rate', T);
  const rK = phase(run, 'rate', K);
  const cT = phase(run, 'concurrent', T);
  const cK = phase(run, 'concurrent', K);
  const mT = phase(run, 'memory', T);
  const mK = phase(run, 'memory', K);
  w('# trapezoid vs Kamailio + rtpengine: browser calls (bench:compare)');
  w();
  w('Produced by one run of the command below; every ratio is between figures of that same');
  w('run. The systems ran one at a time on the same machine, phase by phase, the order');
  w('alternating. Not a timed test: `npm test` never runs it.');
  w();
  w('```');
  w(`npm run bench:compare   # = bash scripts/install-bench-deps.sh && ${run.command}`);
  w('```');
  w();
  w(`- Date: ${run.date}; commit ${run.commit}; ${run.machine.nproc} × ${run.machine.cpu}; Node ${run.machine.node}.`);
  w(`- Anchor: ${run.versions.kamailio}; ${run.versions.rtpengine} (userspace forwarding, --table=-1); trunk: ${run.versions.sipp} (uas, -rtp_echo).`);
  w(`- Pinning: ${run.pinning ? `system under test on CPU ${run.pinning.sut} (taskset, all its processes and threads); load client, SIPp and dumpcap on CPU ${run.pinning.client}` : 'none (fewer than 2 CPUs)'}.`);
  w('- Same work for both: browsers over WebSocket (one connection each), every INVITE challenged (407, digest MD5, one user), G.711 only, ' +
    `SRTP profile offered ${run.options.profiles.join(', ')}, DTLS client on the browser side, ICE (the browser controlling, USE-CANDIDATE), ` +
    'SIPp answering and echoing RTP, no registrar, no rate limits on either side.');
  w('- Machine load (1-minute load average before -> after each phase; 2 CPUs, other work was running on this shared machine):');
  for (const p of run.phases) w(`  - ${p.phase}, ${NAMES[p.system]}: ${f(p.loadBefore[0])} -> ${f(p.loadAfter[0])} (${f(p.seconds, 0)} s)${p.error ? ` — FAILED: ${p.error.split('\n')[0]}` : ''}`);
  w();

  w('## Browser call setups per second');
  w();
  w(`After a warm-up (${run.options.warmup ?? '-'}, the same for both), calls placed at each rate of the ladder for ${run.options.stepS} s, each held 1-2 s (uniform) with 50 packets/s of G.711 both ways, then BYE.`);
  w('A call fails on any non-200 answer, no SRTP back while it was up, or a BYE not answered 200. INVITE -> 200 is timed by the');
  w('client from the authenticated INVITE leaving to the 200 arriving (its WebSocket, performance.now()); first SRTP from the 200 to the');
  w('first SRTP packet that came back (ICE, DTLS, the browser\'s first packet through the system to SIPp and back). CPU: user + system');
  w('time of every process of the system (all threads) over the step, per call placed; "by part" splits it: trapezoid\'s main thread');
  w('(SIP, call logic), its media worker (ICE, DTLS, SRTP, forwarding) and its other threads (V8\'s GC helpers, libuv\'s pool); Kamailio\'s');
  w('processes and rtpengine.');
  w();
  const keptUp = run.options.keptUpMs ?? 50;
  const passed = (s) => s.failed === 0 && s.inviteTo200Ms.median !== null && s.inviteTo200Ms.median < keptUp;
  const bestOf = (p) => (p?.steps ?? []).filter(passed).at(-1) ?? null;
  const bT = bestOf(rT);
  const bK = bestOf(rK);
  w(`A rate is passed with 0 failed calls and the system keeping up: SIPp answers at once, so a median INVITE -> 200 of ${keptUp} ms or more`);
  w('is a queue in front of a saturated system (its calls wait rather than fail). The ladder stops after two steps in a row not passed.');
  w();
  w(`| at the highest rate passed | ${NAMES[T]} | ${NAMES[K]} | ratio |`);
  w('| --- | ---: | ---: | --- |');
  // A system that passed the ladder's last rung could do more: its figure is a floor.
  const top = Math.max(...run.options.rates);
  const atLeast = (b) => (b ? `${b.rate === top ? '≥ ' : ''}${b.rate}` : '-');
  w(`| calls per second | ${atLeast(bT)} | ${atLeast(bK)} | ${ratio(bT?.rate, bK?.rate, 'trapezoid\'s rate / the anchor\'s; ≥ 1.0: trapezoid sets up at least as many')}` +
    `${bK?.rate === top || bT?.rate === top ? `; ≥: passed the ladder's top rate (${top}/s), so the true rate is higher` : ''} |`);
  w(`| INVITE -> 200 median (ms) | ${f(bT?.inviteTo200Ms.median)} | ${f(bK?.inviteTo200Ms.median)} | difference ${f((bT?.inviteTo200Ms.median ?? NaN) - (bK?.inviteTo200Ms.median ?? NaN))} ms (trapezoid - anchor) |`);
  w(`| INVITE -> 200 p99 (ms) | ${f(bT?.inviteTo200Ms.p99)} | ${f(bK?.inviteTo200Ms.p99)} | |`);
  w(`| first SRTP after 200, median (ms) | ${f(bT?.firstSrtpAfter200Ms.median)} | ${f(bK?.firstSrtpAfter200Ms.median)} | |`);
  w(`| first SRTP after 200, p99 (ms) | ${f(bT?.firstSrtpAfter200Ms.p99)} | ${f(bK?.firstSrtpAfter200Ms.p99)} | |`);
  w(`| CPU ms per call | ${f(bT?.cpuMsPerCall)} | ${f(bK?.cpuMsPerCall)} | ${ratio(bK?.cpuMsPerCall, bT?.cpuMsPerCall, 'the anchor\'s CPU / trapezoid\'s; ≥ 1.0: trapezoid costs no more')} |`);
  w();
  w('The CPU of both at the same rate (the highest both passed) is the fairer cost comparison; every step:');
  w();
  w('| system | rate/s | load | calls ok/placed | INVITE->200 med / p99 ms | first SRTP med / p99 ms | CPU ms/call | by part (ms/call) | system CPU % | client CPU % | loss % | failures |');
  w('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |');
  for (const [p, sys] of [[rT, T], [rK, K]]) {
    for (const s of p?.steps ?? []) {
      w(`| ${NAMES[sys]} | ${s.rate} | ${f(s.load, 1)} | ${s.completed}/${s.attempted} | ${f(s.inviteTo200Ms.median)} / ${f(s.inviteTo200Ms.p99)} | ` +
        `${f(s.firstSrtpAfter200Ms.median)} / ${f(s.firstSrtpAfter200Ms.p99)} | ${f(s.cpuMsPerCall)} | ` +
        `${Object.entries(s.cpuMsPerCallByPart ?? {}).map(([k, v]) => `${k} ${f(v)}`).join(', ') || '-'} | ${f(s.sutCpuPct, 0)} | ${f(s.clientCpuPct, 0)} | ` +
        `${f(s.packets.lossPct, 3)} | ${Object.entries(s.failures).map(([k, v]) => `${v}× ${k}`).join('; ') || '-'} |`);
    }
  }
  const common = (rT?.steps ?? []).filter(passed).map((s) => s.rate).filter((r) => (rK?.steps ?? []).some((k) => k.rate === r && passed(k)));
  const shared = common.at(-1);
  const sameT = shared === undefined ? null : rT.steps.find((s) => s.rate === shared);
  const sameK = shared === undefined ? null : rK.steps.find((s) => s.rate === shared);
  if (sameT && sameK) {
    w();
    w(`At ${shared} calls/s (the highest rate both passed): CPU ms per call ${f(sameT.cpuMsPerCall)} (trapezoid) vs ${f(sameK.cpuMsPerCall)} (anchor), ` +
      `ratio ${ratio(sameK.cpuMsPerCall, sameT.cpuMsPerCall, 'anchor / trapezoid')}; INVITE -> 200 median ${f(sameT.inviteTo200Ms.median)} vs ${f(sameK.inviteTo200Ms.median)} ms. ` +
      'CPU per call falls as the rate rises (for both: more work per wake-up), so the goals below compare the two at this same rate.');
  }
  w();

  w('## Concurrent bridged calls (browser <-> trunk, G.711)');
  w();
  w('Calls added at 100/s up to each count of the ladder and held, G.711 at 50 packets/s each way (browser -> system -> SIPp echo -> system -> browser).');
  w(`After each addition, RTP loss over ${run.options.windowS} s as the browsers saw it (RFC 3550 A.3: sequence gaps). The highest count`);
  w('with < 0.1% loss, no failed setup and media on every call is the capacity. Then, at half of it, dumpcap records 4 s of media on lo');
  w('and each packet the system sent on is matched with the one it came from (the client\'s marker): packet in -> packet out, on the wire.');
  w();
  w(`| | ${NAMES[T]} | ${NAMES[K]} | ratio |`);
  w('| --- | ---: | ---: | --- |');
  w(`| concurrent calls at < 0.1% loss | ${cT?.capacity ?? '-'} | ${cK?.capacity ?? '-'} | ${ratio(cT?.capacity, cK?.capacity, 'trapezoid / anchor; ≥ 1.0: trapezoid carries at least as many')} |`);
  const lat = (p) => p?.latency;
  w(`| added one-way latency p99 at half capacity (ms) | ${f(lat(cT)?.bothMs.p99, 3)} | ${f(lat(cK)?.bothMs.p99, 3)} | ${ratio(lat(cK)?.bothMs.p99, lat(cT)?.bothMs.p99, 'anchor / trapezoid; ≥ 1.0: trapezoid adds no more')} |`);
  w(`| … median (ms) | ${f(lat(cT)?.bothMs.median, 3)} | ${f(lat(cK)?.bothMs.median, 3)} | |`);
  w(`| … toward the trunk / toward the browser, p99 (ms) | ${f(lat(cT)?.toTrunkMs.p99, 3)} / ${f(lat(cT)?.toBrowserMs.p99, 3)} | ${f(lat(cK)?.toTrunkMs.p99, 3)} / ${f(lat(cK)?.toBrowserMs.p99, 3)} | |`);
  w(`| packets matched (calls) | ${lat(cT)?.bothMs.n ?? '-'} (${lat(cT)?.calls ?? '-'}) | ${lat(cK)?.bothMs.n ?? '-'} (${lat(cK)?.calls ?? '-'}) | |`);
  w();
  w('| system | calls | load | loss % | setup failures | calls without media | system CPU % | client CPU % |');
  w('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [p, sys] of [[cT, T], [cK, K]]) {
    for (const s of p?.steps ?? []) {
      w(`| ${NAMES[sys]} | ${s.calls} | ${f(s.load, 1)} | ${f(s.lossPct, 3)} | ${s.setupFailed} | ${s.noMedia} | ${f(s.sutCpuPct, 0)} | ${f(s.clientCpuPct, 0)} |`);
    }
  }
  w();

  w('## Memory per live call');
  w();
  const warm = run.options.memoryWarmupHoldS ? `${Math.round(run.options.memoryCalls / 2)} calls set up at ${run.options.memoryRate}/s, held ${run.options.memoryWarmupHoldS} s, ended` : null;
  w(`${run.options.memoryCalls} idle calls (ICE and DTLS done, consent kept, no RTP) held, added at ${run.options.memoryRate ?? 100}/s in two halves, on a freshly started system` +
    (warm ? ` after a warm-up (${warm}; the same for both).` : '.'));
  w(`Each reading ${run.options.settleS} s after`);
  w('the last setup (RFC 3261 transactions gone), after a forced GC in every thread of trapezoid. RSS and PSS summed over all the system\'s');
  w('processes (PSS splits the pages Kamailio\'s forked children share; for trapezoid, one process, the two are alike). Per call: the');
  w('least-squares slope over the readings from the warm-up on (0, half, all calls); the second half\'s slope beside it.');
  if (warm) {
    w('The warm-up puts each system\'s one-time growth before the first reading, so the slope is what one more live call costs:');
    w('V8 compiles its code and grows its heaps, the threads\' malloc arenas take their first blocks; Kamailio\'s and rtpengine\'s');
    w('pools stay at their highest once touched. The second half of the calls goes past the warm-up\'s count, onto memory no call');
    w('used before. The fresh process\'s reading is in the table below, outside the slope; the growth from it to the full count,');
    w('per call, is in the last row (one-time growth included). Every reading also gives the system\'s own count of live calls');
    w('(trapezoid\'s, rtpengine\'s), which must match the client\'s: both systems end a call whose media is silent too long');
    w('(rtpengine --timeout=600, trapezoid lifetime.mediaTimeout: 600 here), and the slope must not count calls already ended.');
  }
  w();
  w(`| | ${NAMES[T]} | ${NAMES[K]} | ratio |`);
  w('| --- | ---: | ---: | --- |');
  const kib = (x) => (Number.isFinite(x) ? x / 1024 : NaN);
  w(`| RSS per live call (KiB) | ${f(kib(mT?.rssPerCall), 1)} | ${f(kib(mK?.rssPerCall), 1)} | ${ratio(mK?.rssPerCall, mT?.rssPerCall, 'anchor / trapezoid; ≥ 1.0: trapezoid uses no more')} |`);
  w(`| PSS per live call (KiB) | ${f(kib(mT?.pssPerCall), 1)} | ${f(kib(mK?.pssPerCall), 1)} | ${ratio(mK?.pssPerCall, mT?.pssPerCall, 'anchor / trapezoid')} |`);
  w(`| RSS per live call, second half (KiB) | ${f(kib(mT?.rssPerCallUpper), 1)} | ${f(kib(mK?.rssPerCallUpper), 1)} | ${ratio(mK?.rssPerCallUpper, mT?.rssPerCallUpper, 'anchor / trapezoid')} |`);
  w(`| PSS per live call, second half (KiB) | ${f(kib(mT?.pssPerCallUpper), 1)} | ${f(kib(mK?.pssPerCallUpper), 1)} | ${ratio(mK?.pssPerCallUpper, mT?.pssPerCallUpper, 'anchor / trapezoid')} |`);
  if (mT?.rssFromFresh !== undefined || mK?.rssFromFresh !== undefined) {
    w(`| RSS from the fresh process to ${run.options.memoryCalls} calls, per call (KiB; one-time growth included) | ${f(kib(mT?.rssFromFresh), 1)} | ${f(kib(mK?.rssFromFresh), 1)} | ${ratio(mK?.rssFromFresh, mT?.rssFromFresh, 'anchor / trapezoid')} |`);
  }
  w();
  w('| system | live calls | the system\'s count | RSS MiB | PSS MiB | load |');
  w('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [p, sys] of [[mT, T], [mK, K]]) {
    for (const r of p?.readings ?? []) w(`| ${NAMES[sys]} | ${r.liveCalls}${r.fresh ? ' (fresh, before the warm-up)' : ''} | ${r.sutLiveCalls ?? '-'} | ${f(r.rss / 1048576, 1)} | ${f(r.pss / 1048576, 1)} | ${f(r.load, 1)} |`);
  }
  w();

  w('## Against the goals of issue 12');
  w();
  const goal = (ok, text) => w(`- ${ok === null ? 'not measured' : ok ? '**met**' : '**not met**'}: ${text}`);
  const cpuRatio = sameT && sameK ? sameK.cpuMsPerCall / sameT.cpuMsPerCall : null;
  goal(cpuRatio === null ? null : cpuRatio >= 1, `CPU per browser call setup at most the anchor's (at ${shared ?? '-'} calls/s, both): ratio (anchor / trapezoid) ${f(cpuRatio)}` +
    (cpuRatio !== null && cpuRatio < 1 ? `, trapezoid ${f((1 / cpuRatio - 1) * 100, 0)}% above the anchor` : '') +
    `; at each one's highest rate passed ${ratio(bK?.cpuMsPerCall, bT?.cpuMsPerCall, 'anchor / trapezoid')}.`);
  goal(bT && bK ? bT.rate >= bK.rate : null, `calls per second at least the anchor's: ${atLeast(bT)} vs ${atLeast(bK)}` +
    (bT && bK && bT.rate < bK.rate ? ` (ratio ${bK.rate === top ? 'at most ' : ''}${f(bT.rate / bK.rate)}, trapezoid ${bK.rate === top ? 'at least ' : ''}${f((1 - bT.rate / bK.rate) * 100, 0)}% below)` : '') + '.');
  const d = sameT && sameK ? sameT.inviteTo200Ms.median - sameK.inviteTo200Ms.median : null;
  goal(d === null ? null : d <= 1, `INVITE -> 200 median within 1 ms of the anchor's (at ${shared ?? '-'} calls/s, both): ${f(d)} ms difference (trapezoid - anchor).`);
  goal(bT ? bT.firstSrtpAfter200Ms.p99 < 50 : null, `first SRTP after 200, p99 under 50 ms: ${f(bT?.firstSrtpAfter200Ms.p99)} ms.`);
  goal(mT ? mT.rssPerCall / 1024 <= 50 : null, `memory per live call at most 50 KiB RSS: ${f(kib(mT?.rssPerCall), 1)} KiB` +
    (mT && mT.rssPerCall / 1024 > 50 ? ` (${f((mT.rssPerCall / 1024 / 50 - 1) * 100, 0)}% over; second half ${f(kib(mT.rssPerCallUpper), 1)} KiB)` : '') +
    (mT?.rssFromFresh !== undefined ? `; from the fresh process, one-time growth included: ${f(kib(mT.rssFromFresh), 1)} KiB per call` : '') + '.');
  goal(lat(cT) ? lat(cT).bothMs.p99 < 1 : null, `added one-way latency p99 under 1 ms at half capacity: ${f(lat(cT)?.bothMs.p99, 3)} ms.`);
  w();
  w('## Notes');
  w();
  w(notes.trim());
  w();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, out.join('\n'));
}
