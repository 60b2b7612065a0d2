import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownString } from './own-string.js';

test('ownString: the same text, whatever its length', () => {
  const text = `INVITE sip:1000@example.com SIP/2.0\r\nCall-ID: ${'a'.repeat(40)}@host\r\n`;
  const callId = text.slice(text.indexOf('Call-ID: ') + 9, text.lastIndexOf('\r\n'));
  assert.equal(ownString(callId), callId);
  assert.equal(ownString('short'), 'short');
  assert.equal(ownString(''), '');
});
