// The echo number without a browser: a libs/sip user agent on loopback UDP calls it
// with the kind of RTP/AVP offer the gateway sends, gets an answer, and hears its RTP
// come back; a BYE releases the echo's socket. An SRTP offer is refused with 488. A
// request from anyone but "the gateway" (here: the test's user agent) is refused 403,
// and RTP from a stranger is not reflected (issue 8).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { TransportLayer, UserAgent } from '@trapezoid/sip';
import { createLogger } from '../logging.js';
import { EchoService } from './echo-uas.js';

const transport = new TransportLayer();
let gatewayPort = -1;
const echo = new EchoService('127.0.0.1', createLogger('error', true), (source) => source.remotePort === gatewayPort);
const ua = new UserAgent({ transport, userAgentName: 'echo test' });
const rtp = createSocket('udp4');
let point: { address: string; port: number };
before(async () => {
  point = await echo.start();
  gatewayPort = (await transport.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 })).port;
  rtp.bind(0, '127.0.0.1');
  await once(rtp, 'listening');
});
after(async () => {
  rtp.close();
  await ua.close();
  await transport.close();
  await echo.close();
});

function offer(port: number, profile = 'RTP/AVP', extra = ''): string {
  return ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} ${profile} 0 8 101`,
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20',
    ...(extra ? [extra] : []), 'a=sendrecv', ''].join('\r\n');
}

async function call(body: string) {
  const req = ua.request('INVITE', `sip:echo@127.0.0.1:${point.port}`, {
    destination: { protocol: 'udp', address: point.address, port: point.port }, body, contentType: 'application/sdp',
  });
  return { req, res: await req.final };
}

test('an RTP/AVP offer is answered with its codecs, and RTP sent to the answer comes back; BYE releases the socket', { timeout: 10_000 }, async () => {
  const { req, res } = await call(offer(rtp.address().port));
  assert.equal(res.status, 200);
  const answer = res.body.toString('utf8');
  const m = /^m=audio (\d+) RTP\/AVP 0 8 101\r$/m.exec(answer);
  assert.ok(m, answer);
  assert.match(answer, /^c=IN IP4 127\.0\.0\.1\r$/m);
  assert.equal(echo.activeCalls, 1);

  const packet = Buffer.from('8000000100000000deadbeef' + 'ff'.repeat(160), 'hex');
  const echoed = once(rtp, 'message');
  rtp.send(packet, Number(m[1]), '127.0.0.1');
  const [back] = await echoed as [Buffer];
  assert.deepEqual(back, packet);

  // A stranger who finds the echo's media port gets nothing back.
  const stranger = createSocket('udp4');
  await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.1', resolve));
  let reflected = 0;
  stranger.on('message', () => reflected++);
  for (let i = 0; i < 5; i++) stranger.send(packet, Number(m[1]), '127.0.0.1');
  await new Promise((r) => setTimeout(r, 200));
  stranger.close();
  assert.equal(reflected, 0, 'RTP from another source is not reflected');

  await req.dialog!.bye();
  const live = (): number => echo.activeCalls;
  for (const until = Date.now() + 2_000; live() !== 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
  assert.equal(live(), 0);
});

test('an RTP/SAVP offer is refused with 488 and leaves no socket', { timeout: 10_000 }, async () => {
  const sdes = 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:1';
  const { res } = await call(offer(rtp.address().port, 'RTP/SAVP', sdes));
  assert.equal(res.status, 488);
  assert.equal(echo.activeCalls, 0);
});

test('an INVITE from anyone but the gateway is refused 403 and binds nothing', { timeout: 10_000 }, async () => {
  const other = new TransportLayer();
  const otherUa = new UserAgent({ transport: other });
  try {
    await other.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
    const res = await otherUa.request('INVITE', `sip:echo@127.0.0.1:${point.port}`, {
      destination: { protocol: 'udp', address: point.address, port: point.port }, body: offer(rtp.address().port), contentType: 'application/sdp',
    }).final;
    assert.deepEqual([res.status, res.reason], [403, 'Echo answers the gateway only']);
    assert.equal(echo.activeCalls, 0);
  } finally {
    await otherUa.close();
    await other.close();
  }
});
