export type { DigestAlgorithm, DigestInput } from './hash.js';
export { computeHA1, computeResponse, digestHash, normalizeAlgorithm } from './hash.js';
export type { DigestChallenge } from './challenge.js';
export { parseChallenge, chooseChallenge, formatChallenge, isSupportedChallenge } from './challenge.js';
export type { DigestCredentials, DigestRequest, UserCredentials, AuthorizationOptions } from './credentials.js';
export { parseCredentials, formatCredentials, createAuthorization, DigestClient } from './credentials.js';
export type {
  DigestServerOptions, DigestLookup, DigestUserRecord, DigestVerifyRequest, DigestVerifyResult,
} from './server.js';
export { DigestServer } from './server.js';
export type { NonceUseStore } from './nonce-use.js';
export { MemoryNonceUseStore } from './nonce-use.js';
