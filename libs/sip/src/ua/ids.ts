// Branches, tags and Call-IDs (RFC 3261 §8.1.1.4, §8.1.1.7, §19.3): unique in space
// and time. A random per-process prefix plus a counter gives that without drawing
// random bytes for every message.

import { randomBytes } from 'node:crypto';
import { randomBase64url, randomHex } from '../message/random.js';
import { MAGIC_COOKIE } from '../transaction/matching.js';

const PREFIX = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x');
let counter = 0;

function next(): string {
  counter = (counter + 1) % 0x7fffffff;
  return PREFIX + counter.toString(36);
}

export function newBranch(): string {
  return MAGIC_COOKIE + next();
}

/** A tag with at least 32 bits of randomness (§19.3), unique per process. */
export function newTag(): string {
  return randomHex(4) + counter.toString(36) + next().slice(-3);
}

export function newCallId(): string {
  return randomBase64url(9) + next();
}
