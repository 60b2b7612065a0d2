// Trunk runtime: location (RFC 3263), OPTIONS pings, outbound registration, failover.
export { Trunks, trunkDomain, trunkPort } from './trunks.js';
export type { TrunkStatus } from './trunks.js';
export type { RegistrationStatus, RegistrationState } from './registration.js';
export type { PingStatus, Reachability } from './options-ping.js';
export { TrunkLeg } from './failover.js';
