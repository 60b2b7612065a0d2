// Codecs of an m-line (rtpmap, RFC 8866 §6.6, with RFC 3551 §6 static payload types) and
// the policy intersection. Matching is by encoding name (case-insensitive, RFC 4855 §3),
// clock rate and channel count; payload type numbers only mean something per leg.

import type { MediaDescription } from 'sdp-transform';
import { NoCommonCodecError, SdpUsageError } from './errors.js';
import { payloadTypes } from './parse.js';

export interface Codec {
  pt: number;
  name: string;
  clockRate: number;
  channels: number;
  fmtp?: string;
}

/** RFC 3551 §6 Table 4: audio payload types with a static meaning. */
const STATIC: Record<number, [string, number, number]> = {
  0: ['PCMU', 8000, 1], 3: ['GSM', 8000, 1], 4: ['G723', 8000, 1], 5: ['DVI4', 8000, 1],
  6: ['DVI4', 16000, 1], 7: ['LPC', 8000, 1], 8: ['PCMA', 8000, 1], 9: ['G722', 8000, 1],
  10: ['L16', 44100, 2], 11: ['L16', 44100, 1], 12: ['QCELP', 8000, 1], 13: ['CN', 8000, 1],
  14: ['MPA', 90000, 1], 15: ['G728', 8000, 1], 16: ['DVI4', 11025, 1], 17: ['DVI4', 22050, 1],
  18: ['G729', 8000, 1],
};

export function staticPayloadType(name: string, clockRate: number, channels: number): number | undefined {
  for (const [pt, [n, r, c]] of Object.entries(STATIC)) {
    if (n === name.toUpperCase() && r === clockRate && c === channels) return Number(pt);
  }
  return undefined;
}

/** RFC 4733 events and RFC 3389 comfort noise go with an audio codec of the same clock. */
export function isCompanion(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'telephone-event' || n === 'cn';
}

/**
 * Formats we never bridge: they describe other payloads (RFC 2198 red, RFC 4588 rtx,
 * FEC) and would need rewriting inside the payload, not just the PT.
 */
function isWrapper(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'red' || n === 'rtx' || n === 'ulpfec' || n === 'flexfec-03';
}

/** The codecs of an m-line in format-list order. PTs without rtpmap and no static meaning are dropped. */
export function mediaCodecs(media: MediaDescription): Codec[] {
  const out: Codec[] = [];
  for (const pt of payloadTypes(media)) {
    const map = media.rtp?.find((r) => r.payload === pt);
    let codec: Codec | undefined;
    if (map && typeof map.codec === 'string' && Number.isInteger(map.rate)) {
      codec = { pt, name: map.codec, clockRate: map.rate as number, channels: Number(map.encoding ?? 1) || 1 };
    } else if (STATIC[pt]) {
      const [name, clockRate, channels] = STATIC[pt];
      codec = { pt, name, clockRate, channels };
    }
    if (!codec || isWrapper(codec.name)) continue;
    const fmtp = media.fmtp?.find((f) => f.payload === pt)?.config;
    if (fmtp !== undefined) codec.fmtp = String(fmtp);
    out.push(codec);
  }
  return out;
}

export function codecLabel(c: { name: string; clockRate: number; channels?: number }, withChannels = false): string {
  return withChannels && (c.channels ?? 1) !== 1 ? `${c.name}/${c.clockRate}/${c.channels}` : `${c.name}/${c.clockRate}`;
}

export function sameCodec(
  a: { name: string; clockRate: number; channels: number },
  b: { name: string; clockRate: number; channels: number },
): boolean {
  return a.name.toLowerCase() === b.name.toLowerCase() && a.clockRate === b.clockRate && a.channels === b.channels;
}

export interface PolicyEntry {
  text: string;
  name: string;
  clockRate?: number;
  channels?: number;
}

/** Parse `name[/clock[/channels]]` entries; a bad entry is our configuration error (500). */
export function parsePolicy(codecs: readonly string[]): PolicyEntry[] {
  if (!Array.isArray(codecs) || codecs.length === 0) throw new SdpUsageError('codec policy lists no codecs');
  return codecs.map((text) => {
    const m = typeof text === 'string' ? /^([A-Za-z0-9._-]+)(?:\/(\d+)(?:\/(\d+))?)?$/.exec(text.trim()) : null;
    if (!m) throw new SdpUsageError(`codec policy entry ${JSON.stringify(text)} is not name[/clock[/channels]]`);
    const entry: PolicyEntry = { text: text.trim(), name: m[1] as string };
    if (m[2]) entry.clockRate = Number(m[2]);
    if (m[3]) entry.channels = Number(m[3]);
    return entry;
  });
}

function matches(entry: PolicyEntry, c: Codec): boolean {
  return entry.name.toLowerCase() === c.name.toLowerCase()
    && (entry.clockRate === undefined || entry.clockRate === c.clockRate)
    && (entry.channels === undefined || entry.channels === c.channels);
}

/**
 * The offered codecs the policy allows, in policy order (our preference, RFC 3264 §5.1),
 * followed by the companions (telephone-event, CN) whose clock rate equals that of a
 * chosen audio codec, so that 8000 Hz and 48000 Hz events never cross. Throws
 * NoCommonCodecError when no audio codec remains.
 */
export function selectCodecs(offered: Codec[], policy: PolicyEntry[]): Codec[] {
  const audio: Codec[] = [];
  for (const entry of policy) {
    if (isCompanion(entry.name)) continue;
    for (const c of offered) {
      if (!isCompanion(c.name) && matches(entry, c) && !audio.includes(c)) audio.push(c);
    }
  }
  if (audio.length === 0) {
    const names = offered.filter((c) => !isCompanion(c.name)).map((c) => codecLabel(c));
    throw new NoCommonCodecError([...new Set(names)], policy.filter((e) => !isCompanion(e.name)).map((e) => e.text));
  }
  const rates = new Set(audio.map((c) => c.clockRate));
  const companions: Codec[] = [];
  for (const entry of policy) {
    if (!isCompanion(entry.name)) continue;
    for (const c of offered) {
      if (isCompanion(c.name) && matches(entry, c) && rates.has(c.clockRate)
        && !companions.some((x) => sameCodec(x, c))) companions.push(c);
    }
  }
  return [...audio, ...companions];
}
