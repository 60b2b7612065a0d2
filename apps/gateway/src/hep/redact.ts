// Secrets never leave the gateway in a capture, a log line or a call record. A SIP
// message carries three kinds: SRTP master keys in SDES `a=crypto` lines (RFC 4568
// §6.1: whoever has them can decrypt the call), credentials in Authorization and
// Proxy-Authorization (a digest response can be attacked offline, a Bearer token
// replayed) and in ICE's `a=ice-pwd` (it authenticates consent checks, RFC 8445 §7.2.2),
// and tokens that web apps put in URIs (`;token=`, `?access_token=`, `user:password@`).
// Each is replaced by a marker; everything else is kept byte for byte so a capture still
// reads as the message on the wire (Content-Length follows the body's new length).

export const REDACTED = '[redacted]';

/** URI and header parameter names whose values are credentials. */
const SECRET_PARAM = /([;?&](?:token|access_token|auth|auth_token|jwt|key|password|passwd|pwd|secret|sig|signature|credential|credentials)=)([^;?&\s>"',]+)/gi;
/** sip:user:password@host (RFC 3261 §19.1.1 allows it; §19.1.1 also says not to). */
const URI_PASSWORD = /((?:sips?|wss?|https?):[^:@\s<>;"]+:)([^@\s<>;"]+)(@)/gi;
/** a=crypto:<tag> <suite> inline:<key||salt>[|lifetime][|MKI:length] */
const SDES_KEY = /(a=crypto:\S+\s+\S+\s+inline:)([A-Za-z0-9+/=]+)/g;
const ICE_PWD = /^(a=ice-pwd:)(\S+)/gm;
/** Header names whose whole value after the scheme is a credential. */
const AUTH_HEADER = /^((?:Authorization|Proxy-Authorization|X-[A-Za-z-]*(?:Token|Secret|Password|Auth)[A-Za-z-]*)\s*:\s*)([^\r\n]*)/gim;

/** Quick test before any regular expression runs: most log strings hold none of these. */
const MAYBE_SECRET = /inline:|ice-pwd|authorization|token|secret|passw|pwd|jwt|sig|key=|auth|credential|:[^@\s]+@/i;

/** The value of an Authorization header kept readable: scheme, username and realm stay. */
function redactAuthValue(value: string): string {
  const scheme = /^\s*(\S+)/.exec(value)?.[1] ?? '';
  if (!/^digest$/i.test(scheme)) return `${scheme} ${REDACTED}`.trim();
  const keep = ['username', 'realm', 'uri', 'algorithm'].map((k) => new RegExp(`\\b${k}\\s*=\\s*("[^"]*"|[^,\\s]+)`, 'i').exec(value)?.[0]).filter(Boolean);
  return `${scheme} ${[...keep, `response=${REDACTED}`].join(', ')}`;
}

/** Secrets in any text: a SIP message, a header value, a URI, a log line. */
export function redactText(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  return text
    .replace(SDES_KEY, `$1${REDACTED}`)
    .replace(ICE_PWD, `$1${REDACTED}`)
    .replace(AUTH_HEADER, (_m, name: string, value: string) => name + (/^(proxy-)?authorization/i.test(name) ? redactAuthValue(value) : REDACTED))
    .replace(SECRET_PARAM, `$1${REDACTED}`)
    .replace(URI_PASSWORD, `$1${REDACTED}$3`);
}

/**
 * A whole SIP message (as bytes on the wire) with its secrets redacted. When the body
 * changed, Content-Length is rewritten to match so the capture still parses.
 */
export function redactSipMessage(data: Buffer): Buffer {
  const text = data.toString('utf8');
  if (!MAYBE_SECRET.test(text)) return data;
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) return Buffer.from(redactText(text), 'utf8');
  const head = redactText(text.slice(0, split));
  const body = text.slice(split + 4);
  const newBody = redactText(body);
  const headOut = newBody === body ? head
    : head.replace(/^(Content-Length|l)(\s*:\s*)\d+/im, (_m, name: string, sep: string) => `${name}${sep}${Buffer.byteLength(newBody, 'utf8')}`);
  return Buffer.from(`${headOut}\r\n\r\n${newBody}`, 'utf8');
}

/** Every string inside a plain value (a log line's fields, a call record), redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
