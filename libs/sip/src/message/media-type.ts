// Media types in Content-Type and Accept (RFC 3261 §20.1, §20.15; RFC 2045 §5.1): the
// checks a UAS makes on a request's body (§8.2.3: 415 with Accept) and on what it may
// answer with (406 when Accept excludes it). Types compare case-insensitively,
// parameters aside; Accept entries may be "*/*" or "type/*".

/** The "type/subtype" of a Content-Type value, lowercase, parameters dropped ('' if none). */
export function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** True if `contentType` is `type` ("application/sdp; charset=utf-8" is application/sdp). */
export function isMediaType(contentType: string | undefined, type: string): boolean {
  return mediaTypeOf(contentType) === type.toLowerCase();
}

/**
 * True if a request's Accept values (each a comma-separated list, as Headers.getAll gives
 * them) let a response carry `type`. No Accept header at all means the default,
 * application/sdp (§20.1); an empty one means nothing is acceptable.
 */
export function acceptsMediaType(acceptValues: readonly string[], type: string): boolean {
  if (acceptValues.length === 0) return type.toLowerCase() === 'application/sdp';
  const want = type.toLowerCase();
  const major = want.slice(0, want.indexOf('/'));
  for (const value of acceptValues) {
    for (const entry of value.split(',')) {
      const t = mediaTypeOf(entry);
      if (t === '') continue;
      // "q=0" means "not acceptable" (RFC 7231 §5.3.1, as SIP borrows it).
      if (/;\s*q\s*=\s*0(\.0{0,3})?\s*(;|$)/i.test(entry)) continue;
      if (t === want || t === '*/*' || t === major + '/*') return true;
    }
  }
  return false;
}
