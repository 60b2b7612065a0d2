// Public surface of @trapezoid/auth: admission and identity rules that sit in front of
// SIP (docs/architecture.md, "Edge security"). No SIP parsing here and no import of the other libs.
export { CidrSet, CidrError, parseCidr, cidrContains, ipBytes } from './cidr.js';
export type { Cidr } from './cidr.js';
export type { ConnectionIdentity, IdentityMethod } from './identity.js';
export { identityExpired } from './identity.js';
export type { BanTableOptions, FailureVerdict } from './ban-table.js';
export { BanTable } from './ban-table.js';
export { redactUrl } from './redact.js';
export type {
  UpgradeRequest, UpgradeCredentials, WsAdmissionOptions, AdmissionVerdict, ConnectionLimitsOptions,
} from './ws-admission.js';
export { WsAdmissionPolicy, ConnectionLimits, hostName } from './ws-admission.js';
export type { EphemeralOptions, EphemeralName, EphemeralCheck, EphemeralFormat, EphemeralAlgorithm, MintOptions } from './ephemeral.js';
export { EphemeralCredentials, ephemeralPassword, mintEphemeral } from './ephemeral.js';
export type { JwtAlgorithm, JwtKey, JwtOptions, JwtCheck, JwtWhy } from './jwt.js';
export { JwtVerifier, jwksKeys, signJwt } from './jwt.js';
