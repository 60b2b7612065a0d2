// The auth-param grammar shared by challenges and credentials (RFC 3261 §25.1,
// RFC 7616 §3.3/§3.4): `Digest` then a comma-separated list of name=value where a
// value is a token or a quoted-string. Names are case-insensitive; values are not.

import { SipError } from '../message/index.js';

export interface AuthParams {
  /** The auth scheme as written, e.g. "Digest". */
  scheme: string;
  /** Lowercase param name -> unquoted value. */
  params: Map<string, string>;
}

const isTokenChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
  // - . ! % * _ + ` ' ~ and, for nonce/cnonce tokens seen in the wild, / = :
  c === 0x2d || c === 0x2e || c === 0x21 || c === 0x25 || c === 0x2a || c === 0x5f ||
  c === 0x2b || c === 0x60 || c === 0x27 || c === 0x7e || c === 0x2f || c === 0x3d || c === 0x3a;

const isLws = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

function bad(why: string): SipError {
  return new SipError(400, 'Bad Authentication Header: ' + why);
}

/** Parses `scheme name=value, name="quoted", ...`; throws SipError(400) on bad syntax. */
export function parseAuthParams(value: string): AuthParams {
  let i = 0;
  const n = value.length;
  while (i < n && isLws(value.charCodeAt(i))) i++;
  const schemeStart = i;
  while (i < n && isTokenChar(value.charCodeAt(i)) && value.charCodeAt(i) !== 0x3d) i++;
  const scheme = value.slice(schemeStart, i);
  if (scheme.length === 0) throw bad('missing scheme');
  if (i < n && !isLws(value.charCodeAt(i))) throw bad('bad scheme');
  const params = new Map<string, string>();
  let first = true;
  for (;;) {
    while (i < n && isLws(value.charCodeAt(i))) i++;
    if (i >= n) break;
    if (!first) {
      if (value.charCodeAt(i) !== 0x2c /* , */) throw bad('expected comma');
      i++;
      while (i < n && isLws(value.charCodeAt(i))) i++;
      if (i >= n) break; // tolerate a trailing comma
    }
    first = false;
    const nameStart = i;
    while (i < n && isTokenChar(value.charCodeAt(i)) && value.charCodeAt(i) !== 0x3d) i++;
    const name = value.slice(nameStart, i).toLowerCase();
    if (name.length === 0) throw bad('missing parameter name');
    while (i < n && isLws(value.charCodeAt(i))) i++;
    if (value.charCodeAt(i) !== 0x3d /* = */) throw bad(`parameter ${name} has no value`);
    i++;
    while (i < n && isLws(value.charCodeAt(i))) i++;
    let v: string;
    if (value.charCodeAt(i) === 0x22 /* " */) {
      i++;
      v = '';
      let closed = false;
      let runStart = i;
      while (i < n) {
        const c = value.charCodeAt(i);
        if (c === 0x5c /* \ quoted-pair */) {
          v += value.slice(runStart, i);
          if (i + 1 >= n) break;
          v += value[i + 1];
          i += 2;
          runStart = i;
        } else if (c === 0x22) {
          v += value.slice(runStart, i);
          i++;
          closed = true;
          break;
        } else i++;
      }
      if (!closed) throw bad(`unterminated quoted value for ${name}`);
    } else {
      const vStart = i;
      while (i < n && isTokenChar(value.charCodeAt(i))) i++;
      v = value.slice(vStart, i);
      if (v.length === 0) throw bad(`empty value for ${name}`);
    }
    if (params.has(name)) throw bad(`duplicate parameter ${name}`);
    params.set(name, v);
  }
  return { scheme, params };
}

/** A quoted-string with `"` and `\` escaped (RFC 3261 §25.1 quoted-pair). */
export function quote(v: string): string {
  return '"' + (/["\\]/.test(v) ? v.replace(/(["\\])/g, '\\$1') : v) + '"';
}
