// Matching an answer's codecs to what was offered, and the PT mapping media uses to
// rewrite payload types between the legs.

import { codecLabel, isCompanion, sameCodec, type Codec } from './codec.js';
import { NoCommonCodecError, SdpUsageError } from './errors.js';
import type { OfferedCodec, PtMapping } from './types.js';

/**
 * The offered codecs the answer accepted, in the answer's order (the answerer's
 * preference), each with the PT the answerer used: RFC 3264 §6.1 says it SHOULD reuse the
 * offered number but it may not, so codecs are matched by name/clock/channels and the PT
 * is taken from the answer. Companions (telephone-event, CN) are kept only at the clock
 * rate of the first audio codec, the one that will flow.
 */
export function matchAnswer(offered: OfferedCodec[], answered: Codec[], answerer: 'trunk' | 'webrtc'): OfferedCodec[] {
  const key = answerer === 'trunk' ? 'trunkPt' : 'webrtcPt';
  const fmtpKey = answerer === 'trunk' ? 'trunkFmtp' : 'webrtcFmtp';
  const out: OfferedCodec[] = [];
  for (const a of answered) {
    const candidates = offered.filter((o) => sameCodec(o, a));
    const o = candidates.find((c) => c[key] === a.pt) ?? candidates[0];
    if (!o || out.some((x) => x[key] === a.pt || sameCodec(x, a))) continue;
    const matched: OfferedCodec = { ...o, [key]: a.pt };
    if (a.fmtp !== undefined) matched[fmtpKey] = a.fmtp;
    out.push(matched);
  }
  const first = out.find((c) => !isCompanion(c.name));
  if (!first) {
    throw new NoCommonCodecError(
      [...new Set(answered.filter((c) => !isCompanion(c.name)).map((c) => codecLabel(c)))],
      [...new Set(offered.filter((c) => !isCompanion(c.name)).map((c) => codecLabel(c)))],
    );
  }
  return out.filter((c) => !isCompanion(c.name) || c.clockRate === first.clockRate);
}

/**
 * The codecs chosen from an offer, each with its PT on both legs: the offerer's own and
 * `otherPts[i]` (from assignPayloadTypes) on the leg the offer is carried to. Both legs
 * start with the offerer's fmtp.
 */
export function offeredCodecs(chosen: Codec[], otherPts: number[], offerer: 'webrtc' | 'trunk'): OfferedCodec[] {
  return chosen.map((c, i) => {
    const other = otherPts[i] as number;
    const oc: OfferedCodec = {
      webrtcPt: offerer === 'webrtc' ? c.pt : other, trunkPt: offerer === 'trunk' ? c.pt : other,
      name: c.name, clockRate: c.clockRate, channels: c.channels,
    };
    if (c.fmtp !== undefined) { oc.webrtcFmtp = c.fmtp; oc.trunkFmtp = c.fmtp; }
    return oc;
  });
}

export function toMapping(codecs: OfferedCodec[]): PtMapping[] {
  return codecs.map((c) => {
    const m: PtMapping = { webrtcPt: c.webrtcPt, trunkPt: c.trunkPt, codec: c.name, clockRate: c.clockRate };
    if (c.channels !== 1) m.channels = c.channels;
    return m;
  });
}

export function asCodec(c: OfferedCodec, side: 'trunk' | 'webrtc'): { pt: number; codec: Codec } {
  const pt = side === 'trunk' ? c.trunkPt : c.webrtcPt;
  const fmtp = side === 'trunk' ? c.trunkFmtp : c.webrtcFmtp;
  const codec: Codec = { pt, name: c.name, clockRate: c.clockRate, channels: c.channels };
  if (fmtp !== undefined) codec.fmtp = fmtp;
  return { pt, codec };
}

/**
 * PT numbers on the other leg for codecs chosen from an offer. `strong` candidates (the
 * number already used for that codec in this session, RFC 3264 §8.3.2, or RFC 3551's
 * static number) are placed first, then `weak` ones (a configured number, the offerer's
 * own), then the first free dynamic number (RFC 3551 §3: 96-127). No number twice.
 */
export function assignPayloadTypes(
  chosen: Codec[], strong: (c: Codec) => (number | undefined)[], weak: (c: Codec) => (number | undefined)[],
): number[] {
  const used = new Set<number>();
  const out: (number | undefined)[] = chosen.map(() => undefined);
  for (const pick of [strong, weak]) {
    chosen.forEach((c, i) => {
      if (out[i] !== undefined) return;
      const pt = pick(c).find((p) => p !== undefined && p >= 0 && p <= 127 && !used.has(p));
      if (pt !== undefined) { out[i] = pt; used.add(pt); }
    });
  }
  return out.map((pt) => {
    if (pt !== undefined) return pt;
    let next = 96;
    while (used.has(next)) next++;
    if (next > 127) throw new SdpUsageError('no free dynamic payload type left (RFC 3551 §3: 96-127)');
    used.add(next);
    return next;
  });
}

/** The PT a codec had on `side` in the established mapping, keyed by its PT on the other side. */
export function establishedPt(mapping: PtMapping[] | undefined, c: Codec, from: 'webrtc' | 'trunk'): number | undefined {
  const m = mapping?.find((x) => (from === 'webrtc' ? x.webrtcPt : x.trunkPt) === c.pt
    && sameCodec({ name: x.codec, clockRate: x.clockRate, channels: x.channels ?? 1 }, c));
  if (!m) return undefined;
  return from === 'webrtc' ? m.trunkPt : m.webrtcPt;
}
