// Calls still ringing when their node dies (issue 10 item 4: "carried over or ended
// cleanly"). A ringing call cannot be carried over: the survivor has no transaction to
// answer the caller from. It is ended cleanly instead: the trunk's INVITE that the dead
// node sent is CANCELled from the service address (RFC 3261 §9.1) and the 487 that
// follows is ACKed (§17.1.1.3), so the trunk stops ringing at once; the browser's own
// INVITE failed when its WebSocket died (JsSIP and SIP.js fail pending transactions on
// a transport error). To make that possible the node keeps the head of each INVITE it
// sends to a trunk (a tap on the transport) and replicates it while the call rings.

import type { PendingInvite } from '@trapezoid/cluster';
import { parseMessage, SipRequest, type Destination, type SipResponse, type TransportLayer } from '@trapezoid/sip';
import type { Logger } from '../logging.js';

/** How long a CANCELled INVITE's 487 is waited for, to ACK it (Timer H's 64*T1). */
const ACK_WINDOW_MS = 32_000;

/** The heads of the out-of-dialog INVITEs this node sent, by Call-ID, until answered or failed. */
export class InviteLog {
  private readonly byCallId = new Map<string, PendingInvite>();
  private readonly remove: () => void;

  constructor(transport: TransportLayer) {
    this.remove = transport.addTap((m) => {
      const msg = m.message;
      if (!msg) return;
      if (m.direction === 'sent' && msg.isRequest && msg.method === 'INVITE' && !/;\s*tag=/i.test(msg.headers.get('to') ?? '')) {
        const protocol = m.transport.protocol;
        if (protocol !== 'udp' && protocol !== 'tcp' && protocol !== 'tls') return;
        const text = msg.toBuffer().toString('utf8');
        const end = text.indexOf('\r\n\r\n');
        // The head without its body's length and type: a CANCEL or ACK built from it has no body.
        const head = (end < 0 ? text : text.slice(0, end)).split('\r\n').filter((l) => !/^(content-length|l|content-type|c)\s*:/i.test(l)).join('\r\n') + '\r\n';
        this.byCallId.set(msg.callId, { head, protocol, address: m.transport.remoteAddress, port: m.transport.remotePort });
      } else if (m.direction === 'received' && !msg.isRequest && msg.status >= 200 && /INVITE/i.test(msg.headers.get('cseq') ?? '')) {
        this.byCallId.delete(msg.callId);
      }
    });
  }

  get(callId: string | undefined): PendingInvite | undefined {
    return callId === undefined ? undefined : this.byCallId.get(callId);
  }

  forget(callId: string | undefined): void {
    if (callId !== undefined) this.byCallId.delete(callId);
  }

  close(): void {
    this.remove();
    this.byCallId.clear();
  }
}

function headOf(p: PendingInvite): SipRequest {
  const msg = parseMessage(Buffer.from(`${p.head}Content-Length: 0\r\n\r\n`));
  if (!msg.isRequest) throw new Error('stored INVITE head is not a request');
  return msg;
}

/** A request with the INVITE's Request-URI, top Via, From, Call-ID, CSeq number and Route (§9.1, §17.1.1.3). */
function sibling(invite: SipRequest, method: 'CANCEL' | 'ACK', to: string): SipRequest {
  const req = new SipRequest(method, invite.uri);
  const h = req.headers;
  h.append('via', (invite.headers.getRaw('via') ?? '').split(',')[0]!.trim());
  h.append('max-forwards', '70');
  h.append('from', invite.headers.get('from') ?? '');
  h.append('to', to);
  h.append('call-id', invite.callId);
  h.append('cseq', `${(invite.headers.get('cseq') ?? '1').trim().split(/\s+/)[0]} ${method}`);
  for (const r of invite.headers.getAll('route')) h.append('route', r);
  return req;
}

/**
 * CANCELs a dead node's ringing INVITE from the service address (sent three times over
 * UDP: there is no transaction to retransmit it) and ACKs the final response it draws.
 */
export async function cancelRinging(transport: TransportLayer, pending: PendingInvite, localAddress: string, log: Logger): Promise<void> {
  const invite = headOf(pending);
  const dest: Destination = { protocol: pending.protocol, address: pending.address, port: pending.port, localAddress };
  const cancel = sibling(invite, 'CANCEL', invite.headers.get('to') ?? '');
  const onMessage = (msg: SipRequest | SipResponse): void => {
    if (msg.isRequest || msg.callId !== invite.callId || msg.status < 300 || !/INVITE/i.test(msg.headers.get('cseq') ?? '')) return;
    // §17.1.1.3: the ACK for a non-2xx final carries the response's To (with its tag).
    transport.send(sibling(invite, 'ACK', msg.headers.get('to') ?? ''), dest).catch(() => undefined);
  };
  transport.on('message', onMessage);
  setTimeout(() => transport.off('message', onMessage), ACK_WINDOW_MS).unref();
  const tries = pending.protocol === 'udp' ? [0, 500, 1500] : [0];
  for (const delay of tries) {
    setTimeout(() => {
      transport.send(cancel, dest).catch((err: unknown) => log.warn('CANCEL of a dead node\'s INVITE failed', {
        event: 'takeover-cancel-error', callId: invite.callId, error: String(err),
      }));
    }, delay).unref();
  }
}
