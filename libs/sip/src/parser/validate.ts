// Checks a UAS or proxy makes on a received message before acting on it (RFC 3261
// §8.2, §16.3): mandatory header fields present and well formed, single-valued
// ones not repeated, CSeq matching the method. parseMessage leaves these to here
// so the parse itself stays lazy; each fault is a SipError with the status to send.

import { SipError } from '../message/message.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { parseCSeq, type CSeq } from './cseq.js';
import { SipParseError, badRequest } from './errors.js';
import { parseNameAddr } from './name-addr.js';
import { parseUri, isSipUri } from './uri.js';
import { parseVia } from './via.js';

export interface ValidateOptions {
  /** Methods this element implements; any other gets 501 (RFC 3261 §8.2.1). Send Allow with it. */
  methods?: Iterable<string>;
  /** Request-URI schemes accepted (lowercase); any other gets 416 (§8.2.2.1, RFC 4475 unkscm). */
  uriSchemes?: Iterable<string>;
  /**
   * This element is a registrar: a REGISTER whose To (the address of record) is not a
   * sip or sips URI gets 400 (§10.3 step 3; RFC 4475 unksm2). A proxy passes it on.
   */
  registrar?: boolean;
}

const MANDATORY = ['via', 'from', 'to', 'call-id', 'cseq'] as const;
const SINGLE = ['from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-type'] as const;
const LABEL: Record<string, string> = {
  via: 'Via', from: 'From', to: 'To', 'call-id': 'Call-ID', cseq: 'CSeq', 'max-forwards': 'Max-Forwards',
  'content-type': 'Content-Type', contact: 'Contact',
};

/** Re-throws a parse fault of one header with the header's name in the reason. */
function within<T>(header: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SipParseError) throw badRequest('malformed ' + header + ' (' + e.reason.replace(/^Bad Request: /, '') + ')');
    throw e;
  }
}

function checkCommon(msg: SipRequest | SipResponse): CSeq {
  const h = msg.headers;
  const missing = MANDATORY.filter((n) => !h.has(n));
  if (missing.length > 0) throw badRequest('missing ' + missing.map((n) => LABEL[n]).join(', ') + ' header field' + (missing.length > 1 ? 's' : ''));
  const repeated = SINGLE.filter((n) => h.countLines(n) > 1);
  if (repeated.length > 0) throw badRequest('multiple ' + repeated.map((n) => LABEL[n]).join(', ') + ' header fields');
  const cseq = within('CSeq', () => parseCSeq(h.getRaw('cseq')!));
  const vias = h.getAll('via');
  if (vias.length === 0) throw badRequest('missing Via header field');
  within('Via', () => {
    for (const v of vias) parseVia(v);
  });
  for (const name of ['from', 'to'] as const) {
    within(LABEL[name]!, () => parseUri(parseNameAddr(h.getRaw(name)!).uri));
  }
  const callId = h.getRaw('call-id')!;
  if (callId.length === 0 || /[ \t]/.test(callId)) throw badRequest('malformed Call-ID');
  return cseq;
}

/**
 * Validates a received request; throws SipError with the status to answer:
 * 400 naming the fault, 501 for an unimplemented method, 416 for a Request-URI
 * scheme not accepted. Returns the parsed CSeq. Max-Forwards may be absent
 * (RFC 2543 peers, RFC 4475 inv2543: a proxy adds it, §16.6 step 3).
 */
export function validateRequest(req: SipRequest, options?: ValidateOptions): CSeq {
  const cseq = checkCommon(req);
  const h = req.headers;
  const mf = h.getRaw('max-forwards');
  // 1*DIGIT, 0-255 (§20.22); leading zeros are legal (RFC 4475 wsinv: 0068).
  if (mf !== undefined && (!/^[0-9]{1,10}$/.test(mf) || Number(mf) > 255)) throw badRequest('malformed Max-Forwards');
  const ruri = within('Request-URI', () => parseUri(req.uri));
  // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 escruri).
  if (isSipUri(ruri) && ruri.headers.size > 0) throw badRequest('Request-URI must not contain headers');
  // An unknown method is 501 even when its CSeq names another (RFC 4475 mismatch02
  // prefers it to 400), and an unknown Request-URI scheme 416 (§8.2.2.1).
  if (options?.methods && !has(options.methods, req.method)) throw new SipError(501, `Not Implemented: method ${req.method}`);
  if (options?.uriSchemes && !has(options.uriSchemes, ruri.scheme.toLowerCase())) throw new SipError(416, `Unsupported URI Scheme: ${ruri.scheme}`);
  if (cseq.method !== req.method) throw badRequest('CSeq method does not match the request method');
  if (options?.registrar && req.method === 'REGISTER' && !isSipUri(parseUri(parseNameAddr(h.getRaw('to')!).uri))) {
    throw badRequest('the To of a REGISTER must be a sip or sips URI');
  }
  const contacts = h.getAll('contact');
  within('Contact', () => {
    for (const c of contacts) {
      if (c === '*' && req.method === 'REGISTER' && contacts.length === 1) continue;
      parseUri(parseNameAddr(c).uri);
    }
  });
  return cseq;
}

function has(list: Iterable<string>, item: string): boolean {
  if (list instanceof Set) return list.has(item);
  for (const x of list) if (x === item) return true;
  return false;
}

/**
 * Validates a received response; a fault means "discard it" (RFC 4475
 * scalarlg): there is nobody to send a 400 to. Also every Contact, which a dialog's
 * remote target comes from. Returns the parsed CSeq.
 */
export function validateResponse(res: SipResponse): CSeq {
  const cseq = checkCommon(res);
  within('Contact', () => {
    for (const c of res.headers.getAll('contact')) if (c !== '*') parseUri(parseNameAddr(c).uri);
  });
  return cseq;
}
