// SIP, SIPS (RFC 3261 §19.1, §25.1), tel (RFC 3966) and other absolute URIs.
// Parts stay in their escaped wire form; unescapeUri() decodes one level when an
// application needs the characters (RFC 4475 esc01: never recursively).

import { HNV, PARAMCHAR, PASSWORD, URIC, USER, allIn, isHex } from './charset.js';
import { badRequest } from './errors.js';
import { formatHost, normalizeHost, parsePort, scanHost, type HostScan } from './host.js';

export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  password?: string;
  /** Hostname or address; IPv6 without its brackets. */
  host: string;
  port?: number;
  params: Map<string, string | null>;
  headers: Map<string, string>;
}
export interface TelUri { scheme: 'tel'; number: string; params: Map<string, string | null> }
/** A URI of a scheme this stack does not interpret (RFC 4475 unkscm, novelsc, unksm2). */
export interface AbsoluteUri { scheme: string; opaque: string }
export type Uri = SipUri | TelUri | AbsoluteUri;

export function isSipUri(u: Uri): u is SipUri {
  return u.scheme === 'sip' || u.scheme === 'sips';
}
export function isTelUri(u: Uri): u is TelUri {
  return u.scheme === 'tel';
}

const hostScan: HostScan = { host: '', end: 0 };

function schemeEnd(text: string): number {
  const c0 = text.charCodeAt(0) | 0x20;
  if (!(c0 >= 0x61 && c0 <= 0x7a)) return -1;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) return i;
    const l = c | 0x20;
    if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return -1;
  }
  return -1;
}

/** uri-parameters: *( ";" pname [ "=" pvalue ] ), no white space (unlike header params). */
function scanUriParams(s: string, i: number, end: number, out: Map<string, string | null>): void {
  while (i < end) {
    // s[i] is ";". One pass per parameter, so ";a;a;a..." stays linear.
    let next = i + 1;
    let eq = -1;
    for (; next < end; next++) {
      const c = s.charCodeAt(next);
      if (c === 0x3b) break;
      if (c === 0x3d && eq === -1) eq = next;
    }
    if (eq !== -1) {
      if (!allIn(s, i + 1, eq, PARAMCHAR) || !allIn(s, eq + 1, next, PARAMCHAR)) throw badRequest('malformed URI parameter');
      out.set(s.slice(i + 1, eq).toLowerCase(), s.slice(eq + 1, next));
    } else {
      if (!allIn(s, i + 1, next, PARAMCHAR)) throw badRequest('malformed URI parameter');
      out.set(s.slice(i + 1, next).toLowerCase(), null);
    }
    i = next;
  }
}

function parseSipUri(text: string, scheme: 'sip' | 'sips', start: number): SipUri {
  const end = text.length;
  const uri: SipUri = { scheme, host: '', params: new Map(), headers: new Map() };
  let i = start;
  // The userinfo ends at the one "@": no other part of a SIP URI may hold it
  // unescaped, while the user part may hold ";", "?", "/" and "," (RFC 4475 intmeth).
  const at = text.indexOf('@', start);
  if (at !== -1) {
    let colon = text.indexOf(':', start);
    if (colon > at) colon = -1;
    const userEnd = colon === -1 ? at : colon;
    if (!allIn(text, start, userEnd, USER)) throw badRequest('malformed user part in URI');
    uri.user = text.slice(start, userEnd);
    if (colon !== -1) {
      if (colon + 1 < at && !allIn(text, colon + 1, at, PASSWORD)) throw badRequest('malformed password in URI');
      uri.password = text.slice(colon + 1, at);
    }
    i = at + 1;
  }
  if (!scanHost(text, i, end, hostScan)) throw badRequest('malformed host in URI');
  uri.host = hostScan.host;
  i = hostScan.end;
  if (i < end && text.charCodeAt(i) === 0x3a) {
    let pe = i + 1;
    while (pe < end && text.charCodeAt(pe) !== 0x3b && text.charCodeAt(pe) !== 0x3f) pe++;
    const port = parsePort(text, i + 1, pe);
    if (port < 0) throw badRequest('malformed port in URI');
    uri.port = port;
    i = pe;
  }
  let q = text.indexOf('?', i);
  if (q === -1) q = end;
  if (i < q) {
    if (text.charCodeAt(i) !== 0x3b) throw badRequest('malformed host in URI');
    scanUriParams(text, i, q, uri.params);
  }
  if (q < end) {
    // headers = "?" header *( "&" header ); header = hname "=" hvalue
    for (const h of text.slice(q + 1).split('&')) {
      const eq = h.indexOf('=');
      if (eq <= 0 || !allIn(h, 0, eq, HNV) || (eq + 1 < h.length && !allIn(h, eq + 1, h.length, HNV))) {
        throw badRequest('malformed URI header');
      }
      uri.headers.set(h.slice(0, eq), h.slice(eq + 1));
    }
  }
  return uri;
}

