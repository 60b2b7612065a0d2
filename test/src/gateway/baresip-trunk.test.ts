// Issue 9 acceptance: baresip on the trunk side, with audio both ways. The browser is
// JsSIP + werift in Node sending a 1 kHz tone; baresip sends a 440 Hz sine. A call
// browser -> baresip (auto-answer) and a call baresip -> agent (the agent answers):
// each side must receive the other's tone (RMS of the decoded audio, not a packet
// count: silence would pass a count), and the teardown releases every call and port.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RtpHeader, RtpPacket, type MediaStreamTrack, type RTCPeerConnection, type RtpPacket as Rtp } from 'werift';
import { freePort } from '../sip/sipp.js';
import { startBaresip, muLawDecode, toneFrames } from '../sip/baresip.js';
import { nextEvent } from '../sip/jssip-node.js';
import { AGENT, AGENT_NUMBER, CALLER, DOMAIN, callEnd, sleep, udpPort } from './harness.js';
import { TestRig, type JsSipSession } from './trunk-harness.js';

const PORTS = { min: 12850, max: 12899 };
const BARESIP_RTP = { min: 12900, max: 12949 };
const PBX = '127.0.20.50';

/** Hooks werift's peer connection: counts the RMS of what it hears, sends a tone on demand. */
function audioProbe(): { attach(pc: RTCPeerConnection): void; rms(): number; sendTone(ms: number): Promise<void> } {
  let pc: RTCPeerConnection | null = null;
  let sum = 0;
  let n = 0;
  return {
    attach(p) {
      pc = p;
      p.onTrack.subscribe((track: MediaStreamTrack) => {
        track.onReceiveRtp.subscribe((rtp: Rtp) => {
          if (rtp.header.payloadType !== 0) return;
          for (const b of rtp.payload) { const s = muLawDecode(b); sum += s * s; n++; }
        });
      });
    },
    rms: () => (n === 0 ? 0 : Math.sqrt(sum / n)),
    async sendTone(ms) {
      const conn = pc!;
      for (const until = Date.now() + 15_000; conn.connectionState !== 'connected' && Date.now() < until;) await sleep(20);
      assert.equal(conn.connectionState, 'connected', 'ICE and DTLS with the gateway');
      const ts = conn.getTransceivers();
      const sender = (ts.find((t) => t.mid !== undefined) ?? ts[0]!).sender;
      const frames = toneFrames(1000, Math.ceil(ms / 20));
      for (let i = 0; i < frames.length; i++) {
        await sender.sendRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: i * 160, payloadType: 0, marker: i === 0 }), frames[i]!));
        await sleep(20);
      }
    },
  };
}

describe('baresip on the trunk side', { timeout: 150_000 }, () => {
  const rig = new TestRig();
  after(() => rig.tearDown());
  const run = (body: () => Promise<void>): Promise<void> => rig.run(body);

  it('browser -> baresip: answered, each side hears the other\'s tone, the browser\'s BYE ends baresip\'s call', { timeout: 60_000 }, () => run(async () => {
    const sipPort = await freePort();
    const pbx = rig.own(await startBaresip({ address: PBX, port: sipPort, user: '1000', rtpPorts: BARESIP_RTP }));
    const gw = await rig.gateway({ ports: PORTS, trunks: [{ name: 'pbx', address: PBX, port: sipPort, codecs: ['PCMU', 'telephone-event/8000'] }] });
    const ua = await rig.register(gw, CALLER);
    const probe = audioProbe();
    const session = ua.call(`sip:1000@${DOMAIN}`, {
      mediaConstraints: { audio: false, video: false },
      eventHandlers: {
        peerconnection: (e) => {
          const pc = e.peerconnection as unknown as RTCPeerConnection;
          pc.addTransceiver('audio', { direction: 'sendrecv' });
          probe.attach(pc);
        },
      },
    });
    await nextEvent(session, 'confirmed', 'failed', 30_000);
    await pbx.waitFor('Call established');
    await probe.sendTone(2_000);
    assert.ok(probe.rms() > 2_000, `the browser hears baresip's sine (RMS ${probe.rms().toFixed(0)})`);
    const ended = nextEvent(session, 'ended', 'failed');
    session.terminate();
    await ended;
    await pbx.waitFor(/terminated \(duration/);
    assert.ok(pbx.receivedRms() > 2_000, `baresip heard the browser's tone (RMS ${pbx.receivedRms().toFixed(0)})`);
    assert.equal((await callEnd(gw)).status, 200);
  }));

  it('baresip -> agent: the agent answers, each side hears the other\'s tone, the agent hangs up', { timeout: 60_000 }, () => run(async () => {
    const sipPort = await freePort();
    const gw = await rig.gateway({ ports: PORTS, trunks: [{ name: 'pbx', address: PBX, port: sipPort, codecs: ['PCMU', 'telephone-event/8000'] }] });
    const ua = await rig.register(gw, AGENT);
    const incoming = nextEvent<{ session: JsSipSession }>(ua, 'newRTCSession', undefined, 20_000);
    const pbx = rig.own(await startBaresip({ address: PBX, port: sipPort, user: 'pbx', rtpPorts: BARESIP_RTP, dial: `sip:${AGENT_NUMBER}@127.0.0.1:${udpPort(gw)}` }));
    const { session } = await incoming;
    const probe = audioProbe();
    session.on('peerconnection', (e: { peerconnection: unknown }) => {
      // A browser answering with its microphone: a send-receive audio transceiver before the offer is applied.
      const pc = e.peerconnection as RTCPeerConnection;
      pc.addTransceiver('audio', { direction: 'sendrecv' });
      probe.attach(pc);
    });
    session.answer({ mediaConstraints: { audio: false, video: false } });
    await nextEvent(session, 'confirmed', 'failed', 20_000);
    await pbx.waitFor('Call established');
    await probe.sendTone(2_000);
    assert.ok(probe.rms() > 2_000, `the agent hears baresip's sine (RMS ${probe.rms().toFixed(0)})`);
    const ended = nextEvent(session, 'ended', 'failed');
    session.terminate();
    await ended;
    await pbx.waitFor(/terminated \(duration/);
    assert.ok(pbx.receivedRms() > 2_000, `baresip heard the agent's tone (RMS ${pbx.receivedRms().toFixed(0)})`);
    assert.equal((await callEnd(gw)).status, 200);
  }));
});
