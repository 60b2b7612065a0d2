// The controlling side of ICE as a browser runs it against a gateway (RFC 8445 §7.2,
// RFC 7675): Binding requests with USE-CANDIDATE toward the answer's candidates
// (aggressive nomination, as against an ICE-lite peer), retransmitted until one is
// answered, then consent checks every few seconds on the selected pair. The gateway
// never plays this role; the load client and tests do (bench/loadclient, they drive
// our lite agent and rtpengine like a browser would).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { HEADER_LENGTH, MAGIC_COOKIE, StunAttr, StunMethod, buildBindingRequest, readXorMappedAddress } from './stun.js';
import type { IceCredentials, SelectedPair } from './ice-lite.js';

export interface IceControllingOptions {
  local: IceCredentials;
  remote: { ufrag: string; pwd: string };
  /** The answer's candidates (host, udp), best first. */
  candidates: SelectedPair[];
  /** Sends one STUN datagram. */
  send: (datagram: Buffer, address: string, port: number) => void;
  /** First resend after this (doubling up to 500 ms); RFC 8445 §14.3 leaves the pace to the agent. Default 50. */
  retransmitMs?: number;
  /** RFC 7675 §5.1: a check every this often on the selected pair. Default 5000. */
  consentIntervalMs?: number;
}

/** Checks a response's MESSAGE-INTEGRITY (RFC 5389 §15.4) against the peer's ICE pwd. */
function responseIntegrityOk(buf: Buffer, len: number, key: string): boolean {
  let at = HEADER_LENGTH;
  while (at + 4 <= len) {
    const type = buf.readUInt16BE(at);
    const vlen = buf.readUInt16BE(at + 2);
    if (type === StunAttr.MESSAGE_INTEGRITY) {
      if (vlen !== 20 || at + 24 > len) return false;
      // The length field covers up to and including MESSAGE-INTEGRITY while hashing.
      const copy = Buffer.from(buf.subarray(0, at));
      copy.writeUInt16BE(at + 24 - HEADER_LENGTH, 2);
      const mac = createHmac('sha1', key).update(copy).digest();
      return timingSafeEqual(mac, buf.subarray(at + 4, at + 24));
    }
    at += 4 + ((vlen + 3) & ~3);
  }
  return false;
}

export class IceControllingAgent {
  /** The first pair whose check succeeded (nominated with it), or null. */
  selected: SelectedPair | null = null;
  /** performance.now() when the first check went out / was answered. */
  startedAt = 0;
  connectedAt = 0;
  /** performance.now() of the last answered check (consent). */
  consentAt = 0;
  onConnected: ((pair: SelectedPair) => void) | null = null;
  private readonly opts: IceControllingOptions;
  private readonly username: string;
  private readonly tieBreaker = randomBytes(8).readBigUInt64BE(0);
  /** Transaction id (hex) -> the candidate it checks. */
  private readonly pending = new Map<string, SelectedPair>();
  private timer: NodeJS.Timeout | null = null;
  private wait: number;
  private closed = false;

  constructor(opts: IceControllingOptions) {
    this.opts = opts;
    this.username = `${opts.remote.ufrag}:${opts.local.ufrag}`;
    this.wait = opts.retransmitMs ?? 50;
  }

  /** Sends the first round of checks and keeps resending until one is answered. */
  start(): void {
    if (this.startedAt !== 0 || this.closed) return;
    this.startedAt = performance.now();
    this.checkAll();
  }

  /** A STUN datagram from the peer: true if it was the answer to one of our checks. */
  handleResponse(buf: Buffer, len: number, address: string, port: number): boolean {
    if (len < HEADER_LENGTH || buf.readUInt32BE(4) !== MAGIC_COOKIE || buf.readUInt16BE(0) !== StunMethod.BindingSuccess) return false;
    const id = buf.toString('hex', 8, 20);
    const pair = this.pending.get(id);
    if (!pair || pair.port !== port || pair.address !== address) return false;
    if (!responseIntegrityOk(buf, len, this.opts.remote.pwd) || readXorMappedAddress(buf, len) === null) return false;
    this.pending.delete(id);
    this.consentAt = performance.now();
    if (this.selected === null) {
      this.selected = pair;
      this.connectedAt = this.consentAt;
      this.pending.clear();
      this.schedule(this.opts.consentIntervalMs ?? 5000);
      this.onConnected?.(pair);
    }
    return true;
  }

  private check(pair: SelectedPair): void {
    const transactionId = randomBytes(12);
    this.pending.set(transactionId.toString('hex'), pair);
    const req = buildBindingRequest({
      transactionId, username: this.username, key: this.opts.remote.pwd, controlling: true, useCandidate: true, tieBreaker: this.tieBreaker,
    });
    this.opts.send(req, pair.address, pair.port);
  }

  private checkAll(): void {
    if (this.closed) return;
    if (this.selected !== null) {
      // Consent (RFC 7675 §5.1): a fresh transaction on the selected pair; old ones are dropped.
      this.pending.clear();
      this.check(this.selected);
      this.schedule(this.opts.consentIntervalMs ?? 5000);
      return;
    }
    for (const c of this.opts.candidates) this.check(c);
    this.schedule(this.wait);
    this.wait = Math.min(500, this.wait * 2);
  }

  private schedule(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.checkAll(), ms);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
