// Shared by the *.test.ts files: testdata access and our fixed local parameters.
// Not exported from index.ts.

import { readFileSync } from 'node:fs';
import sdpTransform from 'sdp-transform';
import type { SessionDescription } from 'sdp-transform';
import type { IceDtlsParams, MediaEndpoint } from './types.js';

const TESTDATA = new URL('../testdata/', import.meta.url);

export function testdata(name: string): string {
  return readFileSync(new URL(name, TESTDATA), 'utf8');
}

export const ICE: IceDtlsParams = {
  ufrag: 'tRpZ',
  pwd: 'trapezoidIceLitePassword22',
  fingerprint: {
    algorithm: 'sha-256',
    value: '10:17:1E:25:2C:33:3A:41:48:4F:56:5D:64:6B:72:79:80:87:8E:95:9C:A3:AA:B1:B8:BF:C6:CD:D4:DB:E2:E9',
  },
};

export const WEBRTC_LOCAL: MediaEndpoint = { address: '127.0.0.1', port: 40000 };
export const TRUNK_LOCAL: MediaEndpoint = { address: '127.0.0.2', port: 30000 };

/** Re-parse what we wrote with sdp-transform, as a peer would. */
export function reparse(sdp: string): SessionDescription {
  if (!sdp.endsWith('\r\n')) throw new Error('SDP must end with CRLF');
  return sdpTransform.parse(sdp);
}

/** Every attribute line (`a=...`) of one m-line section, raw, for exact assertions. */
export function attrs(sdp: string, mIndex = 0): string[] {
  const sections = sdp.split(/\r\n(?=m=)/);
  return (sections[mIndex + 1] ?? '').split('\r\n').filter((l) => l.startsWith('a='));
}

export function sessionAttrs(sdp: string): string[] {
  return (sdp.split(/\r\n(?=m=)/)[0] ?? '').split('\r\n').filter((l) => l.startsWith('a='));
}

/** Value of the first `a=<name>:` line, read with a plain regex (independent of sdp-transform). */
export function rawAttr(sdp: string, name: string): string {
  const m = new RegExp(`^a=${name}:(.*)$`, 'm').exec(sdp.replace(/\r/g, ''));
  if (!m) throw new Error(`no a=${name} in testdata`);
  return m[1] as string;
}

/** The raw a=candidate lines split into their fields (RFC 8839 §5.1 grammar). */
export function rawCandidates(sdp: string): string[][] {
  return sdp.replace(/\r/g, '').split('\n').filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(12).split(' '));
}
