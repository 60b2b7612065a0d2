// RFC 3263 against a real DNS server (dnsmasq on 127.0.20.53:5353): NAPTR -> SRV -> A
// in priority order, SRV without NAPTR, explicit port and transport, names that do
// not exist, and answers cached for their TTL (no query on the wire until it runs out).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient, SipLocator } from '@trapezoid/sip';
import { DNS_SERVER, startDnsmasq, type Dnsmasq } from './dnsmasq.js';

describe('RFC 3263 lookups against dnsmasq', { timeout: 30_000 }, () => {
  let dns: Dnsmasq;
  before(async () => {
    dns = await startDnsmasq({
      ttl: 1,
      hosts: { 'a.carrier.test': '127.0.20.11', 'b.carrier.test': '127.0.20.12', 'plain.test': '127.0.20.13' },
      srv: [
        ['_sip._udp.carrier.test', 'b.carrier.test', 5071, 20, 10],
        ['_sip._udp.carrier.test', 'a.carrier.test', 5070, 10, 10],
        ['_sip._tcp.carrier.test', 'a.carrier.test', 5080, 10, 10],
        ['_sip._tcp.srvonly.test', 'b.carrier.test', 5090, 10, 10],
      ],
      naptr: [
        ['carrier.test', 20, 10, 'S', 'SIP+D2T', '', '_sip._tcp.carrier.test'],
        ['carrier.test', 10, 10, 'S', 'SIP+D2U', '', '_sip._udp.carrier.test'],
        ['carrier.test', 5, 10, 'S', 'SIP+D2X', '', '_sip._x.carrier.test'],
      ],
    });
  });
  after(async () => { await dns?.stop(); });

  it('NAPTR picks transports in order (unknown services skipped), SRV targets by priority, A records last', async () => {
    const locator = new SipLocator(new DnsClient({ servers: [DNS_SERVER] }));
    assert.deepEqual(await locator.locate({ host: 'carrier.test' }), [
      { protocol: 'udp', address: '127.0.20.11', port: 5070 },
      { protocol: 'udp', address: '127.0.20.12', port: 5071 },
      { protocol: 'tcp', address: '127.0.20.11', port: 5080 },
    ]);
  });

  it('no NAPTR: SRV per supported transport; explicit transport: that SRV only; explicit port: A only', async () => {
    const locator = new SipLocator(new DnsClient({ servers: [DNS_SERVER] }));
    assert.deepEqual(await locator.locate({ host: 'srvonly.test' }), [{ protocol: 'tcp', address: '127.0.20.12', port: 5090 }]);
    assert.deepEqual(await locator.locate({ host: 'carrier.test', transport: 'tcp' }), [{ protocol: 'tcp', address: '127.0.20.11', port: 5080 }]);
    assert.deepEqual(await locator.locate({ host: 'a.carrier.test', port: 5099 }), [{ protocol: 'udp', address: '127.0.20.11', port: 5099 }]);
    assert.deepEqual(await locator.locate({ host: 'plain.test' }), [{ protocol: 'udp', address: '127.0.20.13', port: 5060 }]);
    assert.deepEqual(await locator.locate({ host: 'nothing.test' }), []);
    assert.deepEqual(await locator.locate({ host: '127.0.0.9', transport: 'tcp' }), [{ protocol: 'tcp', address: '127.0.0.9', port: 5060 }]);
  });

  it('answers are cached for their TTL: a second lookup asks nothing, one after the TTL asks again', async () => {
    const client = new DnsClient({ servers: [DNS_SERVER] });
    const locator = new SipLocator(client);
    await locator.locate({ host: 'carrier.test', transport: 'udp' });
    const first = client.queries;
    assert.equal(first, 3, 'SRV, then A for each target');
    await locator.locate({ host: 'carrier.test', transport: 'udp' });
    assert.equal(client.queries, first, 'all from the cache');
    await new Promise((r) => setTimeout(r, 1_100));
    await locator.locate({ host: 'carrier.test', transport: 'udp' });
    assert.equal(client.queries, 2 * first, 'asked again once the 1 s TTL ran out');
  });

  it('a server that does not answer: the lookup fails with ETIMEOUT after its tries', async () => {
    const client = new DnsClient({ servers: ['127.0.20.54:5353'], timeout: 100, tries: 2 });
    await assert.rejects(client.query('carrier.test', 'SRV'), (e: Error & { code?: string }) => e.code === 'ETIMEOUT');
  });
});
