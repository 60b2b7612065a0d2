// Via (RFC 3261 §20.42, §25.1): sent-protocol, sent-by and via-params, with
// received/rport of RFC 3581 and the WS/WSS transports of RFC 7118.

import { TOKEN, isDigits } from './charset.js';
import { badRequest } from './errors.js';
import { formatHost, parsePort, scanHost, type HostScan } from './host.js';
import { scanParams, skipWsp } from './params.js';

export interface Via {
  /** Transport, uppercase: 'UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS' or any other token. */
  protocol: string;
  /** sent-by host; IPv6 without brackets. */
  host: string;
  port?: number;
  /** Every via-param in wire order (names lowercased), branch/received/rport included. */
  params: Map<string, string | null>;
  branch?: string;
  received?: string;
  /** RFC 3581: null = present without a value (a request asking for it). */
  rport?: number | null;
}

const hostScan: HostScan = { host: '', end: 0 };

function scanToken(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] === 0) break;
    i++;
  }
  return i;
}

/** One via-parm (a single element of a Via list; split multi-valued lines first). */
export function parseVia(value: string): Via {
  const s = value;
  const end = s.length;
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport, SLASH = SWS "/" SWS
  let i = skipWsp(s, 0, end);
  let j = scanToken(s, i, end);
  if (j === i || s.slice(i, j).toUpperCase() !== 'SIP') throw badRequest('malformed Via protocol');
  i = skipWsp(s, j, end);
  if (s.charCodeAt(i) !== 0x2f) throw badRequest('malformed Via protocol');
  i = skipWsp(s, i + 1, end);
  j = scanToken(s, i, end);
  if (j === i) throw badRequest('malformed Via protocol version');
  i = skipWsp(s, j, end);
  if (s.charCodeAt(i) !== 0x2f) throw badRequest('malformed Via protocol');
  i = skipWsp(s, i + 1, end);
  j = scanToken(s, i, end);
  if (j === i) throw badRequest('malformed Via transport');
  const protocol = s.slice(i, j).toUpperCase();
  // LWS sent-by
  i = skipWsp(s, j, end);
  if (i === j) throw badRequest('malformed Via sent-by');
  if (!scanHost(s, i, end, hostScan)) throw badRequest('malformed Via host');
  const via: Via = { protocol, host: hostScan.host, params: new Map() };
  i = skipWsp(s, hostScan.end, end);
  if (i < end && s.charCodeAt(i) === 0x3a) {
    i = skipWsp(s, i + 1, end);
    let pe = i;
    while (pe < end && s.charCodeAt(pe) >= 0x30 && s.charCodeAt(pe) <= 0x39) pe++;
    const port = parsePort(s, i, pe);
    if (port < 0) throw badRequest('malformed Via port');
    via.port = port;
    i = pe;
  }
  scanParams(s, i, end, via.params, 'Via');
  const branch = via.params.get('branch');
  if (branch !== undefined) {
    if (branch === null) throw badRequest('Via branch without value');
    via.branch = branch;
  }
  const received = via.params.get('received');
  if (received !== undefined) {
    if (received === null) throw badRequest('Via received without value');
    via.received = received;
  }
  const rport = via.params.get('rport');
  if (rport !== undefined) {
    if (rport === null) via.rport = null;
    else {
      const n = isDigits(rport) ? parsePort(rport, 0, rport.length) : -1;
      if (n < 0) throw badRequest('malformed Via rport');
      via.rport = n;
    }
  }
  return via;
}

/**
 * Writes a via-parm. The branch, received and rport fields win over the params
 * map (a transport sets `via.received = addr` and formats), others come from
 * params in order.
 */
export function formatVia(v: Via): string {
  let out = 'SIP/2.0/' + v.protocol + ' ' + formatHost(v.host);
  if (v.port !== undefined) out += ':' + v.port;
  let sawBranch = false;
  let sawReceived = false;
  let sawRport = false;
  for (const [k, val] of v.params) {
    if (k === 'branch') {
      sawBranch = true;
      if (v.branch !== undefined) out += ';branch=' + v.branch;
    } else if (k === 'received') {
      sawReceived = true;
      if (v.received !== undefined) out += ';received=' + v.received;
    } else if (k === 'rport') {
      sawRport = true;
      if (v.rport !== undefined) out += v.rport === null ? ';rport' : ';rport=' + v.rport;
    } else out += val === null ? ';' + k : ';' + k + '=' + val;
  }
  if (!sawBranch && v.branch !== undefined) out += ';branch=' + v.branch;
  if (!sawReceived && v.received !== undefined) out += ';received=' + v.received;
  if (!sawRport && v.rport !== undefined) out += v.rport === null ? ';rport' : ';rport=' + v.rport;
  return out;
}
