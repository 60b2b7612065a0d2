// Parsing one whole SIP message (a UDP datagram, a WebSocket message, or a frame
// cut by frameLength from a stream), RFC 3261 §7 and §18.3. Lazy by design: the
// start line and the header field lines are split and checked, values stay raw;
// Via, CSeq, name-addr ... are parsed only when someone asks (validateRequest,
// the transaction layer).

import { isUtf8 } from 'node:buffer';
import { Headers, canonicalName } from '../message/headers.js';
import { SipRequest, SipResponse } from '../message/message.js';
import { TOKEN, isToken } from './charset.js';
import { SipParseError, badRequest } from './errors.js';
import { DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_BYTES, skipLeadingCrlf, type ParseLimits } from './limits.js';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/** Raw header name spelling -> canonical lowercase name, for names already validated. */
const nameCache = new Map<string, string>();

/**
 * The spellings nearly every message uses, by length: matched in place with
 * startsWith, so the common case slices and hashes nothing.
 */
const COMMON_BY_LENGTH: Array<Array<[string, string]>> = [];
for (const spelling of ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Max-Forwards', 'Content-Type', 'Content-Length',
  'Route', 'Record-Route', 'Allow', 'Supported', 'User-Agent', 'Server', 'Expires', 'Session-Expires', 'Authorization',
  'Proxy-Authorization', 'WWW-Authenticate', 'Proxy-Authenticate', 'Require', 'Accept', 'Event', 'Subscription-State',
  'Min-SE', 'Reason', 'RSeq', 'RAck', 'Refer-To', 'Referred-By', 'P-Asserted-Identity', 'Privacy', 'Date', 'Timestamp',
  'Call-Info', 'Alert-Info', 'Organization', 'Subject', 'Content-Disposition']) {
  (COMMON_BY_LENGTH[spelling.length] ??= []).push([spelling, canonicalName(spelling)]);
}

function canonicalHeaderName(head: string, from: number, to: number): string | undefined {
  const common = COMMON_BY_LENGTH[to - from];
  if (common !== undefined) {
    for (const [spelling, lower] of common) if (head.startsWith(spelling, from)) return lower;
  }
  const raw = head.slice(from, to);
  const cached = nameCache.get(raw);
  if (cached !== undefined) return cached;
  if (!isToken(raw)) return undefined;
  const lower = canonicalName(raw);
  if (nameCache.size < 2048) nameCache.set(raw, lower);
  return lower;
}

function isWspCode(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Folded value s[from, to): each CRLF with its surrounding white space becomes one SP (§7.3.1). */
function unfold(s: string, from: number, to: number): string {
  let out = '';
  let i = from;
  while (i < to) {
    const crlf = s.indexOf('\r\n', i);
    if (crlf === -1 || crlf >= to) {
      out += s.slice(i, to);
      break;
    }
    let e = crlf;
    while (e > i && isWspCode(s.charCodeAt(e - 1))) e--;
    out += s.slice(i, e);
    i = crlf + 2;
    while (i < to && isWspCode(s.charCodeAt(i))) i++;
    if (out.length > 0 && i < to) out += ' ';
  }
  return out;
}

/** SIP-Version is "SIP/" 1*DIGIT "." 1*DIGIT, case-insensitive (RFC 3261 §7.1). */
function versionFault(v: string): SipParseError | undefined {
  if (v === 'SIP/2.0') return undefined;
  if (/^sip\/[0-9]{1,9}\.[0-9]{1,9}$/i.test(v)) {
    return v.toUpperCase() === 'SIP/2.0' ? undefined : new SipParseError(505, 'Version Not Supported');
  }
  return badRequest('malformed SIP-Version');
}

/** The URI's scheme must be there: rejects "<sip:...>" (RFC 4475 ltgtruri) cheaply. */
function hasScheme(uri: string): boolean {
  const c0 = uri.charCodeAt(0) | 0x20;
  if (!(c0 >= 0x61 && c0 <= 0x7a)) return false;
  for (let i = 1; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === 0x3a) return i + 1 < uri.length;
    if (c >= 128 || (TOKEN[c] === 0 && c !== 0x2b)) return false;
  }
  return false;
}

