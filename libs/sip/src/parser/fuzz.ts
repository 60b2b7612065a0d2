// Mutation fuzzing of the parsers, shared by fuzz.test.ts (a bounded run in CI)
// and scripts/fuzz-sip-parser.mjs (long runs). The property: every entry point
// either returns or throws SipParseError (validators: SipError), a parsed message
// re-parses after serialization, and no call is slow (no quadratic scanning or
// regular-expression backtracking).

import { SipError } from '../message/message.js';
import { SipRequest } from '../message/message.js';
import { SipParseError } from './errors.js';
import { frameLength } from './framing.js';
import { skipLeadingCrlf } from './limits.js';
import { parseMessage } from './message-parser.js';
import { parseNameAddr, tagOf } from './name-addr.js';
import { parseCSeq } from './cseq.js';
import { parseParams } from './params.js';
import { formatUri, parseUri, uriEquals } from './uri.js';
import { formatVia, parseVia } from './via.js';
import { validateRequest, validateResponse } from './validate.js';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = ['"', '<', '>', ';', ',', '%', '\r\n', ' ', '\t', ':', '[', ']', '\0', '\\', '=', '?', '@', '/', '\r\n ', '%0', '\u00e9', '\n', '\r'];

/** One random mutation of `src` (or of a splice of two seeds). */
export function mutate(src: Buffer, seeds: readonly Buffer[], rnd: () => number): Buffer {
  const pick = (n: number): number => Math.floor(rnd() * n);
  const at = pick(src.length + 1);
  switch (pick(10)) {
    case 0: { // byte flips
      const out = Buffer.from(src);
      for (let k = 1 + pick(4); k > 0 && out.length > 0; k--) out[pick(out.length)] = pick(256);
      return out;
    }
    case 1: // truncation
      return src.subarray(0, at);
    case 2: { // duplicate a slice in place
      const len = pick(Math.min(200, src.length - at) + 1);
      return Buffer.concat([src.subarray(0, at + len), src.subarray(at, at + len), src.subarray(at + len)]);
    }
    case 3: { // splice lines: swap two, duplicate one, or bring one in from another seed
      const lines = src.toString('latin1').split('\r\n');
      const other = seeds[pick(seeds.length)]!.toString('latin1').split('\r\n');
      const i = pick(lines.length);
      const j = pick(lines.length);
      const mode = pick(3);
      if (mode === 0) [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      else if (mode === 1) lines.splice(i, 0, lines[j]!);
      else lines.splice(i, 0, other[pick(other.length)]!);
      return Buffer.from(lines.join('\r\n'), 'latin1');
    }
    case 4: { // insert a grammar-significant character
      const ins = Buffer.from(SPECIAL[pick(SPECIAL.length)]!, 'utf8');
      return Buffer.concat([src.subarray(0, at), ins, src.subarray(at)]);
    }
    case 5: { // delete a range
      const len = pick(40);
      return Buffer.concat([src.subarray(0, at), src.subarray(at + len)]);
    }
    case 6: { // a long run of one character: catches quadratic scans and backtracking
      const ch = SPECIAL[pick(SPECIAL.length)]!.slice(0, 1) || ';';
      const run = Buffer.from(ch.repeat(1000 + pick(20000)), 'latin1');
      return Buffer.concat([src.subarray(0, at), run, src.subarray(at)]);
    }
    case 7: { // change a Content-Length value
      const text = src.toString('latin1');
      const values = ['-1', '0', '99999', '1', 'x', '4294967296', '', '00012', '5 5'];
      return Buffer.from(text.replace(/(Content-Length|l) *: *[0-9]*/i, '$1: ' + values[pick(values.length)]), 'latin1');
    }
    case 8: { // splice two seeds at random points
      const other = seeds[pick(seeds.length)]!;
      return Buffer.concat([src.subarray(0, at), other.subarray(pick(other.length + 1))]);
    }
    default: { // bit flips
      const out = Buffer.from(src);
      for (let k = 1 + pick(8); k > 0 && out.length > 0; k--) out[pick(out.length)] ^= 1 << pick(8);
      return out;
    }
  }
}

/** Calls slower than this are re-timed before being believed. */
const SLOW_RETRY_MS = 5;

export interface FuzzStats {
  iterations: number;
  calls: number;
  parsed: number;
  rejected: number;
  slowestMs: number;
  slowestWhat: string;
  slowestInput?: Buffer;
}

export class FuzzFailure extends Error {
  constructor(message: string, readonly input: Buffer, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface FuzzOptions {
  /** Mutations applied to each picked seed: default 1-3 at random; 0 replays the seeds as they are. */
  mutations?: number;
}

/** Runs `iterations` mutations from `seeds`; throws FuzzFailure on the first property violated. */
export function fuzzParsers(seeds: readonly Buffer[], iterations: number, seed = 1, stats?: FuzzStats, opts: FuzzOptions = {}): FuzzStats {
  const rnd = prng(seed);
  const st: FuzzStats = stats ?? { iterations: 0, calls: 0, parsed: 0, rejected: 0, slowestMs: 0, slowestWhat: '' };
  let input: Buffer = Buffer.alloc(0);
  let slowestInput: Buffer = st.slowestInput ?? input;
  const timed = (fn: () => unknown): number => {
    const t0 = performance.now();
    try {
      fn();
    } catch {
      // only the time matters here
    }
    return performance.now() - t0;
  };
  const call = (what: string, fn: () => unknown, allowed: abstract new (...args: never[]) => Error = SipParseError): unknown => {
    st.calls++;
    const t0 = performance.now();
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof allowed)) throw new FuzzFailure(`${what} threw ${String(e)}`, input, { cause: e });
      st.rejected++;
      return undefined;
    } finally {
      let ms = performance.now() - t0;
      // A garbage collection or a busy machine can stall any call; a pathological
      // input is slow every time, so a slow call is timed again and the best kept.
      for (let r = 0; r < 3 && ms > SLOW_RETRY_MS; r++) ms = Math.min(ms, timed(fn));
      if (ms > st.slowestMs) {
        st.slowestMs = ms;
        st.slowestWhat = what;
        slowestInput = input;
      }
    }
  };
  for (let n = 0; n < iterations; n++) {
    st.iterations++;
    let cur = seeds[Math.floor(rnd() * seeds.length)]!;
    for (let k = opts.mutations ?? 1 + Math.floor(rnd() * 3); k > 0; k--) cur = mutate(cur, seeds, rnd);
    input = cur;
    const framed = call('frameLength', () => frameLength(cur)) as number | undefined;
    if (framed) {
      // Framing and parsing must agree on Content-Length: a frame never parses as truncated.
      const frame = cur.subarray(0, framed);
      const fm = call('parseMessage', () => parseMessage(frame, { maxMessageBytes: 1 << 17 })) as ReturnType<typeof parseMessage> | undefined;
      if (fm && framed - frame.indexOf('\r\n\r\n', skipLeadingCrlf(frame)) - 4 !== fm.body.length) throw new FuzzFailure('frameLength and parseMessage disagree on the body', cur);
      try {
        parseMessage(frame, { maxMessageBytes: 1 << 17 });
      } catch (e) {
        if (e instanceof SipParseError && /exceeds body/.test(e.reason)) throw new FuzzFailure('a framed message parsed as truncated', cur);
      }
    }
    const m = call('parseMessage', () => parseMessage(cur, { maxMessageBytes: 1 << 17 })) as ReturnType<typeof parseMessage> | undefined;
    // Every line also goes to the header parsers, so they see garbage that parseMessage would have stopped.
    const text = cur.toString('utf8');
    const lines = text.split('\r\n');
    for (let k = 0; k < 3; k++) {
      const line = lines[Math.floor(rnd() * lines.length)]!;
      const value = line.slice(line.indexOf(':') + 1).trim();
      call('parseUri', () => {
        const u = parseUri(value);
        // formatting and comparing what parsed must work too
        if (!uriEquals(parseUri(formatUri(u)), u)) throw new Error('URI changed in a format round trip: ' + value);
      });
      call('parseVia', () => parseVia(formatVia(parseVia(value))));
      call('parseNameAddr', () => parseNameAddr(value));
      call('tagOf', () => tagOf(value));
      call('parseCSeq', () => parseCSeq(value));
      call('parseParams', () => parseParams(value));
    }
    if (!m) continue;
    st.parsed++;
    call('validate', () => (m instanceof SipRequest ? validateRequest(m) : validateResponse(m)), SipError);
    const again = call('re-parse', () => parseMessage(m.toBuffer(), { maxMessageBytes: 1 << 18 }));
    if (!again) throw new FuzzFailure('a parsed message did not re-parse after serialization', cur);
    for (const v of m.headers.getAll('via')) call('parseVia', () => parseVia(v));
    for (const v of m.headers.getAll('contact')) call('parseNameAddr', () => parseUri(parseNameAddr(v).uri));
    if (m instanceof SipRequest) call('parseUri', () => parseUri(m.uri));
  }
  st.slowestInput = slowestInput;
  return st;
}
