// RFC 2782 ordering of SRV records (the lookups themselves run against dnsmasq in
// test/src/sip/dns-rfc3263.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { orderSrv } from './rfc3263.js';

describe('orderSrv', () => {
  const rec = (priority: number, weight: number, target: string) => ({ priority, weight, port: 5060, target });

  it('lower priority first, whatever the weights', () => {
    const out = orderSrv([rec(20, 100, 'b'), rec(10, 0, 'a'), rec(30, 5, 'c')], () => 0.5);
    assert.deepEqual(out.map((r) => r.target), ['a', 'b', 'c']);
  });

  it('within one priority, the weight decides how often a record comes first', () => {
    let seed = 1;
    const random = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    let heavyFirst = 0;
    for (let i = 0; i < 1000; i++) {
      if (orderSrv([rec(10, 10, 'light'), rec(10, 90, 'heavy')], random)[0]!.target === 'heavy') heavyFirst++;
    }
    assert.ok(heavyFirst > 850 && heavyFirst < 950, `heavy first ${heavyFirst}/1000`);
  });
});
