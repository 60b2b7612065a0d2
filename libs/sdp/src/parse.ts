// Reading SDP (RFC 8866 §5, §9 grammar). sdp-transform parses leniently and never
// complains, so the structural checks a peer's SDP must pass are made here, on the raw
// lines, before it is trusted. Writing goes through `writeSdp` so every SDP we emit is
// also re-parsed once in tests.

import sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { MalformedSdpError, SdpError } from './errors.js';

/** Larger than any sane audio offer; a guard against abuse, not a protocol limit. */
const MAX_SDP_LENGTH = 64 * 1024;

const LINE = /^[a-z]=/;
const M_LINE = /^m=([a-zA-Z0-9_.!%*+`'~-]+) (\d+)(?:\/(\d+))? (\S+)((?: \S+)+)$/;
const C_LINE = /^c=IN (IP4|IP6) ([^\s/]+)(?:\/\d+){0,2}$/;
const O_LINE = /^o=\S+ \d+ \d+ IN IP[46] \S+$/;

/**
 * Parse and check an SDP body. Throws MalformedSdpError (400) naming the first fault.
 * Checks: v=0 first (§5.1), an o= line (§5.2), m= grammar with port 0-65535 and at least
 * one format (§5.14), c= grammar (§5.7), and a connection address for every m-line that
 * is not disabled (§5.7: "a session description MUST contain either at least one c= field
 * in each media description or a single c= field at the session level").
 */
export function parseSdp(text: unknown, what = 'SDP'): SessionDescription {
  if (typeof text !== 'string' || text.trim() === '') throw new MalformedSdpError(`${what} is empty`);
  if (text.length > MAX_SDP_LENGTH) throw new MalformedSdpError(`${what} is larger than ${MAX_SDP_LENGTH} bytes`);
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'v=0') throw new MalformedSdpError(`${what} does not start with v=0`);
  let sessionC = false;
  let origin = false;
  let mediaCount = 0;
  let mediaOpen = false; // current m-line needs a c= of its own
  let mDesc = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!LINE.test(line)) throw new MalformedSdpError(`${what} line ${i + 1} is not <type>=<value>`);
    const type = line[0];
    if (type === 'o') {
      if (!O_LINE.test(line)) throw new MalformedSdpError(`${what} has a malformed o= line`);
      origin = true;
    } else if (type === 'c') {
      if (!C_LINE.test(line)) throw new MalformedSdpError(`${what} has a malformed c= line`);
      if (mediaCount === 0) sessionC = true;
      else mediaOpen = false;
    } else if (type === 'm') {
      if (mediaOpen && !sessionC) throw new MalformedSdpError(`${what} has no c= for ${mDesc}`);
      const m = M_LINE.exec(line);
      if (!m || Number(m[2]) > 65535) throw new MalformedSdpError(`${what} has a malformed m= line: ${line.slice(0, 80)}`);
      mediaCount++;
      mDesc = `m=${m[1]} (m-line ${mediaCount})`;
      mediaOpen = Number(m[2]) !== 0;
    }
  }
  if (mediaOpen && !sessionC) throw new MalformedSdpError(`${what} has no c= for ${mDesc}`);
  if (!origin) throw new MalformedSdpError(`${what} has no o= line`);
  let parsed: SessionDescription;
  try {
    parsed = sdpTransform.parse(text);
  } catch {
    throw new MalformedSdpError(`${what} could not be parsed`);
  }
  if (!Array.isArray(parsed.media)) parsed.media = [];
  return parsed;
}

export function writeSdp(session: SessionDescription): string {
  try {
    return sdpTransform.write(session);
  } catch {
    throw new SdpError(400, 'SDP could not be written');
  }
}

/** The PTs of an m-line's format list (non-numeric formats, e.g. SCTP's, are skipped). */
export function payloadTypes(media: MediaDescription): number[] {
  const out: number[] = [];
  for (const f of String(media.payloads ?? '').split(' ')) {
    if (/^\d{1,3}$/.test(f) && Number(f) <= 127) out.push(Number(f));
  }
  return out;
}

/** The connection address in effect for an m-line (media c= overrides session c=, RFC 8866 §5.7). */
export function connectionAddress(session: SessionDescription, media: MediaDescription): string {
  return media.connection?.ip ?? session.connection?.ip ?? '0.0.0.0';
}

/** An attribute that may be session- or media-level (RFC 8839 ICE, RFC 8122 fingerprint, RFC 8842 setup). */
export function sharedAttr<K extends 'iceUfrag' | 'icePwd' | 'fingerprint' | 'setup' | 'iceOptions'>(
  session: SessionDescription,
  media: MediaDescription,
  key: K,
): MediaDescription[K] {
  return (media[key] ?? session[key]) as MediaDescription[K];
}
