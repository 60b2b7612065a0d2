// Every answered call ends when its parties are gone (issue 8; docs/architecture.md,
// "Call lifetime"), whoever notices first:
// - the browser's flow (its WebSocket) closed and did not come back within the grace
//   time. Coming back is RFC 5626 §5.3's recovery: the browser reconnects and registers
//   again with the same AOR and +sip.instance over a new flow; its dialog then sends
//   toward the browser over that flow and the timer stops. Before the grace time ends,
//   the registered claimers are asked whether someone else has the call (a cluster
//   peer that took it over); only if none has it does it end;
// - the media worker saw no RTP or RTCP on a leg for the media (or, on hold, the hold)
//   limit, or the WebRTC leg did not complete ICE and DTLS within the ICE limit of the
//   answer (libs/media engine watchdog, reported as typed leg events).
// Consent loss (RFC 7675) ends calls in Call.attachMedia. Each end goes through
// Call.end() without a party: BYE on the legs still up with a Reason header (RFC 3326)
// and one call-ended log line naming the cause. This module only watches: it reaches
// the call through its registry's events, its dialogs, its media and end().

import { parseNameAddr, type Destination, type Dialog, type TransportProtocol } from '@trapezoid/sip';
import type { Binding } from '../registrar/bindings.js';
import { normalizeAor } from '../registrar/registrar.js';
import type { Logger } from '../logging.js';
import type { Call, CallRegistry } from './call.js';

/** The limits, in milliseconds (0 = off); config `lifetime` gives them in seconds. */
export interface LifetimeLimits {
  flowGraceMs: number;
  mediaTimeoutMs: number;
  holdTimeoutMs: number;
  iceTimeoutMs: number;
}

export type LifetimeCause = 'flow-lost' | 'media-timeout' | 'ice-timeout';

/**
 * Asked when a browser's grace time ends: true if the call is someone else's now
 * (failover: another node claimed it), so this node lets go without hanging it up.
 */
export type FlowClaimer = (call: Call) => boolean | Promise<boolean>;

/** What the watchdog needs from its surroundings, each a narrow hook. */
export interface LifetimeOptions {
  limits: LifetimeLimits;
  calls: CallRegistry;
  /** The transport's flow events ('flowClosed') and whether a flow is still open. */
  flows: {
    on(event: 'flowClosed', fn: (flowId: string) => void): unknown;
    off(event: 'flowClosed', fn: (flowId: string) => void): unknown;
    hasFlow(flowId: string): boolean;
  };
  /** Registrations: who registered over a flow, and each new or refreshed binding. */
  registrar: {
    on(event: 'registered', fn: (b: Binding) => void): unknown;
    off(event: 'registered', fn: (b: Binding) => void): unknown;
    bindings: { findByFlow(flowId: string): Binding | undefined };
    /** Live bindings of an AOR. */
    lookup(aor: string): Binding[];
  };
  /** Whether the call is on hold now (an SDP direction other than sendrecv on a leg). */
  isHeld?: (call: Call) => boolean;
  log: Logger;
}

/** Who the browser of a watched call is, so a new registration can be recognised as it. */
interface Browser {
  aor: string | undefined;
  instanceId: string | undefined;
  /** Its Contact URI (JsSIP and SIP.js keep it across reconnects). */
  contact: string;
}

interface Watch {
  call: Call;
  dialog: Dialog;
  /** The flow requests toward the browser use; undefined for a browser not behind a flow. */
  flowId: string | undefined;
  browser: Browser[];
  grace: NodeJS.Timeout | null;
  lostAt: number;
}

export class CallLifetime {
  private readonly watches = new Map<string, Watch>();
  private readonly byFlow = new Map<string, Set<Watch>>();
  private readonly claimers: FlowClaimer[] = [];
  private readonly onState = (call: Call, state: string): void => {
    if (state === 'answered') this.watch(call);
  };
  private readonly onEnded = (call: Call): void => this.forget(call.id);
  /** Taken over from a dead node: watched like one answered here (its browser will re-register). */
  private readonly onAdopted = (call: Call): void => {
    if (call.state === 'answered') this.watch(call);
  };
  private readonly onFlowClosed = (flowId: string): void => {
    for (const w of this.byFlow.get(flowId) ?? []) this.flowLost(w);
  };
  private readonly onRegistered = (b: Binding): void => this.registered(b);

