// Test support for code built on this stack (`@trapezoid/sip/test-support`): an in-memory
// network of transports so UAs can be driven without sockets, and the mock-clock helpers.
// Tests only; not part of the lib's public surface (index.ts).
export { LoopbackNetwork, LoopbackTransport, settle } from './loopback-transport.js';
export type { LoopbackEndpointOptions, SentRecord } from './loopback-transport.js';
export { uaPair, tick, isReq, isRes } from './pair.js';
export type { UaPair } from './pair.js';
// The torture corpus, the fuzz crashers and the mutator, for fuzzing a whole receive
// path over the wire (test/src/gateway/wire-fuzz.ts, scripts/fuzz-sip-wire.mjs).
export { RFC4475_DIR, FUZZ_CRASHERS_DIR, tortureIndex, tortureMessages, fuzzCrashers } from './testdata.js';
export type { TortureEntry } from './testdata.js';
export { CORPUS } from '../parser/corpus.js';
export { mutate, prng } from '../parser/fuzz.js';
