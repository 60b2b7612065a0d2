// Two UserAgents joined by a LoopbackNetwork, for mock-clock tests.

import { UserAgent, type UserAgentOptions } from '../ua/user-agent.js';
import { mock } from 'node:test';
import type { SipMessage } from '../message/index.js';
import { LoopbackNetwork, LoopbackTransport, settle } from './loopback-transport.js';
import type { TransportProtocol } from '../transport/types.js';

export interface UaPair {
  net: LoopbackNetwork;
  ta: LoopbackTransport;
  tb: LoopbackTransport;
  a: UserAgent;
  b: UserAgent;
  /** sip URI of b. */
  bUri: string;
  close(): Promise<void>;
}

/** `supported`: option tags both UAs handle (e.g. ['100rel']); `b`: more options for b. */
export function uaPair(
  protocol: TransportProtocol = 'udp', opts: { supported?: string[]; b?: Partial<Omit<UserAgentOptions, 'transport'>> } = {},
): UaPair {
  const net = new LoopbackNetwork();
  const ta = net.endpoint({ protocol, port: 5060 });
  const tb = net.endpoint({ protocol, port: 5070 });
  const supported = opts.supported ? { supported: opts.supported } : {};
  const a = new UserAgent({ transport: ta, contactUser: 'alice', userAgentName: 'a', ...supported });
  const b = new UserAgent({ transport: tb, contactUser: 'bob', userAgentName: 'b', ...supported, ...opts.b });
  const bUri = 'sip:bob@127.0.0.1:5070' + (protocol === 'udp' ? '' : ';transport=' + protocol);
  return {
    net, ta, tb, a, b, bUri,
    async close() {
      await a.close();
      await b.close();
      await ta.close();
      await tb.close();
    },
  };
}

/**
 * Advances Node's mock clock in small steps, letting promises settle between them:
 * Node 20 does not fire, within one tick(), timers that were set during it.
 */
export async function tick(ms: number): Promise<void> {
  await settle();
  while (ms > 0) {
    const step = Math.min(ms, 100);
    mock.timers.tick(step);
    ms -= step;
    await settle();
  }
}

/** Matchers for LoopbackNetwork's log of sent messages. */
export const isReq = (method: string) => (m: SipMessage): boolean => m.isRequest && m.method === method;
export const isRes = (status: number, method?: string) => (m: SipMessage): boolean =>
  !m.isRequest && m.status === status && (method === undefined || (m.headers.get('cseq') ?? '').endsWith(method));
