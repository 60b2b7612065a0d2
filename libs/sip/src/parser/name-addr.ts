// name-addr / addr-spec header values: From, To, Contact, Route, Record-Route,
// Refer-To, P-Asserted-Identity ... (RFC 3261 §20.10, §25.1).

import { TOKEN, isWsp } from './charset.js';
import { badRequest } from './errors.js';
import { quote, scanParams, scanQuoted, skipWsp, unquote } from './params.js';

export interface NameAddr {
  /** The display name as text: quotes removed and quoted-pairs resolved. */
  displayName?: string;
  /** The URI exactly as written (parse it with parseUri when needed). */
  uri: string;
  /** Header parameters (tag, expires, q ...), never URI parameters. */
  params: Map<string, string | null>;
}

/**
 * Accepts both forms. In the addr-spec form (no "<>"), RFC 3261 §20.10 makes
 * everything after the first ";" a header parameter, and the URI may hold no
 * ";", "," or "?" (RFC 4475 cparam01, regbadct). A token display name may touch
 * the "<" (RFC 4475 lwsdisp, accepted on purpose).
 */
export function parseNameAddr(value: string): NameAddr {
  const end = value.length;
  let i = skipWsp(value, 0, end);
  let displayName: string | undefined;
  const lt = value.indexOf('<', i);
  if (i < end && value.charCodeAt(i) === 0x22) {
    const close = scanQuoted(value, i, end, 'display name');
    displayName = unquote(value.slice(i, close));
    i = skipWsp(value, close, end);
    if (i >= end || value.charCodeAt(i) !== 0x3c) throw badRequest('quoted display name not followed by <URI>');
  } else if (lt !== -1) {
    // *(token LWS): only token characters and white space before the "<".
    for (let j = i; j < lt; j++) {
      const c = value.charCodeAt(j);
      if (!isWsp(c) && (c >= 128 || TOKEN[c] === 0)) throw badRequest('display name must be a token or quoted string');
    }
    const dn = value.slice(i, lt).trim();
    if (dn.length > 0) displayName = dn.replace(/[ \t]+/g, ' ');
    i = lt;
  } else {
    // addr-spec
    let j = i;
    while (j < end) {
      const c = value.charCodeAt(j);
      if (c === 0x3b || isWsp(c)) break;
      if (c === 0x2c || c === 0x3f || c === 0x3e || c === 0x22) throw badRequest('URI with ",", "?" or ">" must be enclosed in <>');
      j++;
    }
    if (j === i) throw badRequest('missing URI');
    const na: NameAddr = { uri: value.slice(i, j), params: new Map() };
    scanParams(value, j, end, na.params, 'header parameters');
    return na;
  }
  // name-addr: "<" addr-spec ">" with no white space inside (RFC 4475 badaspec)
  const gt = value.indexOf('>', i + 1);
  if (gt === -1) throw badRequest('missing > after URI');
  if (gt === i + 1) throw badRequest('missing URI');
  for (let j = i + 1; j < gt; j++) {
    const c = value.charCodeAt(j);
    if (c <= 0x20 || c === 0x3c || c === 0x22) throw badRequest('white space or < inside <URI>');
  }
  const na: NameAddr = { uri: value.slice(i + 1, gt), params: new Map() };
  if (displayName !== undefined) na.displayName = displayName;
  scanParams(value, gt + 1, end, na.params, 'header parameters');
  return na;
}

/** Always writes the name-addr form, so URI parameters can never turn into header ones. */
export function formatNameAddr(n: NameAddr): string {
  let out = n.displayName !== undefined && n.displayName.length > 0 ? quote(n.displayName) + ' <' : '<';
  out += n.uri + '>';
  for (const [k, v] of n.params) out += v === null ? ';' + k : ';' + k + '=' + v;
  return out;
}

/**
 * The tag parameter of a From or To value, without building a NameAddr: dialog
 * and transaction matching call this for every message.
 */
export function tagOf(value: string): string | undefined {
  let i = 0;
  const end = value.length;
  while (i < end && isWsp(value.charCodeAt(i))) i++;
  if (i < end && value.charCodeAt(i) === 0x22) {
    // skip the quoted display name: it may hold "<", ">" and ";"
    i++;
    while (i < end) {
      const c = value.charCodeAt(i);
      if (c === 0x5c) i++;
      else if (c === 0x22) break;
      i++;
    }
  }
  const lt = value.indexOf('<', i);
  let p: number;
  if (lt !== -1) {
    const gt = value.indexOf('>', lt);
    if (gt === -1) return undefined;
    p = gt + 1;
  } else {
    p = value.indexOf(';', i);
    if (p === -1) return undefined;
  }
  // Walk ";name[=value]" pairs; white space may surround ";" and "=" (RFC 4475 wsinv).
  while (p < end) {
    const semi = value.indexOf(';', p);
    if (semi === -1) return undefined;
    let n = semi + 1;
    while (n < end && isWsp(value.charCodeAt(n))) n++;
    if (n + 3 <= end && (value.charCodeAt(n) | 0x20) === 0x74 && (value.charCodeAt(n + 1) | 0x20) === 0x61 &&
      (value.charCodeAt(n + 2) | 0x20) === 0x67) {
      let k = n + 3;
      while (k < end && isWsp(value.charCodeAt(k))) k++;
      if (k < end && value.charCodeAt(k) === 0x3d) {
        k++;
        while (k < end && isWsp(value.charCodeAt(k))) k++;
        let e = k;
        while (e < end && value.charCodeAt(e) !== 0x3b && !isWsp(value.charCodeAt(e))) e++;
        return e > k ? value.slice(k, e) : undefined;
      }
    }
    p = semi + 1;
  }
  return undefined;
}
