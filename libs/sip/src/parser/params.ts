// Generic parameters (RFC 3261 §25.1 `generic-param`): the ";name=value" lists
// that follow Via, name-addr and most other header values. SEMI and EQUAL allow
// linear white space around them (SWS), which RFC 4475 wsinv exercises.

import { TOKEN, isWsp } from './charset.js';
import { badRequest } from './errors.js';

/** gen-value = token / host / quoted-string; host adds ":" "[" "]" for IPv6. */
const VALUECHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) VALUECHAR[c] = TOKEN[c]!;
for (const ch of ':[]') VALUECHAR[ch.charCodeAt(0)] = 1;

export function skipWsp(s: string, i: number, end: number): number {
  while (i < end && isWsp(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Index just past the closing quote of the quoted-string opening at s[i] ('"').
 * quoted-pair (RFC 3261 §25.1) lets "\" escape any octet but CR and LF.
 */
export function scanQuoted(s: string, i: number, end: number, what: string): number {
  for (let j = i + 1; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  throw badRequest('unterminated quoted string in ' + what);
}

function scanValueChars(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    // Non-ASCII (UTF-8) octets are tolerated in unquoted values: RFC 4475 intmeth
    // puts them only in quoted strings, but real UAs are not always that careful.
    if (c < 128 && VALUECHAR[c] === 0) break;
    i++;
  }
  return i;
}

/**
 * Parses `*( SEMI generic-param )` from s[i, end) into out. Names are lowercased
 * (they are case-insensitive); values are kept exactly as written, quoted
 * strings with their quotes, so formatting reproduces them.
 */
export function scanParams(s: string, i: number, end: number, out: Map<string, string | null>, what: string): void {
  for (;;) {
    i = skipWsp(s, i, end);
    if (i >= end) return;
    if (s.charCodeAt(i) !== 0x3b /* ; */) throw badRequest('unexpected text in ' + what);
    i = skipWsp(s, i + 1, end);
    const nameStart = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c >= 128 || TOKEN[c] === 0) break;
      i++;
    }
    if (i === nameStart) throw badRequest('empty parameter in ' + what);
    const name = s.slice(nameStart, i).toLowerCase();
    i = skipWsp(s, i, end);
    if (i < end && s.charCodeAt(i) === 0x3d /* = */) {
      i = skipWsp(s, i + 1, end);
      const valueStart = i;
      if (i < end && s.charCodeAt(i) === 0x22) i = scanQuoted(s, i, end, what);
      else i = scanValueChars(s, i, end);
      if (i === valueStart) throw badRequest('parameter without value in ' + what);
      out.set(name, s.slice(valueStart, i));
    } else {
      out.set(name, null);
    }
  }
}

/** Parses ";a=b;c" style parameters (leading ";" required, LWS allowed). */
export function parseParams(text: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  scanParams(text, 0, text.length, out, 'parameters');
  return out;
}

/** Writes parameters back in ";name=value" form. */
export function formatParams(params: ReadonlyMap<string, string | null>): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? ';' + k : ';' + k + '=' + v;
  return out;
}

/** The text of a quoted-string without its quotes and with quoted-pairs resolved. */
export function unquote(q: string): string {
  if (q.length < 2 || q.charCodeAt(0) !== 0x22) return q;
  const inner = q.slice(1, -1);
  return inner.indexOf('\\') === -1 ? inner : inner.replace(/\\([\s\S])/g, '$1');
}

/** Wraps text in a quoted-string, escaping '"' and '\'. */
export function quote(text: string): string {
  return '"' + text.replace(/["\\]/g, '\\$&') + '"';
}
