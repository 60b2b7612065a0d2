// One simulated browser: its own WebSocket to the system under test (RFC 7118, one
// connection per browser as JsSIP keeps it) through its own libs/sip transport and UA,
// placing one call at a time: INVITE with a WebRTC offer, the 407 answered with digest
// (both systems challenge), ACK, media (peer.mjs) while the call is held, BYE. A tap on
// the transport stamps the authenticated INVITE leaving and the 200 arriving with
// performance.now(), so INVITE -> 200 excludes the challenge round trip.
import { TransportLayer, UserAgent } from '@trapezoid/sip';
import { BrowserMedia } from './peer.mjs';

export class Browser {
  constructor(index, opts) {
    this.index = index;
    this.opts = opts;
    this.transport = new TransportLayer({ keepaliveIntervalMs: 600_000 });
    this.ua = new UserAgent({ transport: this.transport, userAgentName: 'trapezoid-loadclient', contactUser: `load${index}` });
    this.ua.onRequest('BYE', (req) => req.reply(200));
    this.inviteSentAt = 0;
    this.okAt = 0;
    this.transport.addTap((m) => {
      const msg = m.message;
      if (!msg) return;
      if (m.direction === 'sent' && msg.isRequest && msg.method === 'INVITE') this.inviteSentAt = performance.now();
      else if (m.direction === 'received' && !msg.isRequest && msg.status === 200 && / INVITE$/i.test(msg.headers.get('cseq') ?? '')) {
        if (this.okAt === 0) this.okAt = performance.now();
      }
    });
  }

  get destination() {
    const { address, port } = this.opts.server;
    return { protocol: 'ws', address, port };
  }

  /**
   * One call: resolves with its record once it is up (ICE, DTLS and media started or
   * failed), so the caller can hold it and hang up with `hangUp()`.
   */
  async call(callIndex, number, mediaPort) {
    const o = this.opts;
    const media = await BrowserMedia.create(callIndex, o.mediaAddress, mediaPort, o.profiles);
    const record = { index: callIndex, browser: this.index, media, dialog: null, status: 0, failure: null, t: {} };
    this.inviteSentAt = 0;
    this.okAt = 0;
    const t0 = performance.now();
    const out = this.ua.request('INVITE', `sip:${number}@${o.domain}`, {
      destination: this.destination,
      from: `<sip:${o.user}@${o.domain}>`, to: `<sip:${number}@${o.domain}>`,
      body: media.offer(), contentType: 'application/sdp',
      credentials: { username: o.user, password: o.password },
    });
    const res = await out.final;
    record.status = res.status;
    record.t = { firstInvite: t0, invite: this.inviteSentAt, ok: this.okAt || performance.now() };
    if (res.status !== 200 || !out.dialog) {
      record.failure = `INVITE answered ${res.status} ${res.reason}`;
      await media.close();
      return record;
    }
    record.dialog = out.dialog;
    try {
      media.answer(res.body.toString('utf8'));
    } catch (err) {
      record.failure = `answer not usable: ${err.message}`;
    }
    return record;
  }

  async hangUp(record) {
    try {
      if (record.dialog && !record.dialog.terminated) {
        const r = await record.dialog.bye();
        if (r.status !== 200) record.failure ??= `BYE answered ${r.status}`;
      }
    } catch (err) {
      record.failure ??= `BYE failed: ${err.message}`;
    } finally {
      await record.media.close();
    }
  }

  async close() {
    await this.ua.close();
    await this.transport.close();
  }
}
