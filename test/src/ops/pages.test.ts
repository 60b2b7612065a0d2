// Issue 11 acceptance, the pages, in headless Chromium: during a call to the echo
// service the demo softphone shows its state, a running duration, microphone and
// speaker levels that move, packets and loss both ways and the DTLS/SRTP suite; the
// /admin page, opened by signing in with the token, lists the live call with each leg's
// media health and updates it live, then drops it when the call ends. Screenshots of
// both are kept in test-output/.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from '../media/chromium.js';
import { REPO_ROOT } from '../sip/sipp.js';
import { ADMIN_TOKEN, CALLER, assertReleasedAndStop, openSoftphone, sleep, startGateway, waitCallState, waitEnded, type TestGateway } from '../gateway/harness.js';

const PORTS = { min: 14800, max: 14949 };
const OUT = join(REPO_ROOT, 'test-output');

/** The text of an element of the page. */
function textOf(page: Page, selector: string): Promise<string> {
  return page.locator(selector).first().innerText();
}

describe('demo softphone and admin pages (Chromium)', { timeout: 120_000 }, () => {
  let gw: TestGateway | null = null;
  let browser: Browser | null = null;
  after(async () => {
    await browser?.close();
    await gw?.stop();
  });

  it('a call to echo: the softphone shows its media, the admin page lists it live with per-leg health', async () => {
    let passed = false;
    try {
      mkdirSync(OUT, { recursive: true });
      const g = gw = await startGateway({ ports: PORTS, edit: (raw) => { raw.monitor = { intervalMs: 250, oneWayAudioSeconds: 5 }; } });
      browser = await launchChromium();
      const phone = await browser.context.newPage();
      await openSoftphone(phone, g, { user: CALLER.username, password: CALLER.password, target: 'echo' });
      await phone.click('#call');
      await waitCallState(phone, /^in call$/);

      // Levels that change (Chromium's fake microphone beeps; the echo brings it back),
      // packets both ways, the suite, a duration that runs.
      const outLevels = new Set<string>();
      const inLevels = new Set<string>();
      for (const until = Date.now() + 12_000; Date.now() < until && (outLevels.size < 3 || inLevels.size < 3);) {
        outLevels.add(await textOf(phone, '#level-out-value'));
        inLevels.add(await textOf(phone, '#level-in-value'));
        await sleep(100);
      }
      assert.ok(outLevels.size >= 3, `microphone level moves: ${[...outLevels].join(' ')}`);
      assert.ok(inLevels.size >= 3, `speaker level moves: ${[...inLevels].join(' ')}`);
      assert.ok([...inLevels].some((v) => Number(v) > 0), 'the echoed audio is heard');
      const sent = Number(await textOf(phone, '#packets-sent'));
      const received = Number(await textOf(phone, '#packets-received'));
      assert.ok(sent > 20 && received > 20, `packets both ways: sent ${sent}, received ${received}`);
      assert.match(await textOf(phone, '#lost-in'), /^\d+$/);
      assert.match(await textOf(phone, '#crypto'), /^DTLS 1\.2, TLS_\w+, SRTP_(AES|AEAD)\w+$/, 'the DTLS version and cipher and the SRTP profile are shown');
      // The levels can settle within the first second: wait for the clock to tick.
      await phone.waitForFunction(() => /^00:(0[1-9]|[1-5]\d)$/.test(document.getElementById('duration')?.textContent ?? ''), undefined, { timeout: 5_000 })
        .catch(() => undefined);
      assert.match(await textOf(phone, '#duration'), /^00:(0[1-9]|[1-5]\d)$/, 'the duration runs');
      await phone.screenshot({ path: join(OUT, 'demo-softphone-in-call.png'), fullPage: true });

      // The admin page: the login form, the token, then the live call.
      const page = await browser.context.newPage();
      await page.goto(`${g.ops.adminUrl!}/admin`);
      assert.equal(await page.locator('tbody tr').count(), 0, 'no data before signing in');
      await page.fill('#token', ADMIN_TOKEN);
      await Promise.all([page.waitForURL(/\/admin$/), page.click('#login')]);
      const callId = g.calls.list()[0]!.id;
      const row = page.locator(`tr[data-call-id="${callId}"]`);
      await row.waitFor({ timeout: 10_000 });
      await page.waitForFunction((id) => document.querySelector(`tr[data-call-id="${id}"] .health`)?.textContent === 'ok', callId, { timeout: 10_000 });
      assert.equal(await row.locator('.state').innerText(), 'answered');
      const browserLeg = await row.locator('td[data-leg="browser"]').innerText();
      const trunkLeg = await row.locator('td[data-leg="trunk"]').innerText();
      assert.match(browserLeg, /^ws 127\.0\.0\.1:\d+/m);
      assert.match(browserLeg, /ICE connected, DTLS connected \((AES|AEAD)\w+\)/);
      assert.match(trunkLeg, /^udp 127\.0\.0\.1:\d+/m);
      // Jitter of what Chromium sends, on the negotiated codec's clock (a 48 kHz guess for a
      // PCMU stream read as 100 ms from a sender on time).
      const jitterMs = Number(/jitter ([\d.]+) ms/.exec(browserLeg)?.[1]);
      assert.ok(jitterMs >= 0 && jitterMs < 50, `browser leg jitter ${jitterMs} ms: ${browserLeg}`);
      const packetsIn = async (): Promise<number> => Number(/in (\d+) pkts/.exec(await row.locator('td[data-leg="trunk"] .in').innerText())![1]);
      const first = await packetsIn();
      await sleep(1_500);
      const second = await packetsIn();
      assert.ok(second > first && first > 0, `the page updates live: ${first} then ${second} packets from the trunk leg`);
      await page.screenshot({ path: join(OUT, 'admin-live-calls.png') });

      // The call ends: it leaves the page.
      await phone.click('#hangup');
      await waitEnded(phone);
      await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 0, undefined, { timeout: 10_000 });
      assert.equal(await page.locator('#empty').isVisible(), true);
      console.log('screenshots: test-output/demo-softphone-in-call.png, test-output/admin-live-calls.png');
      passed = true;
    } finally {
      await browser?.close();
      browser = null;
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
    }
  });
});
