// Dialog state (RFC 3261 §12): plain data, JSON round-trips it, so a call record in
// a store can carry it and another node can rebuild the dialog from it.

import { ownString, type SipRequest, type SipResponse } from '../message/index.js';
import { formatNameAddr, parseCSeq, parseNameAddr, parseUri, tagOf } from '../parser/index.js';
import type { Destination, TransportProtocol } from '../transport/types.js';

export interface DialogState {
  callId: string;
  localTag: string;
  remoteTag: string;
  role: 'uac' | 'uas';
  state: 'early' | 'confirmed' | 'terminated';
  /** From (UAC) / To (UAS) of the dialog's own side, as a name-addr without tag. */
  localUri: string;
  /** The peer's name-addr without tag. */
  remoteUri: string;
  /** The Contact header value this side advertised. */
  localContact: string;
  /** The peer's Contact URI: where in-dialog requests go (§12.2.1.1). */
  remoteTarget: string;
  /** Route set in the order requests carry it. */
  routeSet: string[];
  /** Last CSeq number this side used; 0 = none yet (UAS before its first request). */
  localSeq: number;
  /** Last CSeq number seen from the peer; null = none yet (§12.1.2). */
  remoteSeq: number | null;
  /** CSeq number of the last INVITE of the session (the ACK repeats it, §13.2.2.4). */
  inviteSeq: number;
  /** §12.1.1: established over TLS with a sips Request-URI. */
  secure: boolean;
  /** Transport the dialog's requests use for Via and Contact. */
  protocol: TransportProtocol;
  /**
   * The flow the peer is reachable on (RFC 5626): set when the dialog was set up over
   * a connection; a peer behind a WebSocket can only be reached this way. Without a
   * flowId: the peer's own address, pinned (a takeover: the old connection died with
   * its node), where requests go instead of the remote target.
   */
  flow?: Destination;
  /** The local address the dialog was set up on: its requests leave from there. */
  localAddress?: string;
}

export function dialogId(callId: string, localTag: string, remoteTag: string): string {
  return callId + '|' + localTag + '|' + remoteTag;
}

/** The name-addr without its tag parameter (the URI part of a dialog's From/To). */
export function withoutTag(value: string): string {
  const na = parseNameAddr(value);
  if (!na.params.has('tag')) return value.trim();
  na.params.delete('tag');
  return formatNameAddr(na);
}

export function withTag(nameAddr: string, tag: string): string {
  return nameAddr + ';tag=' + tag;
}

function contactUri(msg: SipRequest | SipResponse): string | undefined {
  const c = msg.headers.get('contact');
  if (c === undefined || c === '*') return undefined;
  return parseNameAddr(c).uri;
}

function secureOf(req: SipRequest): boolean {
  try {
    return parseUri(req.uri).scheme === 'sips' && (req.transport?.protocol === 'tls' || req.transport?.protocol === 'wss');
  } catch {
    return false;
  }
}

/** The flow of a received message, when it came over a connection. */
export function flowOf(msg: SipRequest | SipResponse): Destination | undefined {
  const t = msg.transport;
  if (t === undefined || t.flowId === undefined) return undefined;
  return { protocol: t.protocol as TransportProtocol, address: t.remoteAddress, port: t.remotePort, flowId: t.flowId };
}

/** §12.1.1: the UAS side's state from the request and the To tag it answers with. */
export function uasState(req: SipRequest, localTag: string, localContact: string, protocol: TransportProtocol): DialogState {
  const h = req.headers;
  // Kept for the whole call: copies, not views into the INVITE's text (ownString).
  const s: DialogState = {
    callId: ownString(req.callId),
    localTag,
    remoteTag: ownString(tagOf(h.get('from') ?? '') ?? ''),
    role: 'uas',
    state: 'early',
    localUri: ownString(withoutTag(h.get('to') ?? '')),
    remoteUri: ownString(withoutTag(h.get('from') ?? '')),
    localContact,
    remoteTarget: ownString(contactUri(req) ?? req.uri),
    routeSet: h.getAll('record-route').map(ownString),
    localSeq: 0,
    remoteSeq: parseCSeq(h.get('cseq') ?? '').seq,
    inviteSeq: parseCSeq(h.get('cseq') ?? '').seq,
    secure: secureOf(req),
    protocol,
  };
  const flow = flowOf(req);
  if (flow) s.flow = flow;
  if (req.transport?.localAddress) s.localAddress = req.transport.localAddress;
  return s;
}

/** §12.1.2: the UAC side's state from its request and a 1xx/2xx carrying a To tag. */
export function uacState(req: SipRequest, res: SipResponse, localContact: string, protocol: TransportProtocol, flow?: Destination): DialogState {
  const cseq = parseCSeq(req.headers.get('cseq') ?? '').seq;
  // Kept for the whole call: copies, not views into the messages' text (ownString).
  const s: DialogState = {
    callId: ownString(req.callId),
    localTag: ownString(tagOf(req.headers.get('from') ?? '') ?? ''),
    remoteTag: ownString(tagOf(res.headers.get('to') ?? '') ?? ''),
    role: 'uac',
    state: res.status < 200 ? 'early' : 'confirmed',
    localUri: ownString(withoutTag(req.headers.get('from') ?? '')),
    remoteUri: ownString(withoutTag(req.headers.get('to') ?? '')),
    localContact,
    remoteTarget: ownString(contactUri(res) ?? req.uri),
    routeSet: res.headers.getAll('record-route').reverse().map(ownString),
    localSeq: cseq,
    remoteSeq: null,
    inviteSeq: cseq,
    secure: secureOf(req),
    protocol,
  };
  const f = flowOf(res) ?? flow;
  if (f) s.flow = f;
  if (res.transport?.localAddress) s.localAddress = res.transport.localAddress;
  return s;
}

export { contactUri };
