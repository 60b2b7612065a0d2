// Issue 8 ("RTP bleed"): anyone who guesses a live call's media port and sends RTP there
// must neither be heard by the caller nor take the call's audio over, also after the
// trunk fell silent (where latching used to learn a new source). A browser (JsSIP and
// werift in Node) calls SIPp, which echoes its audio; a stranger on 127.0.0.2 sprays
// RTP at the gateway's trunk-side port (and at the browser-side one, where only the
// ICE pair's authenticated SRTP counts). On both media paths.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { freePort, startSipp, type SippRun } from '../sip/sipp.js';
import { assertReleasedAndStop, sleep, startGateway, type TestGateway } from './harness.js';
import { callWithWerift, registerUa, stopUa, type JsSipUA } from './jssip-caller.js';

const PORTS = { min: 10300, max: 10399 };

function rtp(seq: number, ssrc: number, fill: number): Buffer {
  const b = Buffer.alloc(12 + 160, fill);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

describe('a stranger\'s RTP at a live call\'s port', { timeout: 90_000 }, () => {
  let sipp: SippRun | null = null;
  let gw: TestGateway | null = null;
  let ua: JsSipUA | null = null;
  after(async () => {
    if (ua) await stopUa(ua);
    await gw?.stop();
    await sipp?.stop();
  });

  for (const native of [true, false]) it(`is not forwarded and does not move the leg (${native ? 'native fast path' : 'TypeScript media path'})`, { timeout: 40_000 }, async () => {
    let passed = false;
    const stranger = createSocket('udp4');
    const strangerGot: Buffer[] = [];
    try {
      const trunkPort = await freePort();
      sipp = await startSipp({ port: trunkPort, args: ['-sn', 'uas', '-rtp_echo', '-m', '1'], timeoutSec: 40 });
      gw = await startGateway({ trunkPort, ports: PORTS, native });
      ua = await registerUa(gw);
      const call = await callWithWerift(ua, '1000');
      await call.sendAudio(25, 0x11);
      for (const until = Date.now() + 2_000; call.received.length < 20 && Date.now() < until;) await sleep(50);
      assert.ok(call.received.length >= 20, `SIPp's echo reached werift: ${call.received.length}`);
      const media = gw.calls.list()[0]!.media!;
      const target = media.rtpEndpoint;
      await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.2', resolve));
      stranger.on('message', (m) => strangerGot.push(m));
      const browserSide = media.webrtcEndpoint;
      const spray = async (n: number, from: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          // Half with a guessed SSRC, half with its own; payload 0xEE marks the stranger's audio.
          stranger.send(rtp(from + i, i % 2 === 0 ? 0x12345678 : 0xbadbad00, 0xee), target.port, target.address);
          // The browser-side port too: RTP that cannot authenticate, from a source that never passed ICE.
          if (i % 5 === 0) stranger.send(rtp(from + i, 0x12345678, 0xee), browserSide.port, browserSide.address);
          await sleep(5);
        }
      };
      // While the call's audio flows: the trunk leg is latched to SIPp.
      await Promise.all([spray(50, 1000), call.sendAudio(10, 0x22)]);
      // Everybody falls silent past the relatch time (3 s, checked each second), then the
      // stranger tries again: this is where latching used to learn a new source.
      await sleep(4_200);
      await spray(100, 2000);
      await sleep(200);
      const before = call.received.length;
      await call.sendAudio(25, 0x33);
      for (const until = Date.now() + 2_000; call.received.length < before + 20 && Date.now() < until;) await sleep(50);
      assert.ok(call.received.length >= before + 20, 'after the stranger\'s attempts the echo still comes back: the leg still sends to SIPp');
      assert.equal(call.received.filter((p) => p.startsWith('eeee')).length, 0, 'werift never received the stranger\'s audio');
      assert.equal(strangerGot.length, 0, 'the stranger received nothing from the call');
      const stats = await media.stats();
      assert.ok(stats.rtp.packetsDropped! >= 100, `the stranger's packets were dropped: ${JSON.stringify(stats.rtp)}`);
      assert.ok(stats.webrtc.packetsDropped! >= 30, `and at the browser-side port: ${JSON.stringify(stats.webrtc)}`);

      const ended = new Promise((resolve) => call.session.once('ended', resolve));
      call.session.terminate();
      await ended;
      await stopUa(ua);
      ua = null;
      passed = true;
    } finally {
      stranger.close();
      const g = gw;
      gw = null;
      if (g) await assertReleasedAndStop(g, passed);
      await sipp?.stop();
      sipp = null;
    }
  });
});
