// Which implementation runs what in this process, in words for the start-up log
// (`media-started`): forwarding in the native addon or the TypeScript path, DTLS on
// OpenSSL in the addon or werift, and why a fallback is in use.
import { versions } from 'node:process';
import { nativeUnavailableReason } from './native/binding.js';
import { dtlsImplementation } from './webrtc/dtls.js';

export interface MediaPaths {
  /** 'native' or 'typescript (<reason>)'. */
  forwarding: string;
  /** 'native (OpenSSL <version>)' or 'werift (<reason>)'. */
  dtls: string;
}

export function mediaPaths(opts: { native?: boolean; nativeDtls?: boolean } = {}): MediaPaths {
  const noAddon = nativeUnavailableReason();
  const forwarding = opts.native === false ? 'typescript (media.native is false)'
    : noAddon === null ? 'native' : `typescript (${noAddon})`;
  let dtls: string;
  if (dtlsImplementation(opts) === 'native') dtls = `native (OpenSSL ${versions.openssl})`;
  else if (opts.native === false) dtls = 'werift (media.native is false)';
  else if (noAddon !== null) dtls = `werift (${noAddon})`;
  else if (opts.nativeDtls === false) dtls = 'werift (media.nativeDtls is false)';
  else dtls = `werift (TRAPEZOID_MEDIA__NATIVE_DTLS=${process.env.TRAPEZOID_MEDIA__NATIVE_DTLS ?? ''})`;
  return { forwarding, dtls };
}
