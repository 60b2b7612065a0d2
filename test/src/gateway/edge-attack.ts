// What the edge tests' attacker does on top of raw-sip.ts's byte-exact client: ask
// and wait for the final answer (ACKing a non-2xx to INVITE as RFC 3261 §17.1.1.3
// says), replay a captured request with its credentials, guess a password. Attackers
// send from 127.0.0.2; honest clients (SIPp, JsSIP) from 127.0.0.3.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { SipResponse } from '@trapezoid/sip';
import { newBranch, requestText, type RawSipClient } from './raw-sip.js';

export const ATTACKER = '127.0.0.2';
export const CLIENT = '127.0.0.3';

export function token(): string {
  return randomBytes(6).toString('hex');
}

/** Call-ID and CSeq of a request's text. */
function ids(text: string): { callId: string; cseq: string } {
  const callId = /^(?:Call-ID|i):\s*(.+?)\s*$/im.exec(text)?.[1] ?? '';
  const cseq = /^CSeq:\s*(\d+\s+\S+)/im.exec(text)?.[1]?.replace(/\s+/, ' ') ?? '';
  return { callId, cseq };
}

/**
 * Sends a request and resolves with its final response (1xx skipped), matched by Call-ID
 * and CSeq. A non-2xx final response to an INVITE is ACKed (same branch, its To).
 */
export async function ask(c: RawSipClient, text: string, ms = 5_000): Promise<SipResponse> {
  const { callId, cseq } = ids(text);
  const from = c.received.length;
  c.send(text);
  const res = await c.next((m) => !m.isRequest && m.callId === callId && m.headers.get('cseq') === cseq && (m as SipResponse).status >= 200, ms, from) as SipResponse;
  if (cseq.endsWith(' INVITE') && res.status >= 300) {
    const head = text.split('\r\n');
    const line = (name: string): string => head.find((l) => l.toLowerCase().startsWith(name + ':'))!;
    c.send([`ACK ${head[0]!.split(' ')[1]} SIP/2.0`, line('via'), 'Max-Forwards: 70', line('from'), `To: ${res.headers.get('to')}`,
      line('call-id'), `CSeq: ${cseq.split(' ')[0]} ACK`, 'Content-Length: 0', '', ''].join('\r\n'));
  }
  return res;
}

/** A request from `c` (fresh Call-ID, tag and branch) with extra header lines. */
export function request(c: RawSipClient, method: string, uri: string, user: string, domain: string, headers: string[] = [], body?: string): string {
  return requestText({
    method, uri, via: c.viaHeader(), from: `<sip:${user}@${domain}>;tag=${token()}`, to: `<${method === 'REGISTER' ? `sip:${user}@${domain}` : uri}>`,
    callId: token(), cseq: 1, headers: [`Contact: <sip:${user}@${c.sentBy}>`, ...headers], ...(body ? { body } : {}),
  });
}

/**
 * A captured request made into a new one that keeps its credentials: new branch,
 * Call-ID and From tag (so no transaction or registration matches the original),
 * optionally a new Contact and Via sent-by. What the digest response covers (method,
 * Request-URI) is left alone: that is the replay.
 */
export function replayOf(captured: string, change: { contact?: string; sentBy?: string } = {}): string {
  const [head, ...rest] = captured.split('\r\n\r\n');
  const lines = head!.split('\r\n').map((l) => {
    const lower = l.toLowerCase();
    if (lower.startsWith('via:')) {
      const v = l.replace(/branch=[^;,\s]+/i, `branch=${newBranch()}`).replace(/;received=[^;,\s]+/i, '').replace(/;rport=\d+/i, ';rport');
      return change.sentBy ? v.replace(/^(Via:\s*SIP\/2\.0\/\S+\s+)[^;]+/i, `$1${change.sentBy}`) : v;
    }
    if (lower.startsWith('call-id:')) return `Call-ID: ${token()}`;
    if (lower.startsWith('from:')) return l.replace(/tag=[^;>\s]+/i, `tag=${token()}`);
    if (lower.startsWith('contact:') && change.contact) return `Contact: <${change.contact}>`;
    return l;
  });
  return lines.join('\r\n') + '\r\n\r\n' + rest.join('\r\n\r\n');
}

/**
 * Whether a suite's tests all passed so far: its teardown checks that calls and ports
 * were released only then, so a failing test is reported as itself, not as a leak.
 */
export class SuiteOutcome {
  passed = true;

  /** Runs a test body; a failure marks the suite. */
  readonly run = async (body: () => Promise<void>): Promise<void> => {
    try {
      await body();
    } catch (err) {
      this.passed = false;
      throw err;
    }
  };
}

/** Runs a script in its own process and resolves with its last JSON line. */
export function party<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
      if (line === undefined) reject(new Error(`${script} exited ${code}: ${err.slice(-1500)}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}

/** What ws-flood-client.js reports of the honest caller it ran. */
export interface CallerResult {
  registered: boolean; confirmed: boolean; sent: number; received: number; ms: number;
  at: { registered: number; confirmed: number; media: number };
}
