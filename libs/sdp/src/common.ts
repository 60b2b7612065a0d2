// Small pieces shared by both call directions.

import type { SessionDescription, MediaDescription } from 'sdp-transform';
import { parsePolicy, type PolicyEntry } from './codec.js';
import { MalformedSdpError, SdpError, SdpUsageError } from './errors.js';
import type { CodecPolicy, MediaEndpoint, OfferState } from './types.js';

/** Policy default: many carriers hard-code 101 for RFC 4733 events. */
export const DEFAULT_TRUNK_PAYLOAD_TYPES: Readonly<Record<string, number>> = { 'telephone-event/8000': 101 };
export const DEFAULT_PTIME = 20;

/**
 * Runs a public entry point so that nothing untyped escapes: an SdpError passes through,
 * anything else (a shape sdp-transform produced that we did not foresee) becomes 400.
 */
export function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SdpError) throw e;
    throw new MalformedSdpError(`${what} could not be processed`);
  }
}

export function checkPolicy(policy: CodecPolicy): PolicyEntry[] {
  if (!policy || typeof policy !== 'object') throw new SdpUsageError('codec policy missing');
  return parsePolicy(policy.codecs);
}

export function checkEndpoint(local: MediaEndpoint): void {
  if (!local || typeof local.address !== 'string' || local.address === ''
    || !Number.isInteger(local.port) || local.port < 1 || local.port > 65535) {
    throw new SdpUsageError('local media endpoint needs an address and a port 1-65535');
  }
}

/**
 * RFC 3264 §6: "The answer MUST contain exactly the same number of m= lines as the offer."
 * Returns the answer's m-line at `audioIndex`, the one we offered audio on.
 */
export function checkAnswerShape(answer: SessionDescription, offered: number, audioIndex: number, what: string): MediaDescription {
  if (answer.media.length !== offered) {
    throw new MalformedSdpError(`${what} has ${answer.media.length} m-lines; the offer had ${offered} (RFC 3264 §6)`);
  }
  const m = answer.media[audioIndex] as MediaDescription;
  if (m.type !== 'audio') throw new MalformedSdpError(`${what} answers our audio m-line with m=${m.type}`);
  return m;
}

export function checkState(state: OfferState, offerer: OfferState['offerer']): void {
  if (!state || state.offerer !== offerer || !Array.isArray(state.media) || !Array.isArray(state.codecs)
    || !state.media[state.audioIndex] || !state.target || !Array.isArray(state.target.media)
    || !state.target.media[state.target.audioIndex]) {
    throw new SdpUsageError(`offer state is not from a ${offerer} offer`);
  }
}