interface StartLine {
  isRequest: boolean;
  method: string;
  uri: string;
  status: number;
  reason: string;
  fault: SipParseError | undefined;
}

function parseStatusLine(line: string, out: StartLine): void {
  out.isRequest = false;
  const sp1 = line.indexOf(' ');
  const version = sp1 === -1 ? line : line.slice(0, sp1);
  out.fault = versionFault(version);
  const codeEnd = sp1 + 4;
  let status = 0;
  for (let i = sp1 + 1; sp1 !== -1 && i < codeEnd && i < line.length; i++) {
    const c = line.charCodeAt(i);
    status = c >= 0x30 && c <= 0x39 ? status * 10 + (c - 0x30) : -1000;
  }
  // Status-Code is exactly 3 digits (RFC 4475 bigcode); the reason may be empty
  // (noreason), and a missing SP before an empty reason is tolerated.
  if (sp1 === -1 || status < 100 || status > 699 || (line.length > codeEnd && line.charCodeAt(codeEnd) !== 0x20)) {
    out.fault ??= badRequest('malformed Status-Line');
    return;
  }
  out.status = status;
  out.reason = line.length > codeEnd ? line.slice(codeEnd + 1) : '';
}

function parseRequestLine(line: string, out: StartLine): void {
  out.isRequest = true;
  // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single SPs
  // (RFC 4475 lwsstart, trws, lwsruri are rejected, not repaired).
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || line.indexOf(' ', sp2 + 1) !== -1 || line.indexOf('\t') !== -1) {
    const words = line.trim().split(/[ \t]+/);
    out.method = words[0] ?? '';
    out.uri = words[1] ?? '';
    out.fault = badRequest('malformed Request-Line');
    return;
  }
  out.method = line.slice(0, sp1);
  out.uri = line.slice(sp1 + 1, sp2);
  out.fault = versionFault(line.slice(sp2 + 1));
  if (!out.fault && !isToken(out.method)) out.fault = badRequest('malformed Method');
  if (!out.fault && !hasScheme(out.uri)) out.fault = badRequest('malformed Request-URI');
}

function build(sl: StartLine, headers: Headers, body?: Buffer): SipRequest | SipResponse {
  return sl.isRequest ? new SipRequest(sl.method, sl.uri, headers, body) : new SipResponse(sl.status, sl.reason, headers, body);
}

/**
 * Parses one whole message. A Content-Length shorter than what follows the
 * header section cuts the body (the rest is ignored, RFC 4475 dblreq); a longer
 * one is a 400 (clerr); without Content-Length the body is the rest of the
 * datagram (RFC 3261 §18.3, inv2543). The body is a view into `buf`, not a copy.
 */
/**
 * The header section as text. RFC 3261 §7.3.1 has it UTF-8; bytes that are not are
 * read as '?' rather than U+FFFD, which takes three bytes when written back: a response
 * copying Via, From, To, Call-ID and CSeq from such a request would otherwise be up to
 * three times its size, toward a source that may be spoofed (found by the long wire
 * fuzz run: a 60 KB 400 for a 20 KB Via).
 */
function readHead(buf: Buffer, start: number, end: number): string {
  const text = buf.toString('utf8', start, end);
  return isUtf8(buf.subarray(start, end)) ? text : text.replace(/\uFFFD/g, '?');
}

