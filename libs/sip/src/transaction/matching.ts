// Transaction identifiers (RFC 3261 §17.1.3 and §17.2.3). A key is one string so
// each table is a plain Map lookup per message.

import type { SipRequest, SipResponse } from '../message/index.js';
import { SipError } from '../message/index.js';
import { parseCSeq, parseVia, tagOf } from '../parser/index.js';

/** RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this. */
export const MAGIC_COOKIE = 'z9hG4bK';

function topVia(msg: SipRequest | SipResponse): string {
  const v = msg.headers.get('via');
  if (v === undefined) throw new SipError(400, 'Missing Via');
  return v;
}

/**
 * §17.2.3. With a magic-cookie branch: branch + sent-by + method, where ACK is keyed
 * as the INVITE it acknowledges and `method` may be overridden (CANCEL looks up the
 * INVITE it cancels, §9.2). Otherwise the RFC 2543 rule: Request-URI, From tag,
 * Call-ID, CSeq number and the whole top Via (the To tag is checked by the caller
 * for ACK, since the INVITE had none).
 */
export function serverKey(req: SipRequest, method?: string): string {
  const raw = topVia(req);
  const via = parseVia(raw);
  const m = method ?? (req.method === 'ACK' ? 'INVITE' : req.method);
  const branch = via.branch;
  if (branch !== undefined && branch.startsWith(MAGIC_COOKIE)) {
    return branch + '|' + via.host + ':' + (via.port ?? '') + '|' + m;
  }
  const cseq = req.headers.get('cseq');
  if (cseq === undefined) throw new SipError(400, 'Missing CSeq');
  return '2543|' + req.uri + '|' + (tagOf(req.headers.get('from') ?? '') ?? '') + '|' + req.callId + '|' +
    parseCSeq(cseq).seq + '|' + raw + '|' + m;
}

/** True when the server key follows the RFC 2543 rule (no magic cookie). */
export function isRfc2543Key(key: string): boolean {
  return key.startsWith('2543|');
}

/** §17.1.3: branch of the top Via + CSeq method. */
export function clientKey(branch: string, method: string): string {
  return branch + '|' + method;
}

export function clientKeyOfResponse(res: SipResponse): string | undefined {
  const v = res.headers.get('via');
  const c = res.headers.get('cseq');
  if (v === undefined || c === undefined) return undefined;
  const branch = parseVia(v).branch;
  if (branch === undefined) return undefined;
  return clientKey(branch, parseCSeq(c).method);
}

/** §8.2.2.2: requests with the same From tag, Call-ID and CSeq are the same request. */
export function mergeKey(req: SipRequest): string | undefined {
  const fromTag = tagOf(req.headers.get('from') ?? '');
  const c = req.headers.get('cseq');
  if (fromTag === undefined || c === undefined) return undefined;
  const cseq = parseCSeq(c);
  return fromTag + '|' + req.callId + '|' + cseq.seq + ' ' + cseq.method;
}
