// The one-way-audio detector: the field's most common complaint ("they can't hear me")
// is a direction whose packets stopped, or never started, while the other flows. It
// reads the counters the monitor samples on its coarse timer (nothing per packet) and
// remembers, per direction, when its packet count last moved. A direction silent for
// the configured time is flagged, named by the first silent hop of its path (audio
// that never reached the gateway is not the trunk side's fault). A call on hold
// (sendonly, recvonly or inactive in the latest SDP of either leg) is never flagged:
// silence is what hold asks for; resuming starts a fresh grace period.

import { MEDIA_DIRECTIONS, MEDIA_PATHS, DIRECTION_SOURCE, type MediaDirectionName, type MediaLegName } from './directions.js';

export type MediaHealthStatus = 'setup' | 'ok' | 'held' | 'one-way' | 'no-media';

export interface SilentDirection {
  leg: MediaLegName;
  direction: MediaDirectionName;
  /** How long no packet has moved in that direction. */
  silentMs: number;
}

export interface MediaVerdict {
  status: MediaHealthStatus;
  /** The direction(s) that stopped: one for one-way audio, two (one per path) for no media. */
  silent: SilentDirection[];
}

export class OneWayAudioDetector {
  private readonly lastCount = new Map<MediaDirectionName, number>();
  private readonly lastMoved = new Map<MediaDirectionName, number>();
  private armedAt: number | null = null;

  constructor(private readonly thresholdMs: number) {}

  /**
   * One sample: packet totals per direction at `now`. `live` is false until the call is
   * answered and its media bridged (nothing is expected to flow before); `held` true
   * while the SDP says a side must not send.
   */
  sample(now: number, packets: Record<MediaDirectionName, number>, live: boolean, held: boolean): MediaVerdict {
    if (!live) return { status: 'setup', silent: [] };
    if (held || this.armedAt === null) {
      // Armed on answer and again on resume: each direction gets the full grace period.
      this.armedAt = now;
      for (const d of MEDIA_DIRECTIONS) {
        this.lastMoved.set(d, now);
        this.lastCount.set(d, packets[d]);
      }
      if (held) this.armedAt = null;
      return { status: held ? 'held' : 'ok', silent: [] };
    }
    for (const d of MEDIA_DIRECTIONS) {
      if (packets[d] !== this.lastCount.get(d)) {
        this.lastCount.set(d, packets[d]);
        this.lastMoved.set(d, now);
      }
    }
    const silent: SilentDirection[] = [];
    for (const path of MEDIA_PATHS) {
      const stopped = path.find((d) => now - this.lastMoved.get(d)! >= this.thresholdMs);
      if (stopped) silent.push({ leg: DIRECTION_SOURCE[stopped].leg, direction: stopped, silentMs: now - this.lastMoved.get(stopped)! });
    }
    return { status: silent.length === 0 ? 'ok' : silent.length === 1 ? 'one-way' : 'no-media', silent };
  }
}
