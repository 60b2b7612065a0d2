// A SIP peer that writes exact bytes: the tests that need what no well-behaved client
// sends (an INVITE and its CANCEL in one read, RFC 4475 torture messages, fuzzed
// input, a browser that never does ICE) drive the gateway with it over UDP, TCP or
// WebSocket. It frames what comes back with libs/sip's own framing and parser and
// keeps every message it received.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createAuthorization, frameLength, parseMessage, type SipMessage, type SipResponse } from '@trapezoid/sip';

export type RawTransport = 'udp' | 'tcp' | 'ws';

export interface RawSipOptions {
  /** Local address to send from (attackers 127.0.0.2, the legitimate client 127.0.0.3). */
  localAddress?: string;
  /** WebSocket: the request target, path and query (credentials at the upgrade). Default "/". */
  wsPath?: string;
  /** UDP: the local port (default any): 5060 receives what goes to a Via without a port. */
  localPort?: number;
}

export class RawSipClient {
  readonly received: SipMessage[] = [];
  /** What the peer sent that did not parse as SIP (it should never happen). */
  readonly garbage: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private closed = false;
  private streamBuf = Buffer.alloc(0);
  /** Set when the gateway closed the connection (WS close code, or 0 for TCP). */
  closeCode: number | null = null;
  /** Called with each message as it arrives (a peer that answers requests). */
  onMessage: ((m: SipMessage) => void) | null = null;
  /** False: received messages are not kept (long fuzz runs); onMessage still sees them. */
  keep = true;

  private constructor(
    readonly transport: RawTransport,
    private readonly udp: UdpSocket | null,
    private readonly tcp: Socket | null,
    private readonly ws: WebSocket | null,
    private readonly port: number,
    private readonly host: string,
    /** host:port for Via sent-by (WebSocket: an .invalid host, RFC 7118 §5). */
    readonly sentBy: string,
  ) {}

