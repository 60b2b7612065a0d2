// Throwaway X.509 material for the TLS tests, made with the openssl CLI: a private CA
// and leaf certificates it signs (a trunk's client certificate, the gateway's server
// certificate, a renewed one), written as PEM files in a temporary directory.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'trapezoid-pki-'));
  readonly ca: Pem;
  private serial = 0;

  constructor() {
    this.ca = this.openssl('ca', ['req', '-x509', '-subj', '/CN=trapezoid test CA', '-days', '1',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  }

  /** A leaf certificate signed by the CA, for `cn` with DNS and IP subjectAltNames. */
  issue(cn: string, san: { dns?: string[]; ip?: string[] } = {}): Pem {
    const name = `leaf${++this.serial}`;
    const csr = join(this.dir, `${name}.csr`);
    const key = join(this.dir, `${name}.key`);
    const ext = join(this.dir, `${name}.ext`);
    const alt = [...(san.dns ?? []).map((d) => `DNS:${d}`), ...(san.ip ?? []).map((i) => `IP:${i}`)];
    execFileSync('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', alt.length > 0 ? `subjectAltName=${alt.join(',')}` : 'basicConstraints=CA:FALSE', ext]);
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr], { stdio: 'ignore' });
    const cert = join(this.dir, `${name}.pem`);
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', this.ca.certFile, '-CAkey', this.ca.keyFile,
      '-set_serial', String(1000 + this.serial), '-days', '1', '-extfile', ext, '-out', cert], { stdio: 'ignore' });
    return { certFile: cert, keyFile: key, cert: readFileSync(cert), key: readFileSync(key) };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private openssl(name: string, args: string[]): Pem {
    const key = join(this.dir, `${name}.key`);
    const cert = join(this.dir, `${name}.pem`);
    execFileSync('openssl', [...args, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', cert], { stdio: 'ignore' });
    return { certFile: cert, keyFile: key, cert: readFileSync(cert), key: readFileSync(key) };
  }
}
