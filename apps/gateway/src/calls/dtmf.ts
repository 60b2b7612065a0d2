// DTMF that arrives as SIP INFO (RFC 6086 INFO carrying `application/dtmf-relay`, as
// JsSIP sends by default, or `application/dtmf`). RFC 4733 telephone-events need nothing
// here: the bridge passes them with their payload type mapped. An INFO digit from the
// browser reaches the trunk as an RFC 4733 event the media worker plays in the trunk
// leg's stream (trunks[].dtmf 'rfc4733', the default) or as the same INFO (trunks[].dtmf
// 'info'); a trunk's INFO digit reaches the browser as INFO (calls.dtmfToBrowser 'info',
// the default: a browser can show it, while no browser API reports received RFC 4733) or
// as RFC 4733. Where no telephone-event was negotiated (a trunk that only knows in-band
// tones), the INFO is relayed as it came: the gateway does not transcode, so it cannot
// make in-band tones (docs/configuration.md). Other INFO bodies are relayed unchanged.

import type { IncomingRequest } from '@trapezoid/sip';
import type { Call, LegSide } from './call.js';
import type { InDialogHooks } from './in-dialog.js';

export interface DtmfPolicy {
  /** How an INFO digit from the browser reaches the trunk. */
  toTrunk: 'rfc4733' | 'info';
  /** How an INFO digit from the trunk reaches the browser. */
  toBrowser: 'rfc4733' | 'info';
}

export interface Digit {
  /** RFC 4733 §3.2 event code. */
  event: number;
  durationMs: number;
}

const EVENTS = '0123456789*#ABCD';
/** RFC 4733 §2.5.1.1: a digit shorter than this is hardly one; longer ones are capped. */
const MIN_MS = 40;
const MAX_MS = 8000;
const DEFAULT_MS = 160;

/**
 * The digit an INFO carries, or null when its body is not DTMF. `application/dtmf-relay`:
 * `Signal=5` and `Duration=160` lines (ms); `application/dtmf`: the digit alone.
 */
export function parseDtmfInfo(contentType: string | undefined, body: string): Digit | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  let signal: string | undefined;
  let duration = DEFAULT_MS;
  if (type === 'application/dtmf-relay') {
    for (const line of body.split(/\r?\n/)) {
      const m = /^\s*(signal|duration)\s*=\s*(\S+)\s*$/i.exec(line);
      if (!m) continue;
      if (m[1]!.toLowerCase() === 'signal') signal = m[2];
      else if (/^\d+$/.test(m[2]!)) duration = Number(m[2]);
    }
  } else if (type === 'application/dtmf') {
    signal = body.trim();
  } else {
    return null;
  }
  if (signal === undefined) return null;
  const s = signal.toUpperCase();
  const event = /^\d+$/.test(s) && Number(s) <= 16 ? Number(s) : EVENTS.indexOf(s);
  if (event < 0 || s === '') return null;
  return { event, durationMs: Math.min(MAX_MS, Math.max(MIN_MS, duration)) };
}

/** An `application/dtmf-relay` body for `digit` (what JsSIP, SIP.js and most PBXs read). */
export function dtmfRelayBody(d: Digit): string {
  const signal = d.event < EVENTS.length ? EVENTS[d.event]! : String(d.event);
  return `Signal=${signal}\r\nDuration=${d.durationMs}\r\n`;
}

/** The in-dialog INFO handling of one call. */
export class DtmfInfo implements InDialogHooks {
  constructor(private readonly call: Call, private readonly policy: DtmfPolicy) {}

  request(side: LegSide, req: IncomingRequest): boolean {
    if (req.method !== 'INFO') return false;
    void this.handle(side, req).catch((err: unknown) => {
      this.call.log.warn('INFO not delivered', { event: 'info-error', leg: side, error: String(err) });
      if (!req.finalSent) req.reply(500);
    });
    return true;
  }

  private async handle(side: LegSide, req: IncomingRequest): Promise<void> {
    const call = this.call;
    const msg = req.message;
    const digit = parseDtmfInfo(msg.headers.get('content-type'), msg.body.toString('utf8'));
    const fromBrowser = side === call.browserSide;
    const wanted = fromBrowser ? this.policy.toTrunk : this.policy.toBrowser;
    const pt = digit ? this.eventPt(fromBrowser ? 'trunk' : 'browser') : null;
    if (digit && wanted === 'rfc4733' && pt !== null && call.media) {
      await call.media.sendDtmf(fromBrowser ? 'trunk' : 'browser', digit, pt);
      req.reply(200);
      call.inDialog({ side, method: 'INFO', status: 200, relayed: false, purpose: `dtmf ${dtmfRelayBody(digit).split('\r\n')[0]} as RFC 4733` });
      return;
    }
    // Relayed as it came: INFO wanted, no telephone-event negotiated, or not a digit.
    const to = side === 'a' ? 'b' : 'a';
    const dialog = call.dialog(to);
    if (!dialog || dialog.terminated) {
      req.reply(481);
      return;
    }
    const ct = msg.headers.get('content-type');
    const res = await dialog.request('INFO', {
      ...(msg.body.length > 0 ? { body: msg.body, ...(ct ? { contentType: ct } : {}) } : {}),
      ...(msg.headers.has('info-package') ? { headers: { 'Info-Package': msg.headers.get('info-package')! } } : {}),
    }).final;
    req.reply(res.status, res.reason);
    call.inDialog({ side, method: 'INFO', status: res.status, relayed: true, purpose: digit ? 'dtmf' : 'info' });
  }

  /** The telephone-event payload type on `toward`'s leg, if one was negotiated (at the bridged audio's clock). */
  private eventPt(toward: 'trunk' | 'browser'): number | null {
    const m = this.call.sdp?.mapping?.find((x) => x.codec.toLowerCase() === 'telephone-event');
    if (!m) return null;
    return toward === 'trunk' ? m.trunkPt : m.webrtcPt;
  }
}
