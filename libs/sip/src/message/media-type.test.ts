// Content-Type and Accept checks (RFC 3261 §8.2.3, §20.1): what makes a 415 or a 406.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsMediaType, isMediaType, mediaTypeOf } from './media-type.js';

test('the media type of a Content-Type ignores case, white space and parameters', () => {
  assert.equal(mediaTypeOf(' Application/SDP ; charset=utf-8'), 'application/sdp');
  assert.equal(mediaTypeOf(undefined), '');
  assert.ok(isMediaType('application/sdp;version=2', 'application/sdp'));
  assert.ok(!isMediaType('application/unknownformat', 'application/sdp'), 'RFC 4475 invut');
  assert.ok(!isMediaType('multipart/mixed;boundary=x', 'application/sdp'));
});

test('Accept: absent means application/sdp, empty means nothing, wildcards and q=0 count', () => {
  assert.ok(acceptsMediaType([], 'application/sdp'));
  assert.ok(!acceptsMediaType([''], 'application/sdp'));
  assert.ok(!acceptsMediaType(['text/nobodyKnowsThis'], 'application/sdp'), 'RFC 4475 sdp01');
  assert.ok(acceptsMediaType(['text/plain, application/sdp;level=1'], 'application/sdp'));
  assert.ok(acceptsMediaType(['application/*'], 'application/sdp'));
  assert.ok(acceptsMediaType(['*/*;q=0.5'], 'application/sdp'));
  assert.ok(!acceptsMediaType(['application/sdp;q=0', 'text/html'], 'application/sdp'));
  assert.ok(acceptsMediaType(['text/html', 'application/sdp'], 'application/sdp'), 'several Accept lines');
});
