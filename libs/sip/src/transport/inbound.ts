// What the server transport does to a request before anyone else sees it, and the
// stateless answer to one it cannot hand up.

import { randomHex } from '../message/random.js';
import { Headers, SipResponse, splitList, type SipRequest, type TransportInfo } from '../message/index.js';
import { formatVia, parseMessage, parseVia, SipParseError, type ParseLimits } from '../parser/index.js';

/**
 * RFC 3261 §18.2.1: if the sent-by host differs from the packet's source address, add
 * received=<source>. RFC 3581 §4: an rport without a value gets the source port, and
 * then received is added even when it equals sent-by. Throws SipParseError if the
 * top Via is malformed.
 */
export function stampTopVia(req: SipRequest, info: TransportInfo): void {
  const raw = req.headers.getRaw('via');
  if (raw === undefined) return; // the parser refuses requests without Via
  const list = raw.indexOf(',') === -1 ? null : splitList(raw);
  const via = parseVia(list === null ? raw : list[0]!);
  if (via.rport === null) {
    via.rport = info.remotePort;
    via.received = info.remoteAddress;
  } else if (via.host.toLowerCase() !== info.remoteAddress) {
    via.received = info.remoteAddress;
  } else return;
  const top = formatVia(via);
  replaceTopVia(req.headers, list === null ? top : [top, ...list.slice(1)].join(', '));
}

/**
 * Points a stateless error response at the packet's real source: its top Via gets
 * received= and rport= the source address and port (RFC 3581 §4 as if rport had been
 * asked for), so responseTarget() sends it there and not to the port the Via of a
 * request we refused names (it may be wrong, or someone else's). A top Via that does not
 * parse leaves the response as it is.
 */
export function pinToSource(res: SipResponse, info: TransportInfo): void {
  const raw = res.headers.getRaw('via');
  if (raw === undefined) return;
  const list = raw.indexOf(',') === -1 ? null : splitList(raw);
  let via;
  try {
    via = parseVia(list === null ? raw : list[0]!);
  } catch {
    return;
  }
  via.rport = info.remotePort;
  via.received = info.remoteAddress;
  const top = formatVia(via);
  replaceTopVia(res.headers, list === null ? top : [top, ...list.slice(1)].join(', '));
}

/** Replaces the first Via field line, keeping every later Via in order. */
function replaceTopVia(headers: Headers, firstLine: string): void {
  if (headers.countLines('via') === 1) {
    headers.set('via', firstLine);
    return;
  }
  // Headers.set() drops later lines; put them back after the first. Only the order
  // among Via lines is significant (RFC 3261 §7.3.1).
  const rest: string[] = [];
  let first = true;
  for (const [name, value] of headers.lines()) {
    if (name !== 'via') continue;
    if (first) first = false;
    else rest.push(value);
  }
  headers.set('via', firstLine);
  for (const v of rest) headers.append('via', v);
}

/** A To tag for stateless responses (RFC 3261 §8.2.6.2, §19.3). */
function newTag(): string {
  return randomHex(6);
}

function hasTag(to: string): boolean {
  // Parameters of the name-addr, not of the URI inside <...>.
  const gt = to.lastIndexOf('>');
  return /;\s*tag\s*=/i.test(gt === -1 ? to : to.slice(gt));
}

/**
 * The stateless error response to a request that failed to parse (RFC 3261 §8.2.6,
 * §16.3's "reason phrase naming the fault" style). Undefined when the request kept
 * too little to address a response to, or is an ACK (never answered, §17.1.1.1).
 */
export function statelessErrorResponse(
  partial: SipRequest,
  status: number,
  reason: string,
): SipResponse | undefined {
  if (partial.method === 'ACK') return undefined;
  const h = partial.headers;
  const from = h.getRaw('from');
  const to = h.getRaw('to');
  const callId = h.getRaw('call-id');
  const cseq = h.getRaw('cseq');
  if (!h.has('via') || from === undefined || to === undefined || callId === undefined || cseq === undefined) {
    return undefined;
  }
  const code = status >= 400 && status <= 699 ? status : 400;
  const res = new SipResponse(code, reason.replace(/[\r\n]+/g, ' '));
  for (const [name, value] of h.lines()) if (name === 'via') res.headers.append('via', value);
  res.headers.append('from', from);
  res.headers.append('to', hasTag(to) ? to : to + ';tag=' + newTag());
  res.headers.append('call-id', callId);
  res.headers.append('cseq', cseq);
  return res;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * frameLength() says why a stream cannot be framed but keeps no headers; parse the
 * header section on its own so the request can still be answered (RFC 3261 §18.3:
 * a stream message without Content-Length gets a 400).
 */
export function withRecoveredHeaders(err: unknown, data: Buffer, limits: ParseLimits | undefined): unknown {
  if (!(err instanceof SipParseError) || err.partial) return err;
  const headEnd = data.indexOf(HEAD_END);
  if (headEnd === -1) return err;
  let partial: SipRequest | SipResponse | undefined;
  try {
    partial = parseMessage(data.subarray(0, headEnd + 4), limits);
  } catch (e) {
    partial = e instanceof SipParseError ? e.partial : undefined;
  }
  return partial ? new SipParseError(err.status, err.reason, partial) : err;
}

/** RFC 5626 §4.4.1 / §3.5.1: CRLF keepalives on UDP and WS carry no message. */
export function isCrlfOnly(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0x0d && buf[i] !== 0x0a) return false;
  return true;
}