/** RFC 3966: the number runs to the first ";"; visual separators are kept as written. */
function parseTelUri(text: string, start: number): TelUri {
  let semi = text.indexOf(';', start);
  if (semi === -1) semi = text.length;
  if (semi === start) throw badRequest('empty tel URI');
  for (let i = start; i < semi; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || isHex(c) || c === 0x2d || c === 0x2e || c === 0x28 || c === 0x29 ||
      c === 0x2a || c === 0x23 || (c === 0x2b && i === start);
    if (!ok) throw badRequest('malformed tel URI number');
  }
  const uri: TelUri = { scheme: 'tel', number: text.slice(start, semi), params: new Map() };
  scanUriParams(text, semi, text.length, uri.params);
  return uri;
}

/** Parses a URI; throws SipParseError(400) naming the fault. */
export function parseUri(text: string): Uri {
  const colon = schemeEnd(text);
  if (colon === -1) throw badRequest('malformed URI scheme');
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text, scheme, colon + 1);
  if (scheme === 'tel') return parseTelUri(text, colon + 1);
  if (colon + 1 >= text.length || !allIn(text, colon + 1, text.length, URIC)) throw badRequest('malformed URI');
  return { scheme, opaque: text.slice(colon + 1) };
}

export function formatUri(uri: Uri): string {
  if (isSipUri(uri)) {
    let out = uri.scheme + ':';
    if (uri.user !== undefined) out += uri.user + (uri.password !== undefined ? ':' + uri.password : '') + '@';
    out += formatHost(uri.host);
    if (uri.port !== undefined) out += ':' + uri.port;
    for (const [k, v] of uri.params) out += v === null ? ';' + k : ';' + k + '=' + v;
    let sep = '?';
    for (const [k, v] of uri.headers) {
      out += sep + k + '=' + v;
      sep = '&';
    }
    return out;
  }
  if (isTelUri(uri)) {
    let out = 'tel:' + uri.number;
    for (const [k, v] of uri.params) out += v === null ? ';' + k : ';' + k + '=' + v;
    return out;
  }
  return uri.scheme + ':' + (uri as AbsoluteUri).opaque;
}

/**
 * Decodes %HH escapes once (never recursively: "%25%34%31" becomes "%41").
 * Escaped octets are decoded as UTF-8; "%00" becomes a NUL character, which a
 * JavaScript string carries without truncation (RFC 4475 escnull).
 */
export function unescapeUri(s: string): string {
  if (s.indexOf('%') === -1) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Escapes characters outside `allowed` (e.g. for building a user part). */
export function escapeUri(s: string, allowed: Uint8Array = USER): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b < 128 && allowed[b] === 1 ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

function paramValue(v: string | null | undefined): string | null | undefined {
  return v === null || v === undefined ? v : unescapeUri(v).toLowerCase();
}

/** URI parameters that must match if either URI has them (RFC 3261 §19.1.4). */
const SIGNIFICANT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

function paramsMatch(a: Map<string, string | null>, b: Map<string, string | null>, strict: boolean): boolean {
  const ua = new Map<string, string | null>();
  for (const [k, v] of a) ua.set(unescapeUri(k).toLowerCase(), v);
  const ub = new Map<string, string | null>();
  for (const [k, v] of b) ub.set(unescapeUri(k).toLowerCase(), v);
  if (strict && ua.size !== ub.size) return false;
  for (const [k, v] of ua) {
    if (!ub.has(k)) {
      if (strict || SIGNIFICANT_PARAMS.includes(k)) return false;
      continue;
    }
    if (paramValue(v) !== paramValue(ub.get(k))) return false;
  }
  if (!strict) for (const k of SIGNIFICANT_PARAMS) if (ub.has(k) && !ua.has(k)) return false;
  return true;
}

/** RFC 3261 §19.1.4 URI comparison (and RFC 3966 §4 for tel). */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.scheme.toLowerCase() !== b.scheme.toLowerCase()) return false;
  if (isSipUri(a) && isSipUri(b)) {
    if (unescapeUri(a.user ?? '') !== unescapeUri(b.user ?? '') || (a.user === undefined) !== (b.user === undefined)) return false;
    if (unescapeUri(a.password ?? '') !== unescapeUri(b.password ?? '') || (a.password === undefined) !== (b.password === undefined)) return false;
    if (normalizeHost(a.host) !== normalizeHost(b.host) || a.port !== b.port) return false;
    if (!paramsMatch(a.params, b.params, false)) return false;
    if (a.headers.size !== b.headers.size) return false;
    for (const [k, v] of a.headers) {
      let other: string | undefined;
      for (const [k2, v2] of b.headers) if (unescapeUri(k2).toLowerCase() === unescapeUri(k).toLowerCase()) other = v2;
      if (other === undefined || unescapeUri(other) !== unescapeUri(v)) return false;
    }
    return true;
  }
  if (isTelUri(a) && isTelUri(b)) {
    const strip = (n: string): string => n.replace(/[-.()]/g, '').toLowerCase();
    return strip(a.number) === strip(b.number) && paramsMatch(a.params, b.params, true);
  }
  if (isSipUri(a) || isSipUri(b) || isTelUri(a) || isTelUri(b)) return false;
  return (a as AbsoluteUri).opaque === (b as AbsoluteUri).opaque;
}
