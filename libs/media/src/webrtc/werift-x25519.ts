// werift's ECDHE over X25519 runs tweetnacl's pure-JavaScript scalar multiplication:
// about 0.6 ms of CPU per handshake (two multiplications), the largest single cost of a
// werift DTLS handshake in the gateway's profile. node:crypto has X25519 in OpenSSL, so
// the werift fallback path gets it here: tweetnacl's box.keyPair and scalarMult (the only
// two werift calls) are replaced on the module instance werift loads, with the same
// results (RFC 7748: both clamp the scalar; keys and shared secrets are 32 raw bytes).
import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

// Keys go in and out as JWK (RFC 8037 OKP), OpenSSL's raw-key path: importing PKCS#8 or
// SPKI DER goes through OpenSSL 3's decoders and costs more than the multiplication.

interface Nacl {
  scalarMult: ((n: Uint8Array, p: Uint8Array) => Uint8Array) & Record<string, unknown>;
  box: { keyPair: () => { publicKey: Uint8Array; secretKey: Uint8Array } };
}

/**
 * Private keys keyPair() made, by their bytes' ArrayBuffer: werift keeps a Buffer over the
 * same memory (Buffer.from(secretKey.buffer)) and hands it back to scalarMult.
 */
const privateKeys = new WeakMap<ArrayBufferLike, KeyObject>();
let tweetnaclScalarMult: Nacl['scalarMult'] | null = null;

function scalarMult(n: Uint8Array, p: Uint8Array): Uint8Array {
  const privateKey = privateKeys.get(n.buffer);
  // Not one of ours (never in werift's use): tweetnacl's own answer.
  if (privateKey === undefined || n.byteLength !== 32) return tweetnaclScalarMult!(n, p);
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64url') }, format: 'jwk' });
  // A fresh, exactly sized buffer: werift reads `.buffer` of what it gets.
  return new Uint8Array(diffieHellman({ privateKey, publicKey }));
}

function keyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const secretKey = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
  privateKeys.set(secretKey.buffer, privateKey);
  return { publicKey: new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url')), secretKey };
}

let installed = false;

/** Puts node:crypto's X25519 under werift (idempotent). */
export function installWeriftX25519(): void {
  if (installed) return;
  installed = true;
  // The tweetnacl instance werift itself requires (resolved from werift's location).
  const fromWerift = createRequire(createRequire(import.meta.url).resolve('werift'));
  const nacl = fromWerift('tweetnacl') as Nacl;
  tweetnaclScalarMult = nacl.scalarMult;
  // Its properties (scalarMult.base, lengths) stay: only the call is ours.
  nacl.scalarMult = Object.assign(scalarMult, nacl.scalarMult) as Nacl['scalarMult'];
  nacl.box.keyPair = keyPair;
}
