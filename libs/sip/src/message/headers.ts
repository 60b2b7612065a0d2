// Header storage for a SIP message. Field names are kept in their canonical
// lowercase long form (compact forms expanded, RFC 3261 §7.3.3) so lookups are
// one string compare; values are kept raw, in wire order, exactly as received
// (after line unfolding). Structured views (Via, CSeq, name-addr ...) are parsed
// on demand by the parser module, never eagerly: a proxy-like B2BUA touches only
// a handful of headers per message.

/** RFC 3261 §7.3.3 and later RFCs' compact forms -> long names (lowercase). */
export const COMPACT_FORMS: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  b: 'referred-by',
  x: 'session-expires',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
  y: 'identity',
  n: 'identity-info',
};

/** Canonical spellings used when serializing. Unknown headers are title-cased. */
const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'rack': 'RAck',
  'rseq': 'RSeq',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
  'p-asserted-identity': 'P-Asserted-Identity',
  'p-preferred-identity': 'P-Preferred-Identity',
};

const displayCache = new Map<string, string>();

/** Lowercase long name for any spelling of a header name. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) return COMPACT_FORMS[lower] ?? lower;
  return lower;
}

/** The spelling written on the wire for a canonical (lowercase) name. */
export function displayName(lower: string): string {
  const known = CANONICAL[lower];
  if (known) return known;
  let cached = displayCache.get(lower);
  if (cached === undefined) {
    cached = lower.replace(/(^|-)([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
    if (displayCache.size < 4096) displayCache.set(lower, cached);
  }
  return cached;
}

/**
 * Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1), so several
 * values may share one field line. Headers not listed here (Date, WWW-Authenticate,
 * Authorization, unknown extension headers ...) are never split: their values may
 * contain commas.
 */
const LIST_HEADERS = new Set([
  'via', 'route', 'record-route', 'contact', 'allow', 'supported', 'require',
  'proxy-require', 'unsupported', 'accept', 'accept-encoding', 'accept-language',
  'content-encoding', 'content-language', 'allow-events', 'path', 'service-route',
  'in-reply-to', 'alert-info', 'call-info', 'error-info', 'reason', 'p-asserted-identity',
  'security-client', 'security-server', 'security-verify', 'history-info', 'accept-contact',
  'reject-contact', 'request-disposition',
]);

export function isListHeader(lower: string): boolean {
  return LIST_HEADERS.has(lower);
}

/**
 * Split a header value at commas that are not inside a quoted string or <...>.
 * Used for list headers only.
 */
export function splitList(value: string): string[] {
  if (value.indexOf(',') === -1) return [value.trim()];
  const out: string[] = [];
  let depthAngle = 0;
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (inQuote) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inQuote = false;
    } else if (ch === 0x22) inQuote = true;
    else if (ch === 0x3c /* < */) depthAngle++;
    else if (ch === 0x3e /* > */) { if (depthAngle > 0) depthAngle--; }
    else if (ch === 0x2c /* , */ && depthAngle === 0) {
      const part = value.slice(start, i).trim();
      if (part.length > 0) out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}

/** Ordered multimap of header fields. */
export class Headers {
  /** [canonical lowercase name, raw value] in wire order. */
  private readonly fields: Array<[string, string]> = [];

  /** Appends a field line as received or to be sent. */
  append(name: string, value: string): this {
    this.fields.push([canonicalName(name), value]);
    return this;
  }

  /** Inserts a field before all others of the same name (e.g. a new top Via). */
  prepend(name: string, value: string): this {
    const lower = canonicalName(name);
    const idx = this.fields.findIndex((f) => f[0] === lower);
    if (idx === -1) this.fields.push([lower, value]);
    else this.fields.splice(idx, 0, [lower, value]);
    return this;
  }

  /** Replaces every field of this name by one field holding `value`. */
  set(name: string, value: string): this {
    const lower = canonicalName(name);
    const idx = this.fields.findIndex((f) => f[0] === lower);
    if (idx === -1) {
      this.fields.push([lower, value]);
      return this;
    }
    this.fields[idx] = [lower, value];
    for (let i = this.fields.length - 1; i > idx; i--) if (this.fields[i]![0] === lower) this.fields.splice(i, 1);
    return this;
  }

  delete(name: string): this {
    const lower = canonicalName(name);
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i]![0] === lower) this.fields.splice(i, 1);
    return this;
  }

  has(name: string): boolean {
    const lower = canonicalName(name);
    for (const f of this.fields) if (f[0] === lower) return true;
    return false;
  }

  /** The first field line's raw value (for list headers: the whole first line). */
  getRaw(name: string): string | undefined {
    const lower = canonicalName(name);
    for (const f of this.fields) if (f[0] === lower) return f[1];
    return undefined;
  }

  /**
   * The first value: for list headers the first element of the list, otherwise the
   * first field line.
   */
  get(name: string): string | undefined {
    const lower = canonicalName(name);
    for (const f of this.fields) {
      if (f[0] !== lower) continue;
      return LIST_HEADERS.has(lower) ? splitList(f[1])[0] : f[1];
    }
    return undefined;
  }

  /** Every value, list headers split at top-level commas, in wire order. */
  getAll(name: string): string[] {
    const lower = canonicalName(name);
    const out: string[] = [];
    const isList = LIST_HEADERS.has(lower);
    for (const f of this.fields) {
      if (f[0] !== lower) continue;
      if (isList) for (const v of splitList(f[1])) out.push(v);
      else out.push(f[1]);
    }
    return out;
  }

  /** Number of field lines (not list elements) with this name. */
  countLines(name: string): number {
    const lower = canonicalName(name);
    let n = 0;
    for (const f of this.fields) if (f[0] === lower) n++;
    return n;
  }

  /** All field lines as [lowercase name, raw value], in order. Do not mutate. */
  lines(): ReadonlyArray<readonly [string, string]> {
    return this.fields;
  }

  get size(): number {
    return this.fields.length;
  }

  clone(): Headers {
    const h = new Headers();
    for (const f of this.fields) h.fields.push([f[0], f[1]]);
    return h;
  }
}
