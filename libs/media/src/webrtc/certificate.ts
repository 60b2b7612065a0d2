// The DTLS certificate (RFC 8827 §6.5: self-signed, identified by its fingerprint in
// the SDP). One ECDSA P-256 certificate per process (per worker thread): generating
// one costs milliseconds and would otherwise sit on every call's setup path. Made by the
// native addon when it is built (so nothing loads werift), else by werift's helper.
import { X509Certificate, createHash } from 'node:crypto';
import { loadNativeBinding } from '../native/binding.js';

export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  /** RFC 8122 §5 fingerprint: uppercase hex pairs joined by ':'. */
  fingerprint: string;
  /** Hash function name of `fingerprint` as the SDP writes it. */
  fingerprintAlgorithm: 'sha-256';
}

let pending: Promise<DtlsCertificate> | null = null;

/**
 * Makes `pem` the process certificate (a cluster shares one, so the fingerprint in a
 * live call's SDP stays valid on whichever node carries the call). Call before any leg.
 */
export function useCertificate(pem: { certPem: string; keyPem: string }): DtlsCertificate {
  const cert = { certPem: pem.certPem, keyPem: pem.keyPem, fingerprint: new X509Certificate(pem.certPem).fingerprint256, fingerprintAlgorithm: 'sha-256' as const };
  pending = Promise.resolve(cert);
  return cert;
}

/** A fresh self-signed ECDSA P-256 certificate (RFC 8827 §6.5) as PEM. */
export async function generateCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const native = loadNativeBinding();
  if (native !== null) return native.dtlsCertificate();
  // werift's helper: SignatureAlgorithm.ecdsa_3, HashAlgorithm.sha256_4, secp256r1_23.
  const { CipherContext } = await import('werift');
  const { certPem, keyPem } = await CipherContext.createSelfSignedCertificateWithKey({ signature: 3, hash: 4 }, 23);
  return { certPem, keyPem };
}

/** The process certificate, generated on first use. */
export function getCertificate(): Promise<DtlsCertificate> {
  pending ??= (async () => {
    const { certPem, keyPem } = await generateCertificate();
    const fingerprint = new X509Certificate(certPem).fingerprint256;
    return { certPem, keyPem, fingerprint, fingerprintAlgorithm: 'sha-256' as const };
  })();
  return pending;
}

/** RFC 8122 §5 fingerprint of a DER certificate with the SDP's hash function name (sha-1, sha-256, ...). */
export function certificateFingerprint(der: Buffer, algorithm: string): string | null {
  const name = algorithm.toLowerCase().replace('-', '');
  let digest: Buffer;
  try {
    digest = createHash(name).update(der).digest();
  } catch {
    return null;
  }
  return digest.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/** Compares two fingerprint strings (case and separators are not significant). */
export function sameFingerprint(a: string, b: string): boolean {
  return a.replace(/:/g, '').toUpperCase() === b.replace(/:/g, '').toUpperCase();
}