  constructor(private readonly opts: LifetimeOptions) {
    opts.calls.on('state', this.onState);
    opts.calls.on('ended', this.onEnded);
    opts.calls.on('adopted', this.onAdopted);
    opts.calls.on('handedOver', this.onEnded);
    opts.flows.on('flowClosed', this.onFlowClosed);
    opts.registrar.on('registered', this.onRegistered);
  }

  /** Adds a condition asked before a lost browser's call is ended (see FlowClaimer). */
  addClaimer(fn: FlowClaimer): void {
    this.claimers.push(fn);
  }

  /** Calls watched now (answered and not ended). */
  get size(): number {
    return this.watches.size;
  }

  /** The call's hold state changed: the media worker switches between the two silence limits. */
  setHeld(call: Call, held: boolean): void {
    const w = this.watches.get(call.id);
    if (w) this.arm(w, { held });
  }

  close(): void {
    this.opts.calls.off('state', this.onState);
    this.opts.calls.off('ended', this.onEnded);
    this.opts.calls.off('adopted', this.onAdopted);
    this.opts.calls.off('handedOver', this.onEnded);
    this.opts.flows.off('flowClosed', this.onFlowClosed);
    this.opts.registrar.off('registered', this.onRegistered);
    for (const id of [...this.watches.keys()]) this.forget(id);
  }

  /** Starts watching an answered call: its browser's flow and its media. */
  private watch(call: Call): void {
    const dialog = call.dialog(call.browserSide);
    if (!dialog || call.ended || this.watches.has(call.id)) return;
    const flowId = dialog.state.flow?.flowId;
    const w: Watch = { call, dialog, flowId, browser: this.browserOf(dialog, flowId), grace: null, lostAt: 0 };
    this.watches.set(call.id, w);
    this.index(w);
    const l = this.opts.limits;
    const media = call.media;
    if (media) {
      media.onWatchEvent((ev) => {
        if (ev.name === 'iceTimeout') {
          const stage = ev.detail.iceChecked ? 'DTLS' : 'ICE';
          this.end(w, 'ice-timeout', 408, `Browser ${stage} not completed within ${seconds(ev.detail.limitMs)} of the answer`);
        } else {
          const what = ev.side === 'browser' ? 'browser' : 'trunk';
          this.end(w, 'media-timeout', 408, `No media from the ${what} for ${seconds(ev.detail.silentMs)}${ev.detail.held ? ' on hold' : ''}`);
        }
      });
      this.arm(w, {
        mediaTimeoutMs: l.mediaTimeoutMs, holdTimeoutMs: l.holdTimeoutMs, iceTimeoutMs: l.iceTimeoutMs,
        held: this.opts.isHeld?.(call) ?? false,
      });
    }
    // The flow may be gone already: closed between the 2xx and the ACK, or a call taken
    // over from a dead node whose browser may have registered here before the takeover.
    if (flowId !== undefined && !this.opts.flows.hasFlow(flowId) && !this.foundAgain(w)) this.flowLost(w);
  }

  private arm(w: Watch, change: Parameters<NonNullable<Call['media']>['watch']>[0]): void {
    w.call.media?.watch(change).catch((err: unknown) => {
      w.call.log.warn('media watch not armed', { event: 'lifetime-error', error: String(err) });
    });
  }

  /** The identities registered over the browser's flow, and its Contact. */
  private browserOf(dialog: Dialog, flowId: string | undefined): Browser[] {
    const out: Browser[] = [{ aor: aorOf(dialog), instanceId: undefined, contact: dialog.state.remoteTarget }];
    const b = flowId === undefined ? undefined : this.opts.registrar.bindings.findByFlow(flowId);
    if (b) out.push({ aor: b.aor, instanceId: b.instanceId, contact: b.contact });
    return out;
  }

  private flowLost(w: Watch): void {
    if (w.grace || w.call.ended) return;
    w.lostAt = Date.now();
    const graceMs = this.opts.limits.flowGraceMs;
    w.call.log.info('browser flow closed: waiting for it to come back', { event: 'browser-flow-lost', flowId: w.flowId, graceMs });
    w.grace = setTimeout(() => void this.graceOver(w), graceMs);
    w.grace.unref();
  }

