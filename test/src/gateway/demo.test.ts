// The newcomer's path: `npm start` with no configuration, open the demo page in
// Chromium, call `echo`, and hear yourself: echoed audio packets arrive at the
// browser through the whole gateway (WebRTC leg, bridge, RTP leg, echo UAS).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, type Browser } from '../media/chromium.js';
import { REPO_ROOT } from '../sip/sipp.js';

interface Health { liveCalls: number; portsInUse: number; callsCompleted: number }
interface Softphone { registered: boolean; callState: string; ended: unknown; stats(): Promise<{ packetsReceived: number; packetsSent: number; dtlsState: string | null } | null> }
declare const window: { softphone: Softphone };

let gateway: ChildProcess | null = null;
let browser: Browser | null = null;
after(async () => {
  await browser?.close();
  if (gateway && gateway.exitCode === null) {
    // npm does not pass SIGTERM on to the gateway it started: signal the whole
    // process group, and wait for the pipes to close (the gateway holds them).
    const closed = new Promise((resolve) => gateway!.once('close', resolve));
    process.kill(-gateway.pid!, 'SIGTERM');
    await closed;
  }
});

async function startGateway(): Promise<string> {
  const child = spawn('npm', ['start', '--silent'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, TRAPEZOID_LOGGING__LEVEL: 'warn' } });
  gateway = child;
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not print its URL: ${out} ${err}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /demo softphone: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}`)));
  });
}

async function health(url: string): Promise<Health> {
  return (await (await fetch(new URL('/health', url))).json()) as Health;
}

test('npm start, demo page calls echo: echoed audio reaches the browser, then everything is released', { timeout: 90_000 }, async () => {
  const url = await startGateway();
  browser = await launchChromium();
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.softphone.registered, undefined, { timeout: 15_000 });
  await page.click('#call');
  await page.waitForFunction(() => window.softphone.callState === 'in call', undefined, { timeout: 15_000 });
  let s = await page.evaluate(() => window.softphone.stats());
  for (const until = Date.now() + 20_000; Date.now() < until && !(s && s.packetsReceived >= 50 && s.packetsSent >= 50);) {
    await new Promise((r) => setTimeout(r, 250));
    s = await page.evaluate(() => window.softphone.stats());
  }
  assert.ok(s, 'the call has a peer connection');
  assert.equal(s.dtlsState, 'connected');
  assert.ok(s.packetsReceived >= 50, `echoed packets received: ${s.packetsReceived}`);
  const during = await health(url);
  assert.equal(during.liveCalls, 1);
  assert.ok(during.portsInUse >= 2, 'a call holds its WebRTC and RTP ports');

  const outDir = join(REPO_ROOT, 'test-output');
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, 'demo-echo-call.png') });
  console.log(`demo call: browser sent ${s.packetsSent}, received ${s.packetsReceived} echoed packets; screenshot test-output/demo-echo-call.png`);

  await page.click('#hangup');
  await page.waitForFunction(() => window.softphone.ended !== null, undefined, { timeout: 10_000 });
  const deadline = Date.now() + 10_000;
  let h = await health(url);
  while ((h.liveCalls !== 0 || h.portsInUse !== 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    h = await health(url);
  }
  assert.equal(h.liveCalls, 0, 'no live call after hang-up');
  assert.equal(h.portsInUse, 0, 'every media port released');
  assert.equal(h.callsCompleted, 1, JSON.stringify(h));
});
