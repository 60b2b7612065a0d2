// Who may use the admin listener: whoever presents the token, as an `Authorization:
// Bearer` header (the CLI, Prometheus' bearer_token) or as the session cookie the
// /admin login form sets (a browser cannot add headers to a page load). Comparisons run
// in constant time on digests, so response timing says nothing about the token. The
// cookie holds an HMAC of the token, not the token; state-changing requests authenticated
// by cookie must also come from the admin page's own origin (no cross-site requests).

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'trapezoid_admin';

export class AdminAuth {
  private readonly tokenDigest: Buffer;
  private readonly session: string;

  constructor(readonly token: string) {
    this.tokenDigest = digest(token);
    this.session = createHmac('sha256', token).update('trapezoid admin session v1').digest('base64url');
  }

  /** The configured token, the token file's first line, or a fresh random token. */
  static fromConfig(c: { token?: string | undefined; tokenFile?: string | undefined }): { auth: AdminAuth; generated: boolean } {
    if (c.token !== undefined) return { auth: new AdminAuth(c.token), generated: false };
    if (c.tokenFile !== undefined) {
      let t: string;
      try {
        t = readFileSync(c.tokenFile, 'utf8').split(/\r?\n/)[0]!.trim();
      } catch (err) {
        throw new Error(`admin.tokenFile ${c.tokenFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      if (t.length < 16) throw new Error(`admin.tokenFile ${c.tokenFile}: the token must have at least 16 characters`);
      return { auth: new AdminAuth(t), generated: false };
    }
    return { auth: new AdminAuth(randomBytes(24).toString('base64url')), generated: true };
  }

  /** True if the presented secret is the token. */
  matches(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.tokenDigest);
  }

  /** Set-Cookie value for a browser that logged in with the token. */
  sessionCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
  }

  /**
   * How the request authenticated: 'bearer', 'cookie', or null. A cookie alone does not
   * authorize a state change from another origin.
   */
  check(req: IncomingMessage): 'bearer' | 'cookie' | null {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return m && this.matches(m[1]!) ? 'bearer' : null;
    }
    const cookie = (req.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    if (cookie === undefined) return null;
    const value = cookie.slice(SESSION_COOKIE.length + 1);
    if (!timingSafeEqual(digest(value), digest(this.session))) return null;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (!sameOrigin(req.headers.origin, req.headers.host)) return null;
    }
    return 'cookie';
  }
}

function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
