// Certificate renewal without a restart (issue 8 item 10): the files of a tls or wss
// listener are watched, and when they change the new certificate and key are checked
// and handed to the listening point, which presents them to every connection it
// accepts from then on (open connections keep theirs). A renewal tool writes the
// certificate and the key one after the other, so a change is acted on after a short
// pause; a file that does not parse, or a key that does not match its certificate,
// keeps the old context and logs an error naming the file.
//
// The files are polled (fs.watchFile: stat every second) rather than watched with
// inotify: certbot and friends replace files by rename or by moving a symlink, which a
// watch on the old inode would miss.

import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { TlsListenOptions } from '@trapezoid/sip';
import type { Logger } from '../logging.js';

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string | undefined;
}

/** A certificate set that cannot be used, naming the file at fault. */
export class TlsFilesError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'TlsFilesError';
  }
}

/** Reads and checks a listener's files; throws TlsFilesError naming the file at fault. */
export function loadTlsFiles(files: TlsFiles): TlsListenOptions & { notAfter: string } {
  const read = (file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsFilesError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  const cert = read(files.cert);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsFilesError(files.cert, 'not a PEM certificate');
  }
  const key = read(files.key);
  try {
    createPrivateKey(key);
  } catch {
    throw new TlsFilesError(files.key, 'not a PEM private key');
  }
  if (!x509.checkPrivateKey(createPrivateKey(key))) throw new TlsFilesError(files.key, `does not match the certificate in ${files.cert}`);
  const ca = files.ca !== undefined ? read(files.ca) : undefined;
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new TlsFilesError(ca && files.ca ? files.ca : files.cert, err instanceof Error ? err.message : String(err));
  }
  return { cert, key, ...(ca ? { ca } : {}), notAfter: x509.validTo };
}

/** Seconds between stats of the watched files. */
const POLL_MS = 1000;
/** How long after the last change the files are read (a renewal writes several). */
const SETTLE_MS = 300;

export class CertificateWatcher {
  private timer: NodeJS.Timeout | null = null;
  private readonly paths: string[];
  private readonly onChange = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs === prev.mtimeMs && cur.ino === prev.ino && cur.size === prev.size) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), SETTLE_MS);
    this.timer.unref();
  };

  /** `apply` gets the new, checked certificate set; `listener` names it in the log. */
  constructor(
    private readonly files: TlsFiles,
    private readonly apply: (tls: TlsListenOptions) => void,
    private readonly listener: string,
    private readonly log: Logger,
  ) {
    this.paths = [files.cert, files.key, ...(files.ca !== undefined ? [files.ca] : [])];
    for (const p of this.paths) watchFile(p, { interval: POLL_MS, persistent: false }, this.onChange);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.paths) unwatchFile(p, this.onChange);
  }

  private reload(): void {
    this.timer = null;
    let loaded: ReturnType<typeof loadTlsFiles>;
    try {
      loaded = loadTlsFiles(this.files);
      this.apply(loaded);
    } catch (err) {
      this.log.error('TLS certificate not reloaded: keeping the current one', {
        event: 'tls-reload-failed', listener: this.listener, file: err instanceof TlsFilesError ? err.file : this.files.cert,
        error: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    this.log.info('TLS certificate reloaded', { event: 'tls-reloaded', listener: this.listener, cert: this.files.cert, notAfter: loaded.notAfter });
  }
}
