// §12.2.1.1 request targets: loose and strict routing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestTarget } from './route.js';

describe('requestTarget (RFC 3261 §12.2.1.1)', () => {
  it('without a route set the Request-URI is the remote target', () => {
    assert.deepEqual(requestTarget('sip:bob@10.0.0.2:5070', []), {
      requestUri: 'sip:bob@10.0.0.2:5070', routes: [], nextHop: 'sip:bob@10.0.0.2:5070',
    });
  });

  it('a loose first route (lr): Request-URI = remote target, Route = the route set', () => {
    const t = requestTarget('sip:bob@10.0.0.2', ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    assert.equal(t.requestUri, 'sip:bob@10.0.0.2');
    assert.deepEqual(t.routes, ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    assert.equal(t.nextHop, 'sip:p1.example.com;lr');
  });

  it('a strict first route: Request-URI = that route, the remote target goes last in Route', () => {
    const t = requestTarget('sip:bob@10.0.0.2', ['<sip:strict.example.com;maddr=10.0.0.9>', '<sip:p2.example.com;lr>']);
    assert.equal(t.requestUri, 'sip:strict.example.com;maddr=10.0.0.9');
    assert.deepEqual(t.routes, ['<sip:p2.example.com;lr>', '<sip:bob@10.0.0.2>']);
    assert.equal(t.nextHop, 'sip:strict.example.com;maddr=10.0.0.9');
  });
});
