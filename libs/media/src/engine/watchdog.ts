// The media side of "every call ends when its parties are gone" (issue 8): a worker
// watches the bridges it was asked to and reports, once each, a leg that received no
// RTP or RTCP for the configured time (a longer one while the call is on hold, as
// rtpengine's `timeout` and `silent-timeout`), and a WebRTC leg that did not complete
// ICE and DTLS within its time from the answer. Nothing is added per packet: the legs
// (and the native routes behind them) already count what they accept, and this
// compares those counters on a coarse timer. Dropped packets (a stranger's, forged
// SRTP) do not count as activity, so nobody keeps a dead call alive by spraying it.

import type { MediaLeg } from '../leg.js';
import { WebRtcLeg } from '../webrtc/webrtc-leg.js';
import type { LegWatchEvent, MediaWatch } from './protocol.js';

/** Coarsest and finest check period: a quarter of the shortest limit armed, within these. */
const MAX_TICK_MS = 1000;
const MIN_TICK_MS = 50;


interface Watched {
  legs: readonly MediaLeg[];
  mediaTimeoutMs: number;
  holdTimeoutMs: number;
  held: boolean;
  iceTimeoutMs: number;
  /** Date.now() the ICE limit counts from (the update that armed it). */
  iceFrom: number;
  /** Per leg: packets (RTP + RTCP) accepted at the last change, and when that change was seen. */
  counts: number[];
  activeAt: number[];
  iceReported: boolean;
  mediaReported: boolean;
}

function received(leg: MediaLeg): number {
  const s = leg.stats;
  return s.packetsIn + s.rtcpIn;
}

/** True once the leg can carry media: ICE found the browser and DTLS gave the SRTP keys. */
function established(leg: MediaLeg): { iceChecked: boolean; dtlsConnected: boolean } {
  if (!(leg instanceof WebRtcLeg)) return { iceChecked: true, dtlsConnected: true };
  return { iceChecked: leg.remoteAddress !== null || leg.marks.iceCheckedAt > 0, dtlsConnected: leg.srtpProfile !== null };
}

export class MediaWatchdog {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.watched.size;
  }

  /**
   * Arms or changes the watch of bridge `id` (fields left out keep their value; 0 turns a
   * limit off). Any change restarts the silence clocks: a call just resumed from hold, or
   * whose limits were just set, gets the full time.
   */
  set(id: string, legs: readonly MediaLeg[], change: MediaWatch): void {
    const now = this.now();
    let w = this.watched.get(id);
    if (!w) {
      w = {
        legs, mediaTimeoutMs: 0, holdTimeoutMs: 0, held: false, iceTimeoutMs: 0, iceFrom: now,
        counts: legs.map(received), activeAt: legs.map(() => now), iceReported: false, mediaReported: false,
      };
      this.watched.set(id, w);
    }
    w.legs = legs;
    if (change.mediaTimeoutMs !== undefined) w.mediaTimeoutMs = change.mediaTimeoutMs;
    if (change.holdTimeoutMs !== undefined) w.holdTimeoutMs = change.holdTimeoutMs;
    if (change.held !== undefined) w.held = change.held;
    if (change.iceTimeoutMs !== undefined) {
      w.iceTimeoutMs = change.iceTimeoutMs;
      w.iceFrom = now;
    }
    w.counts = legs.map(received);
    w.activeAt = legs.map(() => now);
  }

  /** A leg was replaced (re-INVITE): its counters start over. */
  legsChanged(id: string, legs: readonly MediaLeg[]): void {
    if (this.watched.has(id)) this.set(id, legs, {});
  }

  delete(id: string): void {
    this.watched.delete(id);
  }

  /** How often tick() should run for what is armed now; 0 when nothing is. */
  get periodMs(): number {
    let shortest = Infinity;
    for (const w of this.watched.values()) {
      const limit = w.held ? w.holdTimeoutMs : w.mediaTimeoutMs;
      if (limit > 0 && !w.mediaReported) shortest = Math.min(shortest, limit);
      if (w.iceTimeoutMs > 0 && !w.iceReported) shortest = Math.min(shortest, w.iceTimeoutMs);
    }
    if (shortest === Infinity) return 0;
    return Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, Math.floor(shortest / 4)));
  }

  /** Compares counters; returns what to report (each bridge reports each kind once). */
  tick(): LegWatchEvent[] {
    const now = this.now();
    const out: LegWatchEvent[] = [];
    for (const [id, w] of this.watched) {
      if (w.iceTimeoutMs > 0 && !w.iceReported && now - w.iceFrom >= w.iceTimeoutMs) {
        w.legs.forEach((leg, i) => {
          const e = established(leg);
          if (w.iceReported || (e.iceChecked && e.dtlsConnected)) return;
          w.iceReported = true;
          out.push({ id, leg: i, name: 'iceTimeout', detail: { limitMs: w.iceTimeoutMs, ...e } });
        });
        // Established in time: nothing more to watch for ICE.
        if (!w.iceReported) w.iceTimeoutMs = 0;
      }
      const limit = w.held ? w.holdTimeoutMs : w.mediaTimeoutMs;
      if (limit <= 0 || w.mediaReported) continue;
      for (let i = 0; i < w.legs.length; i++) {
        const n = received(w.legs[i]!);
        if (n !== w.counts[i]) {
          w.counts[i] = n;
          w.activeAt[i] = now;
          continue;
        }
        const silentMs = now - w.activeAt[i]!;
        if (silentMs >= limit) {
          w.mediaReported = true;
          out.push({ id, leg: i, name: 'mediaTimeout', detail: { silentMs, limitMs: limit, held: w.held } });
          break;
        }
      }
    }
    return out;
  }
}
