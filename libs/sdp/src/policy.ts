// Checking a codec policy at configuration time, so a typo fails at startup, not per call.

import { checkPolicy } from './common.js';
import type { CodecPolicy } from './types.js';
import { SdpUsageError } from './errors.js';

/** Throws SdpUsageError naming the bad entry; returns the policy unchanged when it is usable. */
export function parseCodecPolicy(policy: CodecPolicy): CodecPolicy {
  checkPolicy(policy);
  for (const [k, v] of Object.entries(policy.payloadTypes ?? {})) {
    if (!Number.isInteger(v) || v < 96 || v > 127) throw new SdpUsageError(`payload type for ${k} must be 96-127 (RFC 3551 §3)`);
  }
  if (policy.ptime !== undefined && (!Number.isInteger(policy.ptime) || policy.ptime < 0 || policy.ptime > 200)) {
    throw new SdpUsageError('ptime must be 0-200 ms');
  }
  return policy;
}
