// Public surface of @trapezoid/auth: admission and identity rules that sit in front of
// SIP (DESIGN.md, edge security). No SIP parsing here and no import of the other libs.
export { CidrSet, CidrError, parseCidr, cidrContains, ipBytes } from './cidr.js';
export type { Cidr } from './cidr.js';
