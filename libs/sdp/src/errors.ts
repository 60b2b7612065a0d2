// Every failure of libs/sdp is an SdpError carrying the SIP status the caller answers
// with (RFC 3261 §21.4.1 400 Bad Request for SDP that cannot be read, §21.4.26 488 Not
// Acceptable Here for SDP that is well formed but offers nothing we can accept; 500 for
// our own bad input, e.g. a codec policy that does not parse). Nothing else is ever
// thrown out of the public functions.

/** SIP status a caller maps an SDP failure to. */
export type SdpErrorStatus = 400 | 488 | 500;

export class SdpError extends Error {
  readonly status: SdpErrorStatus;
  /** Short reason phrase, suitable for the SIP status line or a Warning header. */
  readonly reason: string;

  constructor(status: SdpErrorStatus, reason: string) {
    super(reason);
    this.name = 'SdpError';
    this.status = status;
    this.reason = reason;
  }
}

/** SDP that does not follow RFC 8866's grammar, or an answer that breaks RFC 3264 §6. */
export class MalformedSdpError extends SdpError {
  constructor(reason: string) {
    super(400, reason);
    this.name = 'MalformedSdpError';
  }
}

/** Well-formed SDP whose content we cannot accept (no audio, no DTLS fingerprint, ...). */
export class NotAcceptableSdpError extends SdpError {
  constructor(reason: string) {
    super(488, reason);
    this.name = 'NotAcceptableSdpError';
  }
}

/**
 * The offer (or answer) shares no audio codec with the policy or the other leg.
 * `offered` and `allowed` are codec names as "name/clock[/channels]".
 */
export class NoCommonCodecError extends SdpError {
  readonly offered: string[];
  readonly allowed: string[];

  constructor(offered: string[], allowed: string[]) {
    super(488, `No common codec: offered ${offered.join(', ') || 'none'}; allowed ${allowed.join(', ') || 'none'}`);
    this.name = 'NoCommonCodecError';
    this.offered = offered;
    this.allowed = allowed;
  }
}

/** Our own input (codec policy, ICE parameters, saved state) is unusable: a bug or bad config. */
export class SdpUsageError extends SdpError {
  constructor(reason: string) {
    super(500, reason);
    this.name = 'SdpUsageError';
  }
}
