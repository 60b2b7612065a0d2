import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, redactDeep, redactSipMessage, redactText } from './redact.js';

const KEY = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz';

test('SDES keys are replaced and Content-Length follows the shorter body', () => {
  const body = `v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:32\r\na=ice-pwd:asd88fgpdd777uzjYhagZg\r\n`;
  const msg = `INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const out = redactSipMessage(Buffer.from(msg)).toString();
  assert.ok(!out.includes(KEY), 'the master key is gone');
  assert.ok(!out.includes('asd88fgpdd777uzjYhagZg'), 'the ICE password is gone');
  assert.match(out, new RegExp(`inline:\\${REDACTED}\\|2\\^20\\|1:32`), 'lifetime and MKI are kept');
  const [head, newBody] = out.split('\r\n\r\n') as [string, string];
  assert.equal(Number(/Content-Length: (\d+)/.exec(head)![1]), Buffer.byteLength(newBody), 'Content-Length matches the new body');
});

test('credentials in Authorization headers and tokens in URIs are redacted; identities kept', () => {
  const msg = [
    'INVITE sip:1000@gw.example.com;token=eyJhbGciOiJIUzI1NiJ9.e30.sig SIP/2.0',
    'From: <sip:alice:hunter2@example.com>;tag=1',
    'Proxy-Authorization: Digest username="alice", realm="trapezoid", nonce="abc", uri="sip:1000@gw", response="6629fae49393a05397450978507c4ef1", algorithm=MD5',
    'Authorization: Bearer abc.def.ghi',
    'X-Auth-Token: s3cr3t-value',
    'Contact: <sip:a@ws.invalid;transport=ws?access_token=zzz>',
    '', '',
  ].join('\r\n');
  const out = redactSipMessage(Buffer.from(msg)).toString();
  for (const secret of ['eyJhbGciOiJIUzI1NiJ9', 'hunter2', '6629fae49393a05397450978507c4ef1', 'abc.def.ghi', 's3cr3t-value', 'zzz']) {
    assert.ok(!out.includes(secret), `${secret} is gone: ${out}`);
  }
  assert.match(out, /Proxy-Authorization: Digest username="alice", realm="trapezoid", uri="sip:1000@gw", algorithm=MD5, response=\[redacted\]/);
  assert.match(out, /Authorization: Bearer \[redacted\]/);
  assert.match(out, /From: <sip:alice:\[redacted\]@example\.com>;tag=1/);
});

test('text without secrets is returned as is; nested log fields are redacted', () => {
  const plain = 'INVITE sip:1000@example.com SIP/2.0';
  assert.equal(redactText(plain), plain);
  const data = Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n');
  assert.equal(redactSipMessage(data), data, 'no copy when nothing changes');
  assert.deepEqual(redactDeep({ uri: 'sip:a@b;token=xyz', n: 3, list: ['k;password=p'] }), { uri: `sip:a@b;token=${REDACTED}`, n: 3, list: [`k;password=${REDACTED}`] });
});
