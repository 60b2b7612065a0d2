// Responses nobody asked for, or broken where a transaction or dialog would read them,
// are discarded before anything reads them (RFC 3261 §18.1.2, RFC 4475 scalarlg). Found
// by the long wire fuzz run (libs/sip/testdata/fuzz-crashers/wire-stray-2xx-cseq.bin): a
// stray 2xx whose CSeq number is out of range threw out of the UA's re-ACK check and
// took the process down.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { TransportLayer } from '../transport/index.js';
import { UserAgent } from '../ua/user-agent.js';
import { FUZZ_CRASHERS_DIR } from '../test-support/testdata.js';

describe('broken responses are dropped at the transaction layer', () => {
  const layer = new TransportLayer();
  const peer = createSocket('udp4');
  let ua: UserAgent;
  let port = 0;
  before(async () => {
    port = (await layer.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 })).port;
    ua = new UserAgent({ transport: layer, timers: { T1: 50, T2: 400, T4: 500 } });
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
  });
  after(async () => {
    peer.close();
    await ua.close();
    await layer.close();
  });

  const send = (text: string | Buffer): Promise<void> => new Promise((resolve) => {
    peer.send(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, port, '127.0.0.1', () => setTimeout(resolve, 50));
  });

  it('a stray 2xx to INVITE with a CSeq number out of range (the saved crasher) is dropped', async () => {
    await send(readFileSync(FUZZ_CRASHERS_DIR + 'wire-stray-2xx-cseq.bin'));
    await send('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n' +
      'Call-ID: stray\r\nCSeq: 99999999999999999 INVITE\r\nContent-Length: 0\r\n\r\n');
    assert.equal(ua.counters.transactions, 0);
  });

  it('a 200 with a malformed Contact for a live INVITE is dropped; the INVITE times out (408), no dialog', async () => {
    const out = ua.request('INVITE', `sip:peer@127.0.0.1:${peer.address().port}`, { body: 'v=0\r\n', contentType: 'application/sdp' });
    const got = new Promise<Buffer>((resolve) => peer.once('message', resolve));
    const invite = (await got).toString('latin1');
    const via = /^Via: (.*)\r$/m.exec(invite)![1]!;
    const from = /^From: (.*)\r$/m.exec(invite)![1]!;
    const to = /^To: (.*)\r$/m.exec(invite)![1]!;
    await send(`SIP/2.0 200 OK\r\nVia: ${via}\r\nFrom: ${from}\r\nTo: ${to};tag=z\r\nCall-ID: ${out.message.callId}\r\nCSeq: 1 INVITE\r\n` +
      'Contact: <sip:broken@>>;;\r\nContent-Length: 0\r\n\r\n');
    assert.equal(ua.dialogs.size, 0, 'no dialog from a 200 that does not validate');
    assert.equal((await out.final).status, 408);
  });
});
