#!/usr/bin/env node
// A small UAC on libs/sip: places calls to a target (INVITE with an SDP offer, ACK,
// optional hold, BYE) and prints one JSON line with the outcome. Exit code 0 when
// every call was answered and its BYE got a 2xx.
//
//   node libs/sip/dist/examples/uac.js sip:service@127.0.0.1:5060 [--tcp | --udp]
//     [--calls 1] [--rate 10] [--hold 0] [--t1 500] [--user alice --password secret]

import {
  TransportLayer, UserAgent, parseUri, formatUri, isSipUri, type TransportProtocol,
} from '../index.js';
import { flagNumber, flagString, parseFlags } from './args.js';

const USAGE = 'usage: uac.js TARGET-URI [--udp | --tcp] [--calls N] [--rate PER_SEC] [--hold MS] ' +
  '[--t1 MS] [--user USER --password PASSWORD]';

interface Outcome {
  calls: number;
  answered: number;
  byeOk: number;
  /** Final statuses of INVITEs and BYEs that were not 2xx, by "METHOD status". */
  failures: Record<string, number>;
}

async function main(): Promise<number> {
  const { flags, rest } = parseFlags(process.argv.slice(2), ['udp', 'tcp', 'help']);
  if (flags.has('help') || rest.length !== 1) { console.log(USAGE); return flags.has('help') ? 0 : 2; }
  const protocol: TransportProtocol = flags.has('tcp') ? 'tcp' : 'udp';
  const target = parseUri(rest[0]!);
  if (!isSipUri(target)) throw new Error('TARGET-URI must be a sip: URI');
  if (protocol !== 'udp') target.params.set('transport', protocol);
  const uri = formatUri(target);
  const calls = flagNumber(flags, 'calls', 1);
  const rate = flagNumber(flags, 'rate', 10);
  const holdMs = flagNumber(flags, 'hold', 0);
  const user = flagString(flags, 'user');
  const password = flagString(flags, 'password');
  const credentials = user !== undefined && password !== undefined ? { username: user, password } : undefined;

  const transport = new TransportLayer();
  // A listening point gives Via and Contact a reachable address (and UDP a socket).
  const local = await transport.listen({ protocol, address: '127.0.0.1', port: 0 });
  const ua = new UserAgent({ transport, timers: { T1: flagNumber(flags, 't1', 500) }, contactUser: user ?? 'uac' });
  const offer = ['v=0', `o=- 1 1 IN IP4 ${local.address}`, 's=-', `c=IN IP4 ${local.address}`, 't=0 0',
    'm=audio 40000 RTP/AVP 0 8', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=sendrecv', ''].join('\r\n');
  const out: Outcome = { calls, answered: 0, byeOk: 0, failures: {} };
  const fail = (what: string): void => { out.failures[what] = (out.failures[what] ?? 0) + 1; };

  const one = async (): Promise<void> => {
    const inv = ua.request('INVITE', uri, {
      body: offer, contentType: 'application/sdp', ...(credentials ? { credentials } : {}),
    });
    const res = await inv.final;
    if (res.status < 200 || res.status >= 300 || !inv.dialog) { fail(`INVITE ${res.status}`); return; }
    out.answered++;
    if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
    const bye = await inv.dialog.bye();
    if (bye.status >= 200 && bye.status < 300) out.byeOk++;
    else fail(`BYE ${bye.status}`);
  };
  const running: Promise<void>[] = [];
  for (let i = 0; i < calls; i++) {
    running.push(one());
    if (i + 1 < calls) await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await Promise.all(running);
  console.log(JSON.stringify({ event: 'done', ...out, ua: ua.counters }));
  await ua.close();
  await transport.close();
  return out.answered === calls && out.byeOk === calls ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 2;
});
