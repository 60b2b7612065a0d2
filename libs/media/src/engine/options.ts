// What a MediaEngine is started with, and what it reports when a worker is lost.

import type { CertificatePem } from './protocol.js';

export interface MediaEngineOptions {
  /** Worker threads; default one per core (os.availableParallelism()). */
  workers?: number;
  /** Media port range shared out between workers, inclusive; default 20000-29999. */
  portMin?: number;
  portMax?: number;
  /** Address media sockets bind to and advertise; default 127.0.0.1. */
  address?: string;
  /** Start a replacement worker on the same port slice after a crash; default true. */
  respawn?: boolean;
  /** Milliseconds a worker may take to answer one request; default 5000. */
  requestTimeoutMs?: number;
  /**
   * Forward settled RTP in the native addon (libs/media/native) when it is built; default
   * true. false keeps every packet on the TypeScript path (dgram sockets) and DTLS on werift.
   */
  native?: boolean;
  /** DTLS handshakes on OpenSSL in the addon when `native` holds; default true. false = werift. */
  nativeDtls?: boolean;
  /** The DTLS certificate every worker uses (a cluster shares one); default: each worker makes its own. */
  certificate?: CertificatePem;
  /**
   * Legs of each shape every worker keeps pre-bound, so createBridge answers without a
   * round trip to a worker (engine/prebound.ts); default 4, 0 = off. Their ports are not
   * in portsInUse (see portsPrebound).
   */
  prebound?: number;
}

/** Emitted as 'bridgesLost' when a worker dies with bridges on it. */
export interface BridgesLost {
  worker: number;
  ids: string[];
  reason: string;
}
