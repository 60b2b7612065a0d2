// host / hostport (RFC 3261 §25.1) shared by SIP URIs and Via sent-by. IPv6
// references arrive in brackets (RFC 5118); the parsed `host` keeps the bare
// address so it can go straight to a socket call, and the formatters add the
// brackets back.

import { isIPv6 } from 'node:net';
import { HOSTCHAR } from './charset.js';

/** Result slots reused by scanHost, so parsing a host allocates only its string. */
export interface HostScan {
  host: string;
  /** Index just past the host (past "]" for an IPv6 reference). */
  end: number;
}

/**
 * Scans a host starting at s[i]. Returns false if there is none: hostnames and
 * IPv4 addresses are runs of alphanumerics, "-", "." (and "_", tolerated); IPv6
 * references must hold a valid IPv6 address between brackets.
 */
export function scanHost(s: string, i: number, end: number, out: HostScan): boolean {
  if (i < end && s.charCodeAt(i) === 0x5b /* [ */) {
    const close = s.indexOf(']', i + 1);
    if (close === -1 || close >= end) return false;
    const addr = s.slice(i + 1, close);
    if (!isIPv6(addr)) return false;
    out.host = addr;
    out.end = close + 1;
    return true;
  }
  let j = i;
  while (j < end) {
    const c = s.charCodeAt(j);
    if (c >= 128 || HOSTCHAR[c] === 0) break;
    j++;
  }
  if (j === i) return false;
  out.host = s.slice(i, j);
  out.end = j;
  return true;
}

/** Parses 1*5DIGIT up to 65535; returns -1 if malformed. */
export function parsePort(s: string, from: number, to: number): number {
  if (to <= from || to - from > 5) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n <= 65535 ? n : -1;
}

/** Host as written on the wire: IPv6 addresses go back into brackets. */
export function formatHost(host: string): string {
  return host.indexOf(':') !== -1 ? '[' + host + ']' : host;
}

/**
 * Canonical form for comparisons: lowercase, and IPv6 addresses expanded to
 * eight groups so "::1" equals "0:0:0:0:0:0:0:1" (RFC 5118 §4.8 examples).
 */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase();
  if (h.indexOf(':') === -1) return h;
  let text = h;
  let tail: string[] = [];
  const v4 = text.lastIndexOf(':');
  if (text.indexOf('.', v4) !== -1) {
    const parts = text.slice(v4 + 1).split('.').map(Number);
    tail = [((parts[0]! << 8) | parts[1]!).toString(16), ((parts[2]! << 8) | parts[3]!).toString(16)];
    text = text.slice(0, v4 + 1) + '0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  let groups: string[];
  if (rest === undefined) groups = headGroups;
  else {
    const restGroups = rest === '' ? [] : rest.split(':');
    const fill = 8 - (tail.length ? tail.length - 1 : 0) - headGroups.length - restGroups.length;
    groups = [...headGroups, ...new Array<string>(Math.max(fill, 0)).fill('0'), ...restGroups];
  }
  if (tail.length) groups = [...groups.slice(0, -1), ...tail];
  return groups.map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}
