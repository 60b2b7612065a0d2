// The RFC 3326 Reason header of the BYEs the gateway sends when it ends a call itself
// (a watchdog, a failure, a shutdown): both parties learn why, in the status and words
// the gateway logs. A BYE relayed from one leg to the other carries none.

/** `SIP ;cause=<status> ;text="<text>"` (RFC 3326 §2), the text kept a valid quoted-string. */
export function sipReasonHeader(status: number, text: string): string {
  return `SIP ;cause=${status} ;text="${text.replace(/[\\"\r\n]/g, ' ')}"`;
}
