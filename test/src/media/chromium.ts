// Headless Chromium for the media tests: the flags INTEROP-NOTES.md lists (fake audio
// device, loopback candidates allowed, no mDNS hiding), a fresh profile per launch, and
// a tiny HTTP server on 127.0.0.1 that serves the test page and takes its SDP offer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'trapezoid-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Answers the page's POST /offer with `answer(offerSdp)`; serves files from `pagesDir`. */
export interface PageServer {
  url: string;
  answer: ((offer: string) => Promise<string>) | null;
  close(): Promise<void>;
}

export async function servePages(pagesDir: string): Promise<PageServer> {
  const state: PageServer = { url: '', answer: null, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/offer') {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        const handler = state.answer;
        if (!handler) { res.writeHead(503).end('no call expected'); return; }
        handler(body).then(
          (sdp) => res.writeHead(200, { 'content-type': 'application/sdp' }).end(sdp),
          (e: Error) => res.writeHead(488).end(e.message),
        );
      });
      return;
    }
    const name = req.url === '/' ? 'webrtc-leg.html' : (req.url ?? '').slice(1);
    if (!/^[\w.-]+$/.test(name)) { res.writeHead(404).end(); return; }
    try {
      const body = readFileSync(join(pagesDir, name));
      res.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  state.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  state.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return state;
}

export async function openPage(browser: Browser, server: PageServer): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  return page;
}
