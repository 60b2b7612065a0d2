// The built-in `echo` number: a SIP UAS inside the gateway process that answers
// RTP/AVP offers and sends every RTP packet back where it came from. Calls to it go
// through the same B2BUA path as calls to a real trunk (it is reached as a trunk on
// a loopback UDP port), so the demo exercises the real code. It answers the gateway
// only (issue 8: not anyone who finds its port) and echoes RTP only to the address the
// offer gave, never to whoever sends a packet to its media port.

import { createSocket, type Socket } from 'node:dgram';
import { TransportLayer, UserAgent, SipError, type IncomingRequest, type Dialog, type TransportInfo } from '@trapezoid/sip';
import { answerRtpOffer, SdpError, type CodecPolicy } from '@trapezoid/sdp';
import type { Logger } from '../logging.js';

/** What the echo returns: any payload comes back as it went, so any clock rate will do. */
const ECHO_CODECS: CodecPolicy = { codecs: ['PCMU', 'PCMA', 'G722', 'opus', 'telephone-event'] };

export class EchoService {
  private readonly transport = new TransportLayer();
  private readonly ua: UserAgent;
  private readonly sockets = new Set<Socket>();
  private point: { address: string; port: number } | null = null;

  /**
   * `fromGateway` says whether a request came from the gateway itself (one of its own
   * UDP listening points); anything else is refused 403.
   */
  constructor(private readonly address: string, private readonly log: Logger, private readonly fromGateway: (source: TransportInfo) => boolean) {
    this.ua = new UserAgent({ transport: this.transport, userAgentName: 'trapezoid-echo', contactUser: 'echo' });
    this.ua.onRequest('INVITE', (req) => this.onInvite(req));
  }

  /** Where the gateway sends INVITEs for the echo number. */
  async start(): Promise<{ address: string; port: number }> {
    const lp = await this.transport.listen({ protocol: 'udp', address: this.address, port: 0 });
    this.point = { address: lp.address, port: lp.port };
    return this.point;
  }

  get activeCalls(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.close();
    this.sockets.clear();
    await this.ua.close();
    await this.transport.close();
  }

  private async onInvite(req: IncomingRequest): Promise<void> {
    const source = req.message.transport;
    if (!source || !this.fromGateway(source)) {
      this.log.warn('echo refused a request not from the gateway', {
        event: 'echo-refused', callId: req.message.callId, source: source ? `${source.remoteAddress}:${source.remotePort}` : undefined,
      });
      throw new SipError(403, 'Echo answers the gateway only');
    }
    const offer = req.message.body.toString('utf8');
    if (offer.length === 0) throw new SipError(488, 'Echo needs an SDP offer');
    const socket = createSocket(this.address.includes(':') ? 'udp6' : 'udp4');
    socket.on('error', () => socket.close());
    await new Promise<void>((resolve) => socket.bind(0, this.address, resolve));
    let answer: string;
    try {
      const a = answerRtpOffer(offer, ECHO_CODECS, { address: this.address, port: socket.address().port }, { rtcpMux: true });
      answer = a.sdp;
      // Back to the offer's RTP (and RTCP) port only: a stranger's packet is not reflected.
      // The gateway's RTP leg is bound on this same media address; its SDP may carry a
      // public address instead (media.publicAddress).
      const peer = a.remote;
      const rtcpPort = peer.rtcpMux ? peer.port : peer.rtcpPort ?? peer.port + 1;
      socket.on('message', (msg, rinfo) => {
        const fromPeer = (rinfo.address === peer.address || rinfo.address === this.address) && (rinfo.port === peer.port || rinfo.port === rtcpPort);
        if (fromPeer) socket.send(msg, rinfo.port, rinfo.address);
      });
    } catch (err) {
      socket.close();
      if (err instanceof SdpError) throw new SipError(err.status, err.reason);
      throw err;
    }
    this.sockets.add(socket);
    const release = (): void => {
      if (this.sockets.delete(socket)) socket.close();
    };
    void req.cancellation.then(release);
    let dialog: Dialog;
    try {
      dialog = await req.answer({ body: answer, contentType: 'application/sdp' });
    } catch (err) {
      release();
      this.log.debug('echo call not established', { event: 'echo-failed', callId: req.message.callId, error: String(err) });
      return;
    }
    dialog.on('terminated', release);
  }
}