  static async open(transport: RawTransport, port: number, opts: RawSipOptions = {}, host = '127.0.0.1'): Promise<RawSipClient> {
    const local = opts.localAddress ?? '127.0.0.1';
    if (transport === 'udp') {
      const s = createSocket('udp4');
      await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(opts.localPort ?? 0, local, () => resolve()); });
      const c = new RawSipClient('udp', s, null, null, port, host, `${local}:${s.address().port}`);
      s.on('message', (m) => c.take(m));
      return c;
    }
    if (transport === 'tcp') {
      const s = connect({ port, host, localAddress: local });
      await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
      const c = new RawSipClient('tcp', null, s, null, port, host, `${local}:${s.localPort!}`);
      s.on('data', (d: Buffer) => c.takeStream(d));
      s.on('error', () => undefined);
      s.on('close', () => { c.closeCode ??= 0; c.wake(); });
      return c;
    }
    const ws = new WebSocket(`ws://${host}:${port}${opts.wsPath ?? ''}`, 'sip', { localAddress: local });
    await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const c = new RawSipClient('ws', null, null, ws, port, host, `${randomBytes(4).toString('hex')}.invalid`);
    ws.on('message', (d: Buffer) => c.take(d));
    ws.on('error', () => undefined);
    ws.on('close', (code: number) => { c.closeCode = code; c.wake(); });
    return c;
  }

  /** Via transport token for this client. */
  get via(): string {
    return this.transport.toUpperCase();
  }

  /** A Via header value with a fresh branch (or the given one). */
  viaHeader(branch = newBranch()): string {
    return `SIP/2.0/${this.via} ${this.sentBy};branch=${branch};rport`;
  }

  /** Sends one message (a datagram, a WebSocket message, or bytes on the TCP stream). */
  send(data: string | Buffer): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (this.udp) this.udp.send(buf, this.port, this.host);
    else if (this.tcp) this.tcp.write(buf);
    else this.ws!.send(buf);
  }

  /**
   * Sends several messages so the gateway reads them together: one TCP write, or
   * WebSocket frames built here and written to the connection in one write (so they
   * arrive in one read and are handled in one event-loop turn). UDP: one datagram each.
   */
  sendTogether(messages: Array<string | Buffer>): void {
    const bufs = messages.map((m) => (typeof m === 'string' ? Buffer.from(m, 'latin1') : m));
    if (this.udp) for (const b of bufs) this.udp.send(b, this.port, this.host);
    else if (this.tcp) this.tcp.write(Buffer.concat(bufs));
    else (this.ws as unknown as { _socket: Socket })._socket.write(Buffer.concat(bufs.map(maskedTextFrame)));
  }

  /** The first received message (from `from` on) that satisfies `pred`, waiting up to `ms`. */
  async next(pred: (m: SipMessage) => boolean, ms = 3000, from = 0): Promise<SipMessage> {
    const until = Date.now() + ms;
    for (;;) {
      const hit = this.received.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() >= until || this.closed) throw new Error(`no matching message within ${ms} ms; got ${this.received.map(startLine).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, until - Date.now()));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /**
   * The response to the request with this CSeq (e.g. "1 INVITE") whose status satisfies
   * `status`; of the call `callId` when given (a client that makes several calls).
   */
  response(cseq: string, status: (s: number) => boolean = (s) => s >= 200, ms = 3000, callId?: string): Promise<SipResponse> {
    return this.next((m) => !m.isRequest && m.headers.get('cseq') === cseq && (callId === undefined || m.callId === callId)
      && status((m as SipResponse).status), ms) as Promise<SipResponse>;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udp?.close();
    this.tcp?.destroy();
    this.ws?.terminate();
    this.wake();
  }

  private take(buf: Buffer): void {
    let m: SipMessage;
    try {
      m = parseMessage(buf);
    } catch {
      this.garbage.push(Buffer.from(buf));
      this.wake();
      return;
    }
    if (this.keep) this.received.push(m);
    this.onMessage?.(m);
    this.wake();
  }

  private takeStream(d: Buffer): void {
    this.streamBuf = Buffer.concat([this.streamBuf, d]);
    for (;;) {
      let n = 0;
      try {
        n = frameLength(this.streamBuf);
      } catch {
        this.garbage.push(this.streamBuf);
        this.streamBuf = Buffer.alloc(0);
        return;
      }
      if (n === 0) return;
      this.take(this.streamBuf.subarray(0, n));
      this.streamBuf = this.streamBuf.subarray(n);
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** One client-to-server WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, masked). */
function maskedTextFrame(payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : len < 65536 ? Buffer.from([0x81, 0x80 | 126, len >> 8, len & 255]) : null;
  if (head === null) throw new RangeError('frame too large for this helper');
  const mask = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

export function newBranch(): string {
  return 'z9hG4bK' + randomBytes(8).toString('hex');
}

export function startLine(m: SipMessage): string {
  return m.isRequest ? `${m.method} ${m.uri}` : `${(m as SipResponse).status} ${(m as SipResponse).reason}`;
}

export interface RequestText {
  method: string;
  uri: string;
  via: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  /** Extra header field lines, as written. */
  headers?: string[];
  body?: string;
  contentType?: string;
}

/** A request's bytes, exactly as given (Content-Length computed). */
export function requestText(r: RequestText): string {
  const body = r.body ?? '';
  return `${r.method} ${r.uri} SIP/2.0\r\n` +
    `Via: ${r.via}\r\nMax-Forwards: 70\r\nFrom: ${r.from}\r\nTo: ${r.to}\r\nCall-ID: ${r.callId}\r\nCSeq: ${r.cseq} ${r.method}\r\n` +
    (r.headers ?? []).map((h) => h + '\r\n').join('') +
    (body.length > 0 ? `Content-Type: ${r.contentType ?? 'application/sdp'}\r\n` : '') +
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
}

/** The Proxy-Authorization answering a 407 for `method uri`. */
export function proxyAuthorization(res: SipResponse, method: string, uri: string, user: { username: string; password: string }): string {
  return createAuthorization(res.headers.get('proxy-authenticate')!, { method, uri }, user);
}

/** A WebRTC offer as a browser that will never do ICE or DTLS would send it (Chromium's shape). */
export function silentBrowserOffer(address = '127.0.0.1', port = 9): string {
  return [
    'v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=msid-semantic: WMS',
    `m=audio ${port} UDP/TLS/RTP/SAVPF 111 0 8 126`, `c=IN IP4 ${address}`, 'a=rtcp:9 IN IP4 0.0.0.0',
    `a=candidate:1 1 udp 2122260223 ${address} ${port} typ host generation 0`,
    'a=ice-ufrag:neVr', 'a=ice-pwd:neverdoesicebutsaysitwill1', 'a=ice-options:trickle',
    'a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4C:3A:2A:D8:6E:2D:A5:92:1A:5E:23:6C',
    'a=setup:actpass', 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000', 'a=rtpmap:126 telephone-event/8000', 'a=ssrc:1001 cname:silent', '',
  ].join('\r\n');
}

/** A call placed by a RawSipClient: what its in-dialog requests and responses need. */
export interface RawCall {
  callId: string;
  /** Our From (with tag) and the gateway's To (with tag). */
  from: string;
  to: string;
  /** The gateway's Contact URI (Request-URI of our in-dialog requests). */
  remoteTarget: string;
  /** The 200 that answered the INVITE. */
  answer: SipResponse;
}

/**
 * Places an authenticated call from `user` to `uri` with `offer`: INVITE, 407, ACK,
 * INVITE with Proxy-Authorization, 200, ACK (RFC 3261 §13.2.2.4). Rejects on any final
 * other than 2xx.
 */
export async function placeRawCall(client: RawSipClient, uri: string, user: { username: string; password: string }, domain: string, offer: string): Promise<RawCall> {
  const callId = `${randomBytes(6).toString('hex')}@client.invalid`;
  const from = `<sip:${user.username}@${domain}>;tag=${randomBytes(4).toString('hex')}`;
  const to = `<${uri}>`;
  const contact = `Contact: <sip:${user.username}@${client.sentBy};transport=${client.transport}>`;
  const b1 = newBranch();
  client.send(requestText({ method: 'INVITE', uri, via: client.viaHeader(b1), from, to, callId, cseq: 1, body: offer, headers: [contact] }));
  const challenge = await client.response('1 INVITE', (s) => s >= 200, 5000, callId);
  if (challenge.status !== 407) throw new Error(`expected 407, got ${challenge.status} ${challenge.reason}`);
  client.send(requestText({ method: 'ACK', uri, via: client.viaHeader(b1), from, to: challenge.headers.get('to')!, callId, cseq: 1 }));
  const auth = `Proxy-Authorization: ${proxyAuthorization(challenge, 'INVITE', uri, user)}`;
  client.send(requestText({ method: 'INVITE', uri, via: client.viaHeader(), from, to, callId, cseq: 2, body: offer, headers: [contact, auth] }));
  const answer = await client.response('2 INVITE', (s) => s >= 200, 10_000, callId);
  if (answer.status >= 300) throw new Error(`call failed: ${answer.status} ${answer.reason}`);
  const remoteTarget = /<([^>]+)>/.exec(answer.headers.get('contact') ?? '')?.[1] ?? uri;
  const call: RawCall = { callId, from, to: answer.headers.get('to')!, remoteTarget, answer };
  client.send(requestText({ method: 'ACK', uri: remoteTarget, via: client.viaHeader(), from, to: call.to, callId, cseq: 2 }));
  return call;
}

/** Answers a request the client received (e.g. the gateway's BYE) with `status`. */
export function respond(client: RawSipClient, req: SipMessage, status = 200, reason = 'OK'): void {
  const h = req.headers;
  const lines = [`SIP/2.0 ${status} ${reason}`, ...h.getAll('via').map((v) => `Via: ${v}`),
    `From: ${h.get('from')!}`, `To: ${h.get('to')!}`, `Call-ID: ${h.get('call-id')!}`, `CSeq: ${h.get('cseq')!}`, 'Content-Length: 0', '', ''];
  client.send(lines.join('\r\n'));
}
