// Who a connection or a request speaks for, once proven, in one typed shape shared by
// everything that reads it: the gateway binds it to a WebSocket connection and checks
// every request on it against it; the toll-fraud guards read its dial patterns.

/** How the identity was proven. */
export type IdentityMethod = 'digest' | 'ephemeral' | 'jwt';

export interface ConnectionIdentity {
  /** The SIP user part this identity may register and call as (From/To user). */
  user: string;
  /** The domain, when the credential named one (`user@domain`); undefined = any of ours. */
  domain?: string;
  method: IdentityMethod;
  /**
   * Epoch ms after which new registrations and out-of-dialog requests are refused;
   * requests inside an established dialog never are. Undefined: no expiry.
   */
  expiresAt?: number;
  /**
   * What this identity may dial, as the credential carried it (a JWT claim): regular
   * expressions matched against the whole dialled user part. Undefined: no restriction
   * from the credential (configured per-user limits still apply).
   */
  dialPatterns?: readonly string[];
}

/** True when the identity has expired at `now`. */
export function identityExpired(id: ConnectionIdentity, now = Date.now()): boolean {
  return id.expiresAt !== undefined && id.expiresAt <= now;
}
