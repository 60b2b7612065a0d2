// Finding a browser again after its WebSocket died (issue 10 item 5). The browser
// (JsSIP, SIP.js) reconnects to the same URL, now served by this node, and registers
// the same RFC 5626 instance-id over the new flow. A request toward it on a flow that is
// gone goes out over that new flow; sent before the browser is back, it waits for it,
// bounded, instead of failing the call. The transport layer asks through its
// replaceFlow hook (libs/sip), so every request of a restored dialog (BYE, re-INVITE)
// finds the current flow without the dialog knowing.

import type { BrowserIdentity } from '@trapezoid/cluster';
import type { Destination } from '@trapezoid/sip';
import type { BindingStore } from '../registrar/bindings.js';

/** Flow ids of dead nodes' connections carry this prefix here, so they never match a live one. */
const LOST = 'lost:';

export class BrowserFlows {
  /** Lost flow id -> the browser that was behind it. */
  private readonly lostFlows = new Map<string, BrowserIdentity>();
  private readonly byCall = new Map<string, string[]>();
  private closed = false;

  constructor(private readonly bindings: BindingStore, private readonly waitMs: number, private readonly pollMs = 100) {}

  /**
   * A flow of a restored dialog that died with its node: returns the flow the dialog keeps
   * (renamed so it can never be confused with a live flow of this node).
   */
  lost(callId: string, flow: Destination, browser: BrowserIdentity | undefined): Destination {
    const id = `${LOST}${callId}:${flow.flowId ?? `${flow.address}:${flow.port}`}`;
    if (browser) this.lostFlows.set(id, browser);
    this.byCall.set(callId, [...(this.byCall.get(callId) ?? []), id]);
    return { ...flow, flowId: id };
  }

  /** Forgets a call's lost flows (the call ended). */
  forget(callId: string): void {
    for (const id of this.byCall.get(callId) ?? []) this.lostFlows.delete(id);
    this.byCall.delete(callId);
  }

  /** The destination over the browser's current flow; waits up to waitMs for it to re-register. */
  async replace(dest: Destination): Promise<Destination | undefined> {
    const browser = dest.flowId !== undefined ? this.lostFlows.get(dest.flowId) : undefined;
    if (!browser) return undefined;
    for (const until = Date.now() + this.waitMs; !this.closed;) {
      const b = this.bindings.findInstance(browser.aor, browser.instanceId, browser.regId);
      if (b?.flowId !== undefined) {
        return { protocol: b.source.protocol as Destination['protocol'], address: b.source.address, port: b.source.port, flowId: b.flowId };
      }
      if (Date.now() >= until) return undefined;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
    return undefined;
  }

  close(): void {
    this.closed = true;
  }
}
