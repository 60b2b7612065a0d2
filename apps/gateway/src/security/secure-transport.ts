// What only a TLS hop may carry (issue 8 item 10):
// - SDES keys (RFC 4568 a=crypto). They travel in the SDP in clear text, so the SRTP
//   they protect is only as private as the SIP hop: RFC 4568 §8.3 requires a secure
//   transport for them. An offer carrying them over UDP, TCP or plain WebSocket is
//   refused 488 (the keys are burnt anyway: logged at warn so someone rotates them).
//   The gateway itself offers RTP/AVP to trunks and never writes a=crypto.
// - SIPS URIs (RFC 3261 §26.2.2): a request for a sips: URI must have been carried over
//   TLS on every hop. One that arrives over a non-TLS transport is refused 416, the
//   status of a URI scheme the server will not serve that way (RFC 3261 §8.2.2.1);
//   one that would leave over a non-TLS hop (a trunk, an agent's connection) is
//   refused 480 by the call handlers, using the helpers below.

import { isSipUri, parseUri, type SipRequest, type TransportInfo } from '@trapezoid/sip';
import type { Logger } from '../logging.js';
import { sourceOf } from '../auth/source.js';

const SECURE: ReadonlySet<string> = new Set(['tls', 'wss']);

/** Whether a message arrived (or a binding was made) over TLS or secure WebSocket. */
export function isSecureTransport(protocol: string | undefined): boolean {
  return protocol !== undefined && SECURE.has(protocol);
}

/** Whether a URI is a sips: URI. */
export function isSipsUri(uri: string): boolean {
  try {
    const u = parseUri(uri);
    return isSipUri(u) && u.scheme === 'sips';
  } catch {
    return false;
  }
}

const CRYPTO_LINE = /^a=crypto:/m;

/**
 * The refusal of an out-of-dialog request that carries SDES keys or a SIPS Request-URI
 * over a non-TLS transport, logged; undefined when it may go on.
 */
export function insecureTransportRefusal(req: SipRequest, log: Logger): { status: number; reason: string } | undefined {
  const t: TransportInfo | undefined = req.transport;
  if (t === undefined || isSecureTransport(t.protocol)) return undefined;
  const where = { method: req.method, callId: req.callId, ...sourceOf(t) };
  if (isSipsUri(req.uri)) {
    log.warn('request refused: SIPS URI over a non-TLS transport', { event: 'sips-refused', uri: req.uri, ...where });
    return { status: 416, reason: 'SIPS URI over a non-TLS transport' };
  }
  if (req.body.length > 0 && CRYPTO_LINE.test(req.body.toString('latin1'))) {
    log.warn('request refused: SDES keys over a non-TLS transport (they are exposed: rotate them)', { event: 'sdes-refused', ...where });
    return { status: 488, reason: 'SDES keys refused over a non-TLS transport' };
  }
  return undefined;
}
