// Acceptance of the WebRTC leg against a real browser: headless Chromium offers audio,
// the test answers with a WebRTC leg (ICE-lite, DTLS-SRTP, rtcp-mux, BUNDLE kept) whose
// plain RTP goes to an RTP/AVP endpoint that echoes it back. Chromium's own getStats()
// must show DTLS connected and packets both ways; the leg's marks give the time from
// ICE nomination to media.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { WebRtcLeg, nativeUnavailableReason, type DtlsImplementation, type WebRtcLegOptions, type WebRtcLegState } from '@trapezoid/media';
import type { Page } from 'playwright-core';
import { launchChromium, openPage, servePages, type Browser, type PageServer } from './chromium.js';
import { ECHO_SSRC_XOR, startRtpEcho, type RtpEcho } from './rtp-echo.js';
import { readOffer, writeAnswer, writeOffer, type BrowserOffer } from './webrtc-answer.js';

const PAGES = fileURLToPath(new URL('../../src/media/pages/', import.meta.url));

interface CallStats {
  inboundPackets: number;
  outboundPackets: number;
  dtlsState: string;
  srtpCipher: string;
  iceState: string;
  selectedPair: { state: string; nominated: boolean; remote: string } | null;
}

/** One browser call: the leg, the RTP side joining it to the echo, and the page. */
interface Call {
  leg: WebRtcLeg;
  page: Page;
  rtpSocket: Socket;
  close(): Promise<void>;
}

let browser: Browser;
let server: PageServer;
let echo: RtpEcho;

// The RTP/AVP side of the bridge: plain RTP between the call's leg and the echo
// endpoint. Returned packets are copied into a buffer with room for the SRTP tag.
async function bridgeToEcho(call: { leg: WebRtcLeg | null }): Promise<Socket> {
  const rtp = createSocket('udp4');
  await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve));
  const out = Buffer.alloc(1500 + 16);
  rtp.on('message', (msg) => {
    msg.copy(out, 0);
    call.leg?.sendRtp(out, msg.length);
  });
  return rtp;
}

function wire(leg: WebRtcLeg, rtp: Socket): void {
  leg.onRtp = (buf, len) => rtp.send(buf, 0, len, echo.port, '127.0.0.1');
}

async function startCall(opts: Partial<WebRtcLegOptions>, tamper?: (offer: BrowserOffer) => void): Promise<Call> {
  const holder: { leg: WebRtcLeg | null } = { leg: null };
  const rtp = await bridgeToEcho(holder);
  const makeLeg = async (offer: BrowserOffer): Promise<WebRtcLeg> => {
    const remote = { ...offer.remote, fingerprints: offer.remote.fingerprints.map((f) => ({ ...f })) };
    tamper?.({ ...offer, remote });
    holder.leg = await WebRtcLeg.create({ address: '127.0.0.1', remote, ...opts });
    wire(holder.leg, rtp);
    return holder.leg;
  };
  server.answer = async (sdp) => {
    const offer = readOffer(sdp);
    return writeAnswer(offer, (await makeLeg(offer)).localParameters, (offer.ssrc ^ ECHO_SSRC_XOR) >>> 0);
  };
  const page = await openPage(browser, server);
  try {
    await page.evaluate(() => (window as unknown as { startCall(): Promise<void> }).startCall());
  } finally {
    server.answer = null;
  }
  assert.ok(holder.leg, 'the page posted its offer');
  const call: Call = {
    leg: holder.leg,
    page,
    rtpSocket: rtp,
    async close() {
      await page.evaluate(() => (window as unknown as { endCall(): void }).endCall()).catch(() => undefined);
      await page.close();
      await call.leg.close();
      await new Promise<void>((resolve) => rtp.close(() => resolve()));
    },
  };
  // The RTP side follows call.leg (replaced when a test restores the leg).
  Object.defineProperty(holder, 'leg', { get: () => call.leg });
  return call;
}

function stats(page: Page): Promise<CallStats> {
  return page.evaluate(() => (window as unknown as { callStats(): Promise<CallStats> }).callStats());
}

async function waitFor(page: Page, ok: (s: CallStats) => boolean, ms: number): Promise<CallStats> {
  const until = Date.now() + ms;
  let s = await stats(page);
  while (!ok(s) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    s = await stats(page);
  }
  return s;
}

// getStats() names profiles as in the DTLS-SRTP registry (RFC 5764 §4.1.2, RFC 7714 §14.2).
const CHROME_SRTP_NAMES = { AEAD_AES_128_GCM: 'SRTP_AEAD_AES_128_GCM', AES_CM_128_HMAC_SHA1_80: 'SRTP_AES128_CM_HMAC_SHA1_80' };

