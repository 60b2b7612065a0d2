// What a response's start line may carry on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../parser/index.js';
import { SipResponse } from './message.js';

function response(reason: string): SipResponse {
  const r = new SipResponse(400, reason);
  for (const [name, value] of [['via', 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKr'], ['from', '<sip:a@b>;tag=1'], ['to', '<sip:c@d>;tag=2'],
    ['call-id', 'r'], ['cseq', '1 INVITE']] as const) r.headers.append(name, value);
  return r;
}

test('a reason phrase quoting the sender\'s bytes cannot break the status line (RFC 3261 §25.1: no CR, LF or control characters)', () => {
  // Found by the long wire fuzz run: an SDP error quoting an m= line with a bare CR.
  const wire = response('trunk offer has a malformed m= line: m=audio 40000 RTP/AVP 0\r0.1\nVia: forged\u0000').toBuffer();
  const back = parseMessage(wire) as SipResponse;
  assert.equal(back.reason, 'trunk offer has a malformed m= line: m=audio 40000 RTP/AVP 0 0.1 Via: forged ');
  assert.equal(back.headers.getAll('via').length, 1);
});

test('a long reason phrase is cut to 200 characters: the answer stays smaller than what it quotes', () => {
  const back = parseMessage(response(`malformed line: ${'x'.repeat(20_000)}`).toBuffer()) as SipResponse;
  assert.equal(back.reason.length, 200);
  assert.match(back.reason, /^malformed line: x+\.\.\.$/);
  assert.equal(response('Bad Request\there').toBuffer().toString().split('\r\n')[0], 'SIP/2.0 400 Bad Request\there', 'HTAB may stay');
});
