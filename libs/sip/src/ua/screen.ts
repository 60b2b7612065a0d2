// Request screening before any transaction state exists: RFC 3261 §8.2.7 (stateless
// UAS behaviour) lets a UAS answer a request without a server transaction, and names
// its main use: issuing challenges to requests that carry no credentials. A stateless
// answer is sent once per request received, never retransmitted, and leaves nothing
// behind (no timers, no memory); a retransmitted request simply gets it again. The
// same hook may drop a request silently (no response at all), which is what a flood
// from a source already known to be hostile deserves: a response to a spoofable UDP
// source is a reflection, and a response to a scanner tells it something.
//
// The application decides (the screen knows nothing of SIP state), the stack applies
// §8.2.7's rules: a request that matches a live transaction still goes to it, an ACK is
// never answered, and the To tag is derived from the request so every copy of it gets
// the same one.

import { createHash } from 'node:crypto';
import type { SipRequest, SipResponse } from '../message/index.js';
import { tagOf } from '../parser/index.js';
import { createResponse } from '../transaction/response.js';
import { applyMessageOptions, type HeaderValues } from './core.js';

/** What the application decides about a request no transaction holds yet. */
export type ScreenVerdict =
  /** Go on as usual: a server transaction, then the handlers. */
  | undefined
  /** Nothing is sent and nothing is kept. */
  | { action: 'drop' }
  /** Answered once, statelessly (§8.2.7); an ACK or a request with a live transaction is not. */
  | { action: 'reply'; status: number; reason?: string; headers?: HeaderValues };

/**
 * Called for every request the transport hands up, before validation and before any
 * transaction is matched or created. Synchronous on purpose: whatever it needs to know
 * must be at hand, so a flood costs no more than the screen itself.
 */
export type RequestScreen = (req: SipRequest) => ScreenVerdict;

/**
 * §8.2.7: "To header tags MUST be generated for responses in a stateless manner - in a
 * manner that will generate the same tag for the same request consistently". The tag
 * is a digest of what identifies the request (Call-ID, From tag, CSeq, the top Via's
 * branch): the same for every copy, received/rport stamps or not.
 */
export function statelessTag(req: SipRequest): string {
  const h = createHash('sha256');
  h.update(req.callId);
  h.update('\0');
  h.update(tagOf(req.headers.get('from') ?? '') ?? '');
  h.update('\0');
  h.update(req.headers.get('cseq') ?? '');
  h.update('\0');
  h.update(/;\s*branch\s*=\s*([^;,\s]+)/i.exec(req.headers.getRaw('via') ?? '')?.[1] ?? '');
  return h.digest('hex').slice(0, 16);
}

/** The stateless response a `reply` verdict stands for (§8.2.6.2 copies, §8.2.7 tag). */
export function statelessResponse(req: SipRequest, verdict: { status: number; reason?: string; headers?: HeaderValues }, server?: string): SipResponse {
  const res = createResponse(req, verdict.status, verdict.reason, statelessTag(req));
  if (server) res.headers.append('server', server);
  applyMessageOptions(res, verdict.headers ? { headers: verdict.headers } : undefined);
  return res;
}
