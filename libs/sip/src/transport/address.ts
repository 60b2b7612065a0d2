// Address helpers shared by every transport: one spelling per address so flows,
// Via received= values and reuse keys compare as plain strings.

import { isIP } from 'node:net';

/**
 * Sockets listening on "::" report IPv4 peers as IPv4-mapped IPv6
 * ("::ffff:127.0.0.1"); SIP headers and reuse keys want the dotted form.
 */
export function normalizeAddress(address: string): string {
  if (address.length > 7 && address.charCodeAt(0) === 0x3a && address.startsWith('::ffff:')) {
    const v4 = address.slice(7);
    if (isIP(v4) === 4) return v4;
  }
  return address;
}

/** host:port with IPv6 references bracketed (RFC 3261 §25.1 IPv6reference). */
export function hostPort(address: string, port: number): string {
  return (address.indexOf(':') !== -1 ? '[' + address + ']' : address) + ':' + port;
}

/** Strips the brackets of an IPv6 reference taken from a header (Via host, URI host). */
export function unbracket(host: string): string {
  return host.charCodeAt(0) === 0x5b && host.charCodeAt(host.length - 1) === 0x5d ? host.slice(1, -1) : host;
}

export function addressFamily(address: string): 4 | 6 {
  return isIP(unbracket(address)) === 6 ? 6 : 4;
}
