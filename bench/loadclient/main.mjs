#!/usr/bin/env node
// The load client on its own, against any SIP-over-WebSocket system that routes browser
// calls to something answering with media (bench/compare drives it in-process):
//
//   node bench/loadclient/main.mjs --ws ws://127.0.0.1:8088 --domain example.org \
//        --user alice --password secret [--number 1000] [--rate 100] [--seconds 10] \
//        [--hold 1000-2000] [--browsers 300] [--media-ports 10000-19999] [--profiles AES_CM_128_HMAC_SHA1_80]
//
// Prints one JSON summary (calls placed, completed, failures by cause, INVITE -> 200 and
// 200 -> first SRTP quantiles, packets, loss, jitter) on stdout.
import { parseArgs } from 'node:util';
import { LoadClient, summarize } from './load.mjs';

const { values: o } = parseArgs({
  options: {
    ws: { type: 'string' }, domain: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' },
    number: { type: 'string', default: '1000' }, rate: { type: 'string', default: '10' }, seconds: { type: 'string', default: '10' },
    hold: { type: 'string', default: '1000-2000' }, browsers: { type: 'string' }, 'media-address': { type: 'string', default: '127.0.0.1' },
    'media-ports': { type: 'string', default: '10000-19999' }, profiles: { type: 'string' },
  },
});
if (!o.ws || !o.domain || !o.user || !o.password) {
  console.error('usage: main.mjs --ws ws://HOST:PORT --domain DOMAIN --user USER --password PASSWORD [options]');
  process.exit(2);
}
const url = new URL(o.ws);
const [holdMin, holdMax] = o.hold.split('-').map(Number);
const [portMin, portMax] = o['media-ports'].split('-').map(Number);
const rate = Number(o.rate);
const client = new LoadClient({
  server: { address: url.hostname, port: Number(url.port) }, domain: o.domain, user: o.user, password: o.password, number: o.number,
  browsers: Number(o.browsers ?? Math.ceil(rate * (holdMax / 1000) * 1.2) + 10), mediaAddress: o['media-address'],
  mediaPorts: { min: portMin, max: portMax }, ...(o.profiles ? { profiles: o.profiles.split(',') } : {}),
});
try {
  await client.connect();
  const records = await client.runRate(rate, Number(o.seconds), [holdMin, holdMax ?? holdMin]);
  console.log(JSON.stringify(summarize(records), null, 2));
} finally {
  await client.close();
}
