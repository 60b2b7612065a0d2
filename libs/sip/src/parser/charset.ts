// Character classes of the RFC 3261 §25.1 grammar as lookup tables, so the
// parsers test a character with one array read instead of a regular expression
// (no backtracking, no per-call allocation).

function table(chars: string, ranges: Array<[number, number]> = []): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) t[c] = 1;
  return t;
}

const ALNUM: Array<[number, number]> = [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);
/** unreserved = alphanum / mark */
export const UNRESERVED = table("-_.!~*'()", ALNUM);
/** user = 1*( unreserved / escaped / user-unreserved ) */
export const USER = table("-_.!~*'()&=+$,;?/", ALNUM);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table("-_.!~*'()&=+$,", ALNUM);
/** paramchar = param-unreserved / unreserved / escaped */
export const PARAMCHAR = table("-_.!~*'()[]/:&+$", ALNUM);
/** hname / hvalue = 1*( hnv-unreserved / unreserved / escaped ) */
export const HNV = table("-_.!~*'()[]/?:+$", ALNUM);
/** hostname characters; "_" is tolerated because real deployments use it. */
export const HOSTCHAR = table('-._', ALNUM);
/** uric (RFC 2396) for opaque parts of absolute URIs, plus "#" and "%" */
export const URIC = table(";/?:@&=+$,-_.!~*'()%#[]", ALNUM);

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] === 0) return false;
  }
  return true;
}

export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * True if every character of s[from, to) is in the class or is a well-formed
 * escape (%HH). Used for the URI parts whose grammar allows `escaped`.
 */
export function allIn(s: string, from: number, to: number, cls: Uint8Array): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= to) return false;
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (c >= 128 || cls[c] === 0) return false;
  }
  return true;
}

/** SP or HTAB (the WSP of RFC 5234); CR/LF never survive header unfolding. */
export function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
