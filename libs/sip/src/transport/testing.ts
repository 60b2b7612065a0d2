// Helpers shared by the transport tests: requests and responses built by hand, a
// throwaway self-signed certificate, and event waits that fail instead of hanging.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once, type EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipRequest, SipResponse, reasonPhrase, type SipMessage } from '../message/index.js';
import { formatHost } from '../parser/index.js';

export function branch(): string {
  return 'z9hG4bK' + randomBytes(8).toString('hex');
}

/** An OPTIONS request whose top Via names `sentBy` (with rport asked for). */
export function optionsRequest(transport: string, sentBy: string, port: number, target = 'sip:gw@127.0.0.1'): SipRequest {
  const req = new SipRequest('OPTIONS', target);
  req.headers.append('via', `SIP/2.0/${transport} ${formatHost(sentBy)}:${port};branch=${branch()};rport`);
  req.headers.append('max-forwards', '70');
  req.headers.append('from', `<sip:alice@client.invalid>;tag=${randomBytes(4).toString('hex')}`);
  req.headers.append('to', `<${target}>`);
  req.headers.append('call-id', randomBytes(10).toString('hex') + '@client.invalid');
  req.headers.append('cseq', '1 OPTIONS');
  return req;
}

/** A response to `req` per RFC 3261 §8.2.6.2 (Via, From, To + tag, Call-ID, CSeq copied). */
export function responseTo(req: SipRequest, status: number): SipResponse {
  const res = new SipResponse(status, reasonPhrase(status));
  for (const v of req.headers.getAll('via')) res.headers.append('via', v);
  res.headers.append('from', req.headers.getRaw('from')!);
  res.headers.append('to', req.headers.getRaw('to')! + ';tag=uas1');
  res.headers.append('call-id', req.headers.getRaw('call-id')!);
  res.headers.append('cseq', req.headers.getRaw('cseq')!);
  return res;
}

/** Resolves with the event's arguments, or rejects after `ms`. */
export async function nextEvent<T extends unknown[]>(emitter: EventEmitter, event: string, ms = 3000): Promise<T> {
  return (await once(emitter, event, { signal: AbortSignal.timeout(ms) })) as T;
}

/** The next 'message' event that satisfies `pred`. */
export function nextMessage<M extends SipMessage = SipMessage>(
  emitter: EventEmitter,
  pred: (m: SipMessage) => boolean = () => true,
  ms = 3000,
): Promise<M> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off('message', on);
      reject(new Error('no matching message within ' + ms + ' ms'));
    }, ms);
    const on = (m: SipMessage): void => {
      if (!pred(m)) return;
      clearTimeout(timer);
      emitter.off('message', on);
      resolve(m as M);
    };
    emitter.on('message', on);
  });
}

export interface TestCert {
  cert: Buffer;
  key: Buffer;
}

/** A P-256 self-signed certificate for localhost, 127.0.0.1 and ::1, valid one day. */
export function selfSignedCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'trapezoid-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', '/CN=localhost', '-days', '1',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
