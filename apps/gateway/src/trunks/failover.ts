// Serial failover across the trunks of a route (and across each trunk's RFC 3263
// targets, §4.3): the INVITE goes to the first usable trunk; a 503, a 408 (received,
// or made locally after a transport error), or no response at all within the
// trunk's inviteTimeout moves it to the next target, then the next trunk, but only
// while nothing has been relayed to the caller: once a 180/183 went back, the caller
// has heard this trunk and its answer is final. To the call it looks like one
// ClientRequest: 'provisional' events, final, dialog, cancel().

import { EventEmitter } from 'node:events';
import { SipError, synthesizeResponse, type ClientRequest, type Destination, type Dialog, type SipResponse } from '@trapezoid/sip';
import type { TrunkConfig } from '../config/index.js';
import type { Logger } from '../logging.js';
import type { Trunks } from './trunks.js';

/** Failures after which the next trunk may do better (RFC 3263 §4.3, RFC 3261 §21.5.4). */
const FAIL_OVER_ON: ReadonlySet<number> = new Set([408, 503]);

export interface TrunkLegEvents {
  provisional: [SipResponse];
}

export interface TrunkLegOptions {
  trunks: Trunks;
  /** The route's trunks, in order. */
  candidates: readonly TrunkConfig[];
  log: Logger;
  /** Sends the INVITE to one trunk target. */
  send: (trunk: TrunkConfig, destination: Destination) => ClientRequest;
  /**
   * Each INVITE sent (the first one too), as soon as it exists. For a trunk given by
   * address the first one is sent from the constructor, so the call knows its B leg
   * before it announces 'proceeding'.
   */
  onAttempt?: (trunk: TrunkConfig, invite: ClientRequest) => void;
}

export class TrunkLeg extends EventEmitter<TrunkLegEvents> {
  /** The INVITE of the trunk tried now (the answering one once final). */
  current: ClientRequest | undefined;
  trunk: TrunkConfig | undefined;
  /** The final response; rejects with a SipError(503) when no trunk could be tried at all. */
  readonly final: Promise<SipResponse>;
  private canceled = false;
  private relayed = false;
  private readonly tried: string[] = [];

  constructor(private readonly o: TrunkLegOptions) {
    super();
    this.final = this.run();
    // Awaited by the call; never an unhandled rejection if the call ended before that.
    this.final.catch(() => undefined);
  }

  get dialog(): Dialog | undefined {
    return this.current?.dialog;
  }

  /** Trunks tried so far, as "name status". */
  get attempts(): readonly string[] {
    return this.tried;
  }

  /** Cancels the pending INVITE and stops failing over. */
  cancel(): void {
    this.canceled = true;
    this.current?.cancel();
  }

  private async run(): Promise<SipResponse> {
    let last: SipResponse | undefined;
    for (const t of this.o.candidates) {
      if (!this.o.trunks.usable(t.name)) {
        this.o.log.info('trunk skipped: down', { event: 'trunk-skipped', trunk: t.name });
        this.tried.push(`${t.name} down`);
        continue;
      }
      // An address is known at once (no await: the first INVITE leaves synchronously).
      let targets: Destination[] | undefined = this.o.trunks.literalDestinations(t);
      try {
        targets ??= await this.o.trunks.destinations(t);
      } catch (err) {
        this.o.log.warn('trunk has no address', { event: 'trunk-unresolved', trunk: t.name, error: String(err) });
        targets = [];
      }
      if (targets.length === 0) this.tried.push(`${t.name} unresolved`);
      for (const dest of targets) {
        if (this.canceled) return last ?? this.local(487, 'Request Terminated');
        const res = await this.attempt(t, dest);
        this.tried.push(`${t.name} ${res.status}`);
        if (!FAIL_OVER_ON.has(res.status) || this.relayed || this.canceled) return res;
        this.o.log.info('trunk failed, trying the next', { event: 'trunk-failover', trunk: t.name, destination: `${dest.protocol}:${dest.address}:${dest.port}`, status: res.status, reason: res.reason });
        last = res;
      }
    }
    return last ?? this.local(503, 'No Trunk Available');
  }

  private attempt(t: TrunkConfig, dest: Destination): Promise<SipResponse> {
    const out = this.o.send(t, dest);
    this.current = out;
    this.trunk = t;
    this.o.onAttempt?.(t, out);
    let answered = false;
    const onResponse = (): void => { answered = true; };
    const onProvisional = (res: SipResponse): void => {
      if (this.current !== out) return;
      if (res.status > 100) this.relayed = true;
      this.emit('provisional', res);
    };
    out.on('response', onResponse).on('provisional', onProvisional);
    return new Promise((resolve) => {
      // No response at all (UDP to a dead host says nothing): give up on it in time.
      const timer = setTimeout(() => {
        if (answered) return;
        out.cancel(); // sent once a 1xx shows up; a late 2xx is ACKed and hung up
        resolve(synthesizeResponse(out.message, 408, 'No Response From Trunk'));
      }, t.inviteTimeout * 1000);
      timer.unref();
      void out.final.then((res) => {
        clearTimeout(timer);
        // Its transaction keeps the INVITE 32 s more (Timer M): not this leg and its call with it.
        out.off('response', onResponse).off('provisional', onProvisional);
        resolve(res);
      });
    });
  }

  private local(status: number, reason: string): SipResponse {
    if (this.current) return synthesizeResponse(this.current.message, status, reason);
    // Nothing was ever sent (every trunk down or unresolved): final rejects with the status.
    throw new SipError(status, reason);
  }
}
