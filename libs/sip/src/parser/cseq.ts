// CSeq (RFC 3261 §20.16): a sequence number and a method.

import { isToken, isWsp } from './charset.js';
import { badRequest } from './errors.js';

export interface CSeq { seq: number; method: string }

/** RFC 3261 §8.1.1.5: the number must fit in 32 bits unsigned (RFC 4475 scalar02). */
export const MAX_CSEQ = 0xffffffff;

export function parseCSeq(value: string): CSeq {
  const end = value.length;
  let i = 0;
  while (i < end && isWsp(value.charCodeAt(i))) i++;
  const numStart = i;
  let seq = 0;
  while (i < end) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
    i++;
  }
  if (i === numStart) throw badRequest('malformed CSeq');
  if (seq > MAX_CSEQ) throw badRequest('CSeq number out of range');
  const sp = i;
  while (i < end && isWsp(value.charCodeAt(i))) i++;
  if (i === sp) throw badRequest('malformed CSeq');
  let e = end;
  while (e > i && isWsp(value.charCodeAt(e - 1))) e--;
  const method = value.slice(i, e);
  if (!isToken(method)) throw badRequest('malformed CSeq method');
  return { seq, method };
}

export function formatCSeq(c: CSeq): string {
  return c.seq + ' ' + c.method;
}
