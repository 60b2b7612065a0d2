// Who each WebSocket connection speaks for (issue 8 item 4, after Kamailio's
// auth_ephemeral `autheph_check_from/to`): the identity proven at the upgrade
// (ephemeral credentials or a JWT in the URL) or by the first request on it that passed
// digest. Every request outside a dialog on that connection must then be from that
// user (From) and, for REGISTER, for that user (To): anything else is answered 403
// and the connection closed with 1008, because a client that lies once is not trusted
// with the connection's identity. An expired credential no longer registers or starts
// calls (403), but requests inside an established dialog are never asked: a call goes
// on past its credential's expiry and can always be hung up.

import { parseNameAddr, parseUri, isSipUri, tagOf, type RequestRefusal, type SipRequest, type TransportLayer } from '@trapezoid/sip';
import { identityExpired, type ConnectionIdentity } from '@trapezoid/auth';
import type { Logger } from '../logging.js';
import { sourceOf } from './source.js';

export class ConnectionIdentities {
  /** Identities proven by digest on a connection (the upgrade's are the flow's context). */
  private readonly byDigest = new Map<string, ConnectionIdentity>();
  private readonly onFlowClosed = (flowId: string): void => { this.byDigest.delete(flowId); };

  constructor(private readonly transport: TransportLayer, private readonly log: Logger) {
    transport.on('flowClosed', this.onFlowClosed);
  }

  /** The identity bound to a connection, if any. */
  get(flowId: string | undefined): ConnectionIdentity | undefined {
    if (flowId === undefined) return undefined;
    return (this.transport.flowContext(flowId) as ConnectionIdentity | undefined) ?? this.byDigest.get(flowId);
  }

  /** Binds a digest-proven identity to a WebSocket connection that has none yet. */
  bind(flowId: string, identity: ConnectionIdentity): void {
    if (this.get(flowId) === undefined && this.transport.flowContext(flowId) === undefined) this.byDigest.set(flowId, identity);
  }

  /** UserAgentOptions.screenRequest: the From/To and expiry checks of a bound connection. */
  screen(req: SipRequest): RequestRefusal | undefined {
    const flowId = req.transport?.flowId;
    const id = this.get(flowId);
    if (id === undefined || flowId === undefined) return undefined;
    if (tagOf(req.headers.get('to') ?? '') !== undefined) return undefined;
    const mismatch = this.mismatch(req, id);
    if (mismatch !== undefined) {
      this.log.warn('request refused: not the connection\'s user', {
        event: 'identity-mismatch', method: req.method, callId: req.callId, ...sourceOf(req.transport), user: id.user, reason: mismatch,
      });
      return { status: 403, reason: mismatch, after: () => this.transport.closeFlow(flowId, 1008, mismatch) };
    }
    if (identityExpired(id)) {
      this.log.warn('request refused: credentials expired', {
        event: 'credentials-expired', method: req.method, callId: req.callId, ...sourceOf(req.transport), user: id.user,
        expiredAt: new Date(id.expiresAt!).toISOString(),
      });
      return { status: 403, reason: 'Credentials expired' };
    }
    return undefined;
  }

  close(): void {
    this.transport.off('flowClosed', this.onFlowClosed);
    this.byDigest.clear();
  }

  /** Why the request is not the identity's (a reason phrase), or undefined. */
  private mismatch(req: SipRequest, id: ConnectionIdentity): string | undefined {
    if (!sameUser(req.headers.get('from'), id)) return 'From user does not match the credentials';
    if (req.method === 'REGISTER' && !sameUser(req.headers.get('to'), id)) return 'To user does not match the credentials';
    return undefined;
  }
}

/** The header's URI names the identity's user (and its domain, when the credential named one). */
function sameUser(header: string | undefined, id: ConnectionIdentity): boolean {
  if (header === undefined) return false;
  try {
    const uri = parseUri(parseNameAddr(header).uri);
    if (!isSipUri(uri) || uri.user !== id.user) return false;
    return id.domain === undefined || uri.host.toLowerCase() === id.domain;
  } catch {
    return false;
  }
}