export function parseMessage(buf: Buffer, limits?: ParseLimits): SipRequest | SipResponse {
  const maxBytes = limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxHeaders = limits?.maxHeaders ?? DEFAULT_MAX_HEADERS;
  if (buf.length > maxBytes) throw new SipParseError(513, 'Message Too Large');
  const start = skipLeadingCrlf(buf);
  if (start >= buf.length) throw badRequest('empty message');
  let headEnd = buf.indexOf(CRLFCRLF, start);
  let bodyStart: number;
  if (headEnd !== -1) bodyStart = headEnd + 4;
  else if (buf.length - start >= 2 && buf[buf.length - 2] === 0x0d && buf[buf.length - 1] === 0x0a) {
    // The datagram ends with its last field line and no empty line (RFC 4475
    // baddn): the datagram boundary ends the header section.
    headEnd = buf.length - 2;
    bodyStart = buf.length;
  } else throw badRequest('header section not terminated by an empty line');

  const head = readHead(buf, start, headEnd);
  const len = head.length;
  let eol = head.indexOf('\r\n');
  if (eol === -1) eol = len;
  const startLine = head.slice(0, eol);
  if (startLine.indexOf('\n') !== -1 || startLine.indexOf('\r') !== -1) throw badRequest('bare CR or LF in start line');
  const sl: StartLine = { isRequest: true, method: '', uri: '', status: 0, reason: '', fault: undefined };
  if (startLine.charCodeAt(0) === 0x53 && startLine.startsWith('SIP/')) parseStatusLine(startLine, sl);
  else parseRequestLine(startLine, sl);
  let fault = sl.fault;

  const headers = new Headers();
  let contentLength = -1;
  let count = 0;
  let pos = eol + 2;
  while (pos < len) {
    // A field runs to the first CRLF not followed by SP/HT (folding, §7.3.1).
    let end = head.indexOf('\r\n', pos);
    if (end === -1) end = len;
    let folded = false;
    while (end < len && isWspCode(head.charCodeAt(end + 2))) {
      folded = true;
      end = head.indexOf('\r\n', end + 2);
      if (end === -1) end = len;
    }
    const next = end + 2;
    const lf = head.indexOf('\n', pos);
    const cr = head.indexOf('\r', pos);
    if (!folded && ((lf !== -1 && lf < end) || cr < end && cr !== -1)) {
      fault ??= badRequest('bare CR or LF in header section');
      pos = next;
      continue;
    }
    if (++count > maxHeaders) throw new SipParseError(513, 'Message Too Large: too many header fields', build(sl, headers));
    let colon = pos;
    while (colon < end && head.charCodeAt(colon) !== 0x3a) colon++;
    if (colon >= end) {
      fault ??= badRequest('header field line without a colon');
      pos = next;
      continue;
    }
    let ne = colon;
    while (ne > pos && isWspCode(head.charCodeAt(ne - 1))) ne--;
    const name = canonicalHeaderName(head, pos, ne);
    if (name === undefined) {
      fault ??= badRequest('malformed header field name');
      pos = next;
      continue;
    }
    let vs = colon + 1;
    let ve = end;
    let value: string;
    if (folded) value = unfold(head, vs, ve).trim();
    else {
      while (vs < ve && isWspCode(head.charCodeAt(vs))) vs++;
      while (ve > vs && isWspCode(head.charCodeAt(ve - 1))) ve--;
      value = head.slice(vs, ve);
    }
    if (folded && (value.indexOf('\n') !== -1 || value.indexOf('\r') !== -1)) {
      fault ??= badRequest('bare CR or LF in header section');
      pos = next;
      continue;
    }
    headers.append(name, value);
    if (name === 'content-length') {
      if (contentLength !== -1) fault ??= badRequest(Number(value) === contentLength ? 'multiple Content-Length header fields' : 'conflicting Content-Length values');
      else if (value.length === 0 || value.length > 10 || !/^[0-9]+$/.test(value)) fault ??= badRequest('malformed Content-Length');
      else contentLength = Number(value);
    }
    pos = next;
  }
  if (fault) throw new SipParseError(fault.status, fault.reason, build(sl, headers));
  if (contentLength === -1) return build(sl, headers, buf.subarray(bodyStart));
  if (bodyStart + contentLength > buf.length) throw badRequest('Content-Length exceeds body', build(sl, headers));
  return build(sl, headers, buf.subarray(bodyStart, bodyStart + contentLength));
}
