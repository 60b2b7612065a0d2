// What makes the SDP's a=fingerprint mean something (RFC 8122 §5, RFC 5763 §5): the
// certificate must match it AND the peer must prove it holds that certificate's key.
// OpenSSL (the native path) checks the key during the handshake itself. werift's DTLS
// takes the peer's Certificate on trust (it neither checks the ServerKeyExchange
// signature as a client nor the CertificateVerify as a server), so for it both are
// checked here, from werift's handshake transcript, once it reports success.
import { X509Certificate, verify, constants } from 'node:crypto';
import type { DtlsSocket } from 'werift';
import { certificateFingerprint, sameFingerprint } from './certificate.js';

export interface RemoteFingerprint {
  algorithm: string;
  value: string;
}

const HASHES: Record<number, string> = { 2: 'sha1', 4: 'sha256', 5: 'sha384', 6: 'sha512' };

/** Null when the DER certificate is one the SDP's a=fingerprint lines name, else why not. */
export function fingerprintFault(der: Buffer | null | undefined, fingerprints: RemoteFingerprint[]): string | null {
  if (!der) return 'peer sent no certificate';
  for (const fp of fingerprints) {
    const actual = certificateFingerprint(der, fp.algorithm);
    if (actual !== null && sameFingerprint(actual, fp.value)) return null;
  }
  return 'certificate does not match a=fingerprint';
}

/** werift: null when the peer is who the SDP says it is, else the reason it is not. */
export function verifyPeer(socket: DtlsSocket, fingerprints: RemoteFingerprint[]): string | null {
  const der = socket.remoteCertificate;
  const fault = fingerprintFault(der, fingerprints);
  if (fault !== null) return fault;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der as Buffer);
  } catch {
    return 'peer certificate does not parse';
  }
  return socket.sessionType === 2 /* werift SessionType.SERVER */
    ? checkCertificateVerify(socket, cert)
    : checkServerKeyExchange(socket, cert);
}

function checkSignature(cert: X509Certificate, hash: number, sig: number, data: Buffer, signature: Buffer): boolean {
  const alg = HASHES[hash];
  if (alg === undefined || (sig !== 1 && sig !== 3)) return false;
  try {
    return verify(alg, data, sig === 1 ? { key: cert.publicKey, padding: constants.RSA_PKCS1_PADDING } : cert.publicKey, signature);
  } catch {
    return false;
  }
}

// RFC 5246 §7.4.8 with RFC 6347 §4.2.6: the client signs every handshake message before
// CertificateVerify, each with its 12-byte DTLS header, as if never fragmented.
function checkCertificateVerify(socket: DtlsSocket, cert: X509Certificate): string | null {
  const transcript = socket.dtls.sortedHandshakeCache;
  const at = transcript.findIndex((h) => h.msg_type === 15);
  if (at < 0) return 'peer sent no CertificateVerify';
  const cv = transcript[at]!.fragment;
  if (cv.length < 4) return 'CertificateVerify too short';
  const signed = Buffer.concat(transcript.slice(0, at).map((h) => h.serialize()));
  const sigLen = cv.readUInt16BE(2);
  return checkSignature(cert, cv[0]!, cv[1]!, signed, cv.subarray(4, 4 + sigLen)) ? null : 'CertificateVerify signature is wrong';
}

// RFC 4492 §5.4: the server signs client_random + server_random + ServerECDHParams.
function checkServerKeyExchange(socket: DtlsSocket, cert: X509Certificate): string | null {
  const ske = socket.dtls.sortedHandshakeCache.find((h) => h.msg_type === 12)?.fragment;
  if (!ske || ske.length < 4) return 'peer sent no ServerKeyExchange';
  const paramsLength = 4 + ske[3]!;
  if (ske.length < paramsLength + 4) return 'ServerKeyExchange too short';
  const signed = Buffer.concat([
    socket.cipher.localRandom.serialize(), socket.cipher.remoteRandom.serialize(), ske.subarray(0, paramsLength),
  ]);
  const sigLen = ske.readUInt16BE(paramsLength + 2);
  const ok = checkSignature(cert, ske[paramsLength]!, ske[paramsLength + 1]!, signed, ske.subarray(paramsLength + 4, paramsLength + 4 + sigLen));
  return ok ? null : 'ServerKeyExchange signature is wrong';
}
