// Reliable provisional responses (RFC 3262, "100rel"), both sides.
//
// UAS (§3): a 101-199 to an INVITE that asked for it carries Require: 100rel and an
// RSeq, and is retransmitted at T1, 2T1, 4T1 ... until a PRACK whose RAck names it
// arrives; after 64*T1 without one the INVITE is rejected with a 5xx. One reliable
// provisional is outstanding at a time (later ones wait), and a 2xx waits for the
// PRACK of an unacknowledged reliable provisional that carried SDP (§3, last rules).
//
// UAC (§4): a reliable provisional is PRACKed in its early dialog; RSeq numbers run
// per early dialog, and one that is not the next number (a retransmission, or one
// overtaking a lost one) is neither PRACKed nor passed up.

import type { SipRequest, SipResponse } from '../message/index.js';
import { parseCSeq } from '../parser/index.js';
import type { ServerTransaction } from '../transaction/server.js';
import { startTimer } from '../transaction/timers.js';

export const OPTION_100REL = '100rel';

/** True when a message's Require (or Supported, with `orSupported`) names 100rel. */
export function names100rel(msg: SipRequest | SipResponse, orSupported = false): boolean {
  const has = (h: string): boolean => msg.headers.getAll(h).some((t) => t.toLowerCase() === OPTION_100REL);
  return has('require') || (orSupported && has('supported'));
}

/** RSeq of a reliable provisional (§7.1: 1*DIGIT, 1 .. 2^31-1), or undefined. */
export function rseqOf(res: SipResponse): number | undefined {
  const v = res.headers.get('rseq');
  if (v === undefined || !/^\d{1,10}$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return n >= 1 && n <= 0x7fffffff ? n : undefined;
}

/** §7.2: RAck = response-num CSeq-num Method. */
export interface RAck { rseq: number; cseq: number; method: string }

export function parseRAck(value: string | undefined): RAck | undefined {
  const m = /^\s*(\d{1,10})\s+(\d{1,10})\s+([A-Za-z]+)\s*$/.exec(value ?? '');
  if (!m) return undefined;
  return { rseq: Number(m[1]), cseq: Number(m[2]), method: m[3]!.toUpperCase() };
}

/** The RAck value that acknowledges `res`. */
export function rackFor(res: SipResponse): string {
  const c = parseCSeq(res.headers.get('cseq') ?? '');
  return `${rseqOf(res) ?? 0} ${c.seq} ${c.method}`;
}

/**
 * UAC: RSeq bookkeeping of one early dialog (§4). `accept` says whether a reliable
 * provisional is the next in order: the first may have any RSeq, each later one the
 * previous plus one.
 */
export class RSeqWindow {
  private last: number | undefined;

  accept(rseq: number): boolean {
    if (this.last !== undefined && rseq !== this.last + 1) return false;
    this.last = rseq;
    return true;
  }
}

interface Outstanding {
  res: SipResponse;
  rseq: number;
  hasSdp: boolean;
  interval: number;
  elapsed: number;
  timer: NodeJS.Timeout | undefined;
}

function onRetransmit(r: ReliableSender): void { r.retransmit(); }

/** UAS: the reliable provisionals of one INVITE server transaction (§3). */
export class ReliableSender {
  /** §3: the first RSeq is chosen at random, below 2^31 so increments never wrap. */
  private nextRSeq = 1 + Math.floor(Math.random() * 0x3fffffff);
  private readonly firstRSeq = this.nextRSeq;
  /** Highest RSeq actually sent (queued ones that never left do not count). */
  private highestSent = 0;
  private outstanding: Outstanding | undefined;
  /** Sends held back until the outstanding provisional is PRACKed. */
  private readonly waiting: Array<{ run: () => void; drop: () => void }> = [];
  private stopped = false;

  constructor(
    private readonly tx: ServerTransaction,
    private readonly T1: number,
    /** 64*T1 passed without a PRACK: the owner rejects the INVITE (§3: 5xx). */
    private readonly giveUp: () => void,
  ) {}

  /** True while a reliable provisional waits for its PRACK. */
  get pending(): boolean {
    return this.outstanding !== undefined;
  }

  /**
   * Adds Require and RSeq to `res` and sends it, or queues it behind the outstanding one.
   * The headers are set at once, so the caller's response object is final.
   */
  send(res: SipResponse): void {
    if (this.stopped) return;
    const rseq = this.nextRSeq++;
    const req = res.headers.getAll('require').filter((t) => t.toLowerCase() !== OPTION_100REL);
    res.headers.set('require', [...req, OPTION_100REL].join(', '));
    res.headers.set('rseq', String(rseq));
    const start = (): void => {
      if (this.stopped || this.tx.finalSent) return;
      const hasSdp = res.body.length > 0;
      this.outstanding = { res, rseq, hasSdp, interval: this.T1, elapsed: 0, timer: undefined };
      this.tx.respond(res);
      this.highestSent = rseq;
      this.outstanding.timer = startTimer(onRetransmit, this.T1, this);
    };
    if (this.outstanding) this.waiting.push({ run: start, drop: noop });
    else start();
  }

  /**
   * Runs `send` now, or once the outstanding reliable provisional is PRACKed when it
   * carried SDP (a 2xx may not overtake it then, §3). `drop` runs instead when the
   * INVITE ends first (rejected after 64*T1 without PRACK, or failed).
   */
  beforeFinal(send: () => void, drop: () => void): void {
    if (this.outstanding?.hasSdp) this.waiting.push({ run: send, drop });
    else send();
  }

  retransmit(): void {
    const o = this.outstanding;
    if (!o || this.stopped) return;
    o.elapsed += o.interval;
    if (o.elapsed >= 64 * this.T1) {
      this.stop();
      this.giveUp();
      return;
    }
    if (this.tx.finalSent) { this.stop(); return; }
    this.tx.respond(o.res);
    o.interval *= 2; // §3: doubles each time, no T2 cap
    o.timer = startTimer(onRetransmit, Math.min(o.interval, 64 * this.T1 - o.elapsed), this);
  }

  /**
   * A PRACK for this INVITE: true when its RAck names a reliable provisional sent
   * (the caller answers 200), false otherwise (the caller answers 481, §3).
   */
  receivePrack(prack: SipRequest, inviteCSeq: number): boolean {
    const o = this.outstanding;
    const rack = parseRAck(prack.headers.get('rack'));
    if (!rack || rack.cseq !== inviteCSeq || rack.method !== 'INVITE') return false;
    // A PRACK for one already acknowledged, or crossing our final response, is answered
    // 200 too: a 481 would end the dialog at the UAC (RFC 3261 §12.2.1.2).
    if (!o || rack.rseq !== o.rseq) return rack.rseq >= this.firstRSeq && rack.rseq <= this.highestSent;
    if (o.timer) clearTimeout(o.timer);
    this.outstanding = undefined;
    // Whatever waited for this PRACK goes now, in order; a new reliable one stops the run.
    while (this.waiting.length > 0 && !this.outstanding) this.waiting.shift()!.run();
    return true;
  }

  /** The INVITE got its final response or died: nothing more is retransmitted. */
  stop(): void {
    this.stopped = true;
    if (this.outstanding?.timer) clearTimeout(this.outstanding.timer);
    this.outstanding = undefined;
    const dropped = this.waiting.splice(0);
    for (const w of dropped) w.drop();
  }
}

function noop(): void { /* a queued provisional is simply not sent */ }
