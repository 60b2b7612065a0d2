// A browser stand-in in its own process, for drills where the caller must sit in a
// network namespace of its own: NodeCaller (JsSIP + werift) driven over stdin/stdout.
// Usage: node caller-process.js WS_URL NUMBER MEDIA_ADDRESS. It prints one JSON line per
// event ({ registered }, { confirmed }, { received } every 200 ms, { ended }, { error })
// and obeys "hangup" and "quit" on stdin.

import { createInterface } from 'node:readline';
import { setMediaAddress } from '../sip/jssip-node.js';
import { NodeCaller } from './node-caller.js';

const [wsUrl, number, mediaAddress] = process.argv.slice(2);
const say = (o: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(o) + '\n'); };

async function main(): Promise<void> {
  if (!wsUrl || !number || !mediaAddress) throw new Error('usage: caller-process WS_URL NUMBER MEDIA_ADDRESS');
  setMediaAddress(mediaAddress);
  const caller = await NodeCaller.register(wsUrl);
  say({ registered: 1 });
  await caller.call(number);
  say({ confirmed: true });
  const ticker = setInterval(() => say({ received: caller.received }), 200);
  void caller.endedBy(3_600_000).then((originator) => say({ ended: originator }), () => undefined);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'hangup') void caller.hangUp().then(() => say({ ended: 'local' }), (err: unknown) => say({ error: String(err) }));
    if (line === 'quit') {
      clearInterval(ticker);
      void caller.stop().finally(() => process.exit(0));
    }
  });
}

main().catch((err: unknown) => {
  say({ error: String(err) });
  process.exit(1);
});
