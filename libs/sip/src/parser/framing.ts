// Message framing on stream transports (RFC 3261 §18.3): the header section ends
// at the first empty line and Content-Length, mandatory on streams, gives the
// body's size. Works on bytes, without decoding the header section to a string.

import { SipParseError, badRequest } from './errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, skipLeadingCrlf, type ParseLimits } from './limits.js';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = 'content-length';

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * If the field line starting at buf[i] is Content-Length (or its compact form
 * "l"), returns the index of its ":"; otherwise -1.
 */
function contentLengthColon(buf: Buffer, i: number, end: number): number {
  let j = i;
  if (lower(buf[j]!) === 0x6c /* l */ && (j + 1 >= end || buf[j + 1] === 0x3a || buf[j + 1] === 0x20 || buf[j + 1] === 0x09)) {
    j++;
  } else {
    if (end - j < CONTENT_LENGTH.length) return -1;
    for (let k = 0; k < CONTENT_LENGTH.length; k++) if (lower(buf[j + k]!) !== CONTENT_LENGTH.charCodeAt(k)) return -1;
    j += CONTENT_LENGTH.length;
  }
  while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
  return j < end && buf[j] === 0x3a ? j : -1;
}

/**
 * Parses the Content-Length value after the colon at buf[i], across folded
 * lines; returns the number or throws: a stream cannot be re-synchronised after
 * a bad value (RFC 4475 ncl).
 */
function contentLengthValue(buf: Buffer, i: number, end: number): number {
  let j = i + 1;
  const skip = (): void => {
    for (;;) {
      while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
      if (j + 2 < end && buf[j] === 0x0d && buf[j + 1] === 0x0a && (buf[j + 2] === 0x20 || buf[j + 2] === 0x09)) j += 2;
      else return;
    }
  };
  skip();
  const start = j;
  let n = 0;
  while (j < end && buf[j]! >= 0x30 && buf[j]! <= 0x39) {
    n = n * 10 + (buf[j]! - 0x30);
    j++;
  }
  if (j === start || j - start > 10) throw badRequest('malformed Content-Length');
  skip();
  if (j < end && buf[j] !== 0x0d) throw badRequest('malformed Content-Length');
  return n;
}

/**
 * Byte length of the first complete message in `buf` (leading CRLFs included),
 * or 0 if more bytes are needed. Throws SipParseError when the stream cannot be
 * framed: Content-Length missing, malformed or repeated (RFC 4475 ncl, mcl01),
 * or the message larger than the limit (513).
 */
export function frameLength(buf: Buffer, limits?: ParseLimits): number {
  const maxBytes = limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const start = skipLeadingCrlf(buf);
  if (start >= buf.length - 1) return 0;
  const headEnd = buf.indexOf(CRLFCRLF, start);
  if (headEnd === -1) {
    if (buf.length - start > maxBytes) throw new SipParseError(513, 'Message Too Large');
    return 0;
  }
  let contentLength = -1;
  // Walk the field lines (the start line never matches: it has no ":" right after a name).
  let line = buf.indexOf(0x0a, start) + 1;
  while (line > 0 && line < headEnd + 2) {
    const c = buf[line];
    if (c !== 0x20 && c !== 0x09) {
      const colon = contentLengthColon(buf, line, headEnd + 2);
      if (colon !== -1) {
        if (contentLength !== -1) throw badRequest('multiple Content-Length header fields');
        contentLength = contentLengthValue(buf, colon, headEnd + 2);
      }
    }
    line = buf.indexOf(0x0a, line) + 1;
  }
  if (contentLength === -1) throw badRequest('missing Content-Length on a stream transport');
  const total = headEnd + 4 + contentLength;
  if (total - start > maxBytes) throw new SipParseError(513, 'Message Too Large');
  return buf.length >= total ? total : 0;
}
