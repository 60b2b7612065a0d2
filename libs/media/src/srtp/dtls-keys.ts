// SRTP master keys from DTLS (RFC 5764 §4.2): the exporter label "EXTRACTOR-dtls_srtp"
// yields 2 * (key + salt) bytes laid out as client_write_SRTP_master_key,
// server_write_SRTP_master_key, client_write_SRTP_master_salt, server_write_SRTP_master_salt.
import { SRTP_MASTER_KEY_LENGTH, srtpMasterSaltLength, type SrtpKeys, type SrtpProfile } from './profile.js';

export const DTLS_SRTP_EXPORTER_LABEL = 'EXTRACTOR-dtls_srtp';

/** Bytes to export from DTLS for `profile`. */
export function dtlsSrtpKeyingMaterialLength(profile: SrtpProfile): number {
  return 2 * (SRTP_MASTER_KEY_LENGTH + srtpMasterSaltLength(profile));
}

/** `local` protects what this side sends: the client's write keys if it is the DTLS client. */
export function srtpKeysFromDtls(profile: SrtpProfile, keyingMaterial: Buffer, isClient: boolean): { local: SrtpKeys; remote: SrtpKeys } {
  const k = SRTP_MASTER_KEY_LENGTH;
  const s = srtpMasterSaltLength(profile);
  if (keyingMaterial.length < 2 * (k + s)) throw new Error(`${profile} needs ${2 * (k + s)} bytes of DTLS keying material`);
  const client: SrtpKeys = {
    masterKey: Buffer.from(keyingMaterial.subarray(0, k)),
    masterSalt: Buffer.from(keyingMaterial.subarray(2 * k, 2 * k + s)),
  };
  const server: SrtpKeys = {
    masterKey: Buffer.from(keyingMaterial.subarray(k, 2 * k)),
    masterSalt: Buffer.from(keyingMaterial.subarray(2 * k + s, 2 * k + 2 * s)),
  };
  return isClient ? { local: client, remote: server } : { local: server, remote: client };
}