const DTLS_PATHS: [DtlsImplementation, Partial<WebRtcLegOptions>][] = [['native', {}], ['werift', { native: false }]];

function since(from: number, to: number): number {
  return Math.round((to - from) * 10) / 10;
}

describe('WebRTC leg with headless Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    browser = await launchChromium();
    server = await servePages(PAGES);
    echo = await startRtpEcho();
    assert.equal(await WebRtcLeg.prepare(), 'native', `the native addon is built: ${String(nativeUnavailableReason())}`);
    await WebRtcLeg.prepare({ native: false });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await echo?.close();
  });

  // Both DTLS paths: OpenSSL in the native addon over its sockets (the default) and the
  // fallback a build without the addon runs, werift over dgram with TypeScript SRTP.
  for (const [dtls, pathOpts] of DTLS_PATHS) for (const profile of ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'] as const) {
    for (const answerSetup of ['passive', 'active'] as const) {
      test(`${dtls} DTLS, ${profile}, we answer setup:${answerSetup}: audio flows both ways and media starts right after ICE`, async () => {
        const call = await startCall({ ...pathOpts, profiles: [profile], answerSetup });
        try {
          const s = await waitFor(call.page, (x) => x.inboundPackets > 50 && x.outboundPackets > 50, 15_000);
          const { leg } = call;
          const m = leg.marks;
          assert.equal(s.dtlsState, 'connected');
          assert.equal(s.srtpCipher, CHROME_SRTP_NAMES[profile], 'Chromium reports the SRTP profile the leg insisted on');
          assert.equal(leg.srtpProfile, profile);
          assert.equal(leg.dtlsImplementation, dtls);
          assert.equal(leg.dtlsRole, answerSetup === 'passive' ? 'server' : 'client');
          assert.ok(s.outboundPackets > 50, `browser sent ${s.outboundPackets} packets`);
          assert.ok(s.inboundPackets > 50, `browser received ${s.inboundPackets} packets back through the leg`);
          assert.equal(s.selectedPair?.remote, `127.0.0.1:${leg.localPort}`);
          assert.ok(leg.stats.packetsIn > 50 && leg.stats.packetsOut > 50);
          assert.equal(leg.stats.packetsDropped, 0, 'no SRTP packet failed authentication');
          assert.ok(m.iceCheckedAt > 0 && m.iceNominatedAt > 0 && m.dtlsConnectedAt > 0 && m.firstRtpInAt > 0 && m.firstRtpOutAt > 0);
          // "ICE connected" is the first check we answered: Chromium's ICE state turns
          // connected on our response, and it nominates (USE-CANDIDATE) only later.
          const dtlsMs = since(m.iceCheckedAt, m.dtlsConnectedAt);
          const firstIn = since(m.iceCheckedAt, m.firstRtpInAt);
          const firstBack = since(m.iceCheckedAt, m.firstRtpOutAt);
          console.log(`# ${dtls} ${profile} setup:${answerSetup}: ICE connected -> DTLS done ${dtlsMs} ms, -> first SRTP in ${firstIn} ms, ` +
            `-> first SRTP back to the browser ${firstBack} ms; nominated at +${since(m.iceCheckedAt, m.iceNominatedAt)} ms ` +
            `(leg created -> ICE ${since(m.createdAt, m.iceCheckedAt)} ms)`);
          assert.ok(firstIn < 1000, `first SRTP ${firstIn} ms after ICE`);
          assert.ok(firstBack < 1000, `first echoed packet ${firstBack} ms after ICE`);
          const state = leg.exportState();
          assert.equal(state.srtp?.profile, profile);
          assert.deepEqual(state.selected, leg.remoteAddress);
          assert.deepEqual(JSON.parse(JSON.stringify(state)), state, 'the takeover record is JSON-safe');
        } finally {
          await call.close();
        }
      });
    }
  }

  for (const [dtls, pathOpts] of DTLS_PATHS) test(`${dtls} DTLS: a browser whose certificate does not match a=fingerprint gets no media: the leg closes with an error`, async () => {
    const call = await startCall(pathOpts, (offer) => {
      const fp = offer.remote.fingerprints[0]!;
      fp.value = (fp.value.startsWith('00') ? '11' : '00') + fp.value.slice(2);
    });
    try {
      const until = Date.now() + 10_000;
      while (!call.leg.isClosed && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(call.leg.isClosed, 'the leg closed itself');
      assert.match(String(call.leg.lastError?.message), /fingerprint/);
      assert.equal(call.leg.srtpProfile, null, 'no SRTP keys were installed');
      const s = await stats(call.page);
      assert.equal(s.inboundPackets, 0, 'the browser received no media');
      assert.equal(call.leg.stats.packetsIn, 0);
    } finally {
      await call.close();
    }
  });

  test("consent: the browser's checks keep the leg sending; once it hangs up, consent expires and sending stops", async () => {
    const call = await startCall({ consentTimeoutMs: 6000 });
    try {
      await waitFor(call.page, (x) => x.inboundPackets > 50, 15_000);
      let dtlsClosed = false;
      let lost = 0;
      call.leg.on('dtlsClosed', () => { dtlsClosed = true; });
      call.leg.on('consentLost', () => { lost = performance.now(); });
      await new Promise((resolve) => setTimeout(resolve, 7000));
      assert.equal(call.leg.consentLost, false, 'periodic checks kept consent for longer than the timeout');
      const hungUp = performance.now();
      await call.page.evaluate(() => (window as unknown as { endCall(): void }).endCall());
      const until = Date.now() + 10_000;
      while (lost === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(lost > 0, 'consentLost fired');
      const after = lost - hungUp;
      console.log(`# consent lost ${Math.round(after)} ms after the browser hung up (timeout 6000 ms)`);
      assert.ok(after < 8000, `consent lost ${after} ms after hang-up`);
      assert.ok(dtlsClosed, "the browser's DTLS close_notify was seen");
      const out = call.leg.stats.packetsOut;
      const buf = Buffer.alloc(64);
      buf[0] = 0x80;
      call.leg.sendRtp(buf, 12);
      assert.equal(call.leg.stats.packetsOut, out, 'nothing is sent without consent');
    } finally {
      await call.close();
    }
  });

  test('takeover: a leg restored from exportState() on the same port carries on without a new handshake', async () => {
    const call = await startCall({});
    try {
      await waitFor(call.page, (x) => x.inboundPackets > 50 && x.outboundPackets > 50, 15_000);
      const state = JSON.parse(JSON.stringify(call.leg.exportState())) as WebRtcLegState;
      assert.ok(state.srtp, 'SRTP keys are in the record once DTLS is done');
      await call.leg.close();
      const before = (await stats(call.page)).inboundPackets;
      call.leg = await WebRtcLeg.restore(state);
      wire(call.leg, call.rtpSocket);
      const s = await waitFor(call.page, (x) => x.inboundPackets > before + 50, 10_000);
      assert.ok(s.inboundPackets > before + 50, `browser received ${s.inboundPackets - before} packets from the restored leg`);
      assert.equal(s.dtlsState, 'connected');
      assert.equal(call.leg.localPort, state.port);
      assert.ok(call.leg.stats.packetsIn > 50);
      assert.equal(call.leg.stats.packetsDropped, 0, 'the restored SRTP contexts authenticate every packet');
      assert.equal(call.leg.marks.dtlsConnectedAt, 0, 'no DTLS handshake happened');
    } finally {
      await call.close();
    }
  });

  for (const [dtls, pathOpts] of DTLS_PATHS) test(`${dtls} DTLS: we offer (actpass, ICE-lite) and Chromium answers active: DTLS starts before its answer reaches us, media flows`, async () => {
    const leg = await WebRtcLeg.create({ ...pathOpts, address: '127.0.0.1' });
    assert.equal(leg.dtlsImplementation, dtls);
    const rtp = await bridgeToEcho({ leg });
    wire(leg, rtp);
    echo.ssrc = 0x11223344;
    const page = await openPage(browser, server);
    try {
      assert.equal(leg.localParameters.setup, 'actpass');
      const answerSdp = await page.evaluate((o) => (window as unknown as { answerCall(o: string): Promise<string> }).answerCall(o),
        writeOffer(leg.localParameters, 0x11223344));
      // SIP delivers the browser's answer after its checks and ClientHello have arrived.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(leg.dtlsRole, 'server', "the browser's ClientHello made us the DTLS server before its answer arrived");
      const answer = readOffer(answerSdp);
      assert.equal(answer.remote.setup, 'active');
      leg.setRemoteParameters(answer.remote);
      const s = await waitFor(page, (x) => x.inboundPackets > 50 && x.outboundPackets > 50, 15_000);
      assert.equal(s.dtlsState, 'connected');
      assert.equal(leg.dtlsRole, 'server');
      assert.ok(s.inboundPackets > 50 && s.outboundPackets > 50, `browser sent ${s.outboundPackets}, received ${s.inboundPackets}`);
      assert.ok(leg.stats.packetsIn > 50 && leg.stats.packetsOut > 50);
    } finally {
      echo.ssrc = null;
      await page.evaluate(() => (window as unknown as { endCall(): void }).endCall()).catch(() => undefined);
      await page.close();
      await leg.close();
      await new Promise<void>((resolve) => rtp.close(() => resolve()));
    }
  });
});
