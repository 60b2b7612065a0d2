// Size limits applied before any parsing work (RFC 3261 §18.1.1 keeps UDP
// messages under the path MTU; 65535 is the largest a UDP datagram can carry).

export interface ParseLimits {
  /** Largest whole message accepted, in octets. Default 65535. */
  maxMessageBytes?: number;
  /** Most header field lines accepted. Default 256. */
  maxHeaders?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 65535;
export const DEFAULT_MAX_HEADERS = 256;

/** Index of the first octet after any leading CRLFs (RFC 3261 §7.5 says ignore them). */
export function skipLeadingCrlf(buf: Buffer): number {
  let i = 0;
  while (i + 1 < buf.length && buf[i] === 0x0d && buf[i + 1] === 0x0a) i += 2;
  return i;
}