  private async graceOver(w: Watch): Promise<void> {
    w.grace = null;
    if (w.call.ended) return;
    for (const claim of this.claimers) {
      if (await claim(w.call)) {
        w.call.log.info('browser flow lost, call claimed elsewhere', { event: 'browser-flow-claimed', flowId: w.flowId });
        this.forget(w.call.id);
        return;
      }
    }
    this.end(w, 'flow-lost', 480, `Browser connection lost, not back within ${seconds(this.opts.limits.flowGraceMs)}`);
  }

  /** A new or refreshed registration: is it a lost browser of a watched call, back on a new flow? */
  private registered(b: Binding): void {
    if (b.flowId === undefined) return;
    for (const w of this.watches.values()) {
      if (w.grace === null || w.flowId === b.flowId || !w.browser.some((who) => sameBrowser(who, b))) continue;
      this.rebind(w, b);
    }
  }

  /** The browser of a call whose flow is gone is registered on another live flow already. */
  private foundAgain(w: Watch): boolean {
    const aor = w.browser[0]?.aor;
    if (aor === undefined) return false;
    const b = this.opts.registrar.lookup(aor).find((x) => x.flowId !== undefined && x.flowId !== w.flowId
      && this.opts.flows.hasFlow(x.flowId) && w.browser.some((who) => sameBrowser(who, x)));
    if (!b) return false;
    this.rebind(w, b);
    return true;
  }

  private rebind(w: Watch, b: Binding): void {
    if (w.grace) clearTimeout(w.grace);
    w.grace = null;
    const flow: Destination = { protocol: b.source.protocol as TransportProtocol, address: b.source.address, port: b.source.port, flowId: b.flowId! };
    w.dialog.rebindFlow(flow);
    this.unindex(w);
    w.flowId = b.flowId;
    this.index(w);
    w.call.log.info('browser flow restored', { event: 'browser-flow-restored', flowId: b.flowId, afterMs: w.lostAt ? Date.now() - w.lostAt : 0, aor: b.aor });
  }

  private end(w: Watch, cause: LifetimeCause, status: number, reason: string): void {
    if (w.call.ended) return;
    this.forget(w.call.id);
    void w.call.end(status, reason, 'gateway', cause);
  }

  private forget(id: string): void {
    const w = this.watches.get(id);
    if (!w) return;
    if (w.grace) clearTimeout(w.grace);
    w.grace = null;
    this.unindex(w);
    this.watches.delete(id);
  }

  private index(w: Watch): void {
    if (w.flowId === undefined) return;
    let set = this.byFlow.get(w.flowId);
    if (!set) this.byFlow.set(w.flowId, (set = new Set()));
    set.add(w);
  }

  private unindex(w: Watch): void {
    if (w.flowId === undefined) return;
    const set = this.byFlow.get(w.flowId);
    set?.delete(w);
    if (set?.size === 0) this.byFlow.delete(w.flowId);
  }
}

/** RFC 5626: the same instance of the same AOR; without an instance id, the same Contact. */
function sameBrowser(who: Browser, b: Binding): boolean {
  if (who.instanceId !== undefined && b.instanceId !== undefined) return who.aor === b.aor && who.instanceId === b.instanceId;
  return who.contact === b.contact;
}

/** The browser's address of record: its URI in the dialog (From of its INVITE, or To of ours). */
function aorOf(dialog: Dialog): string | undefined {
  try {
    return normalizeAor(parseNameAddr(dialog.state.remoteUri).uri);
  } catch {
    return undefined;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** The config's seconds as the watchdog's milliseconds. */
export function lifetimeLimits(c: { flowGrace: number; mediaTimeout: number; holdTimeout: number; iceTimeout: number }): LifetimeLimits {
  return { flowGraceMs: c.flowGrace * 1000, mediaTimeoutMs: c.mediaTimeout * 1000, holdTimeoutMs: c.holdTimeout * 1000, iceTimeoutMs: c.iceTimeout * 1000 };
}
