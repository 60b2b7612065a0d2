// What the gateway tells its peers it handles, from one list (RFC 3261 §20.5 Allow,
// §20.37 Supported): Allow on every dialog-creating request and response and on every
// 405, so it never names a method the gateway refuses; Supported comes from the UA's
// option tags (libs/sip writes it on INVITEs and dialog-creating responses) and is
// added here to in-dialog offers and their answers.

import type { HeaderValues, SipRequest, SipResponse } from '@trapezoid/sip';
import type { LegSide } from './call.js';

/** Methods a call's dialogs handle (in-dialog.ts answers each of them). */
export const ALLOWED_METHODS: readonly string[] = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'UPDATE', 'INFO', 'REFER'];

/** Option tags the gateway's call handling implements (the UA's `supported`, with 100rel from libs/sip). */
export const CALL_OPTION_TAGS: readonly string[] = ['timer'];

export const ALLOW = ALLOWED_METHODS.join(', ');

/** Headers that announce the gateway's capabilities on a dialog-creating or in-dialog message. */
export function capabilityHeaders(supported: ReadonlySet<string>): HeaderValues {
  return supported.size > 0 ? { Allow: ALLOW, Supported: [...supported].join(', ') } : { Allow: ALLOW };
}

/** What a peer said it handles (its Allow and Supported), read from its INVITE or its 2xx. */
export interface PeerCapabilities {
  /** Methods from Allow; null when it sent none (RFC 3261 §20.5: then nothing can be assumed beyond the core). */
  allow: ReadonlySet<string> | null;
  supported: ReadonlySet<string>;
}

export function peerCapabilities(msg: SipRequest | SipResponse): PeerCapabilities {
  const list = (name: string): string[] => msg.headers.getAll(name).flatMap((v) => v.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  const allow = msg.headers.has('allow') ? new Set(list('allow').map((m) => m.toUpperCase())) : null;
  return { allow, supported: new Set(list('supported').map((t) => t.toLowerCase())) };
}

/** True when the peer on `side` announced UPDATE (RFC 3311 §5.1): only then is an UPDATE sent to it. */
export function allowsUpdate(peers: Partial<Record<LegSide, PeerCapabilities>>, side: LegSide): boolean {
  return peers[side]?.allow?.has('UPDATE') ?? false;
}
