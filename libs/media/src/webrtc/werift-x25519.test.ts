// werift's X25519 on node:crypto gives what tweetnacl's pure-JS scalar multiplication gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { installWeriftX25519 } from './werift-x25519.js';

interface Nacl {
  scalarMult: ((n: Uint8Array, p: Uint8Array) => Uint8Array) & { base: (n: Uint8Array) => Uint8Array };
  box: { keyPair: () => { publicKey: Uint8Array; secretKey: Uint8Array } };
}

test('key pairs and shared secrets match tweetnacl (RFC 7748), with the buffers werift reads', () => {
  const nacl = createRequire(createRequire(import.meta.url).resolve('werift'))('tweetnacl') as Nacl;
  const reference = nacl.scalarMult;
  installWeriftX25519();
  assert.notEqual(nacl.scalarMult, reference, 'installed on the instance werift uses');
  for (let i = 0; i < 5; i++) {
    const a = nacl.box.keyPair();
    const b = nacl.box.keyPair();
    // werift keeps Buffer.from(secretKey.buffer): exactly 32 bytes, the same memory.
    assert.equal(a.secretKey.buffer.byteLength, 32);
    assert.deepEqual(Buffer.from(a.publicKey), Buffer.from(reference.base(a.secretKey)), 'public key = base point times the secret');
    const ab = nacl.scalarMult(Buffer.from(a.secretKey.buffer), b.publicKey);
    const ba = nacl.scalarMult(Buffer.from(b.secretKey.buffer), a.publicKey);
    assert.deepEqual(Buffer.from(ab), Buffer.from(ba), 'both sides agree');
    assert.deepEqual(Buffer.from(ab), Buffer.from(reference(a.secretKey, b.publicKey)), 'the same secret as tweetnacl');
  }
});
