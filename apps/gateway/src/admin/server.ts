// The admin listener: its own HTTP server, on its own address (loopback by default),
// never the public one. /healthz (alive) and /readyz (ready, or 503 while draining) answer
// anyone, so orchestrators can probe without a secret; every other path, known or not,
// answers 401 without the token and reveals nothing, not even whether it exists.
//
//   GET  /metrics                      Prometheus text format
//   GET  /api/v1/calls                 live calls: both legs, states, media health
//   GET  /api/v1/calls/:id             one call
//   POST /api/v1/calls/:id/hangup      BYE both legs (DELETE /api/v1/calls/:id too)
//   GET  /api/v1/registrations         registered agents' contacts
//   GET  /api/v1/trunks                configured trunks and their state
//   POST /api/v1/drain                 stop taking calls, exit once the live ones end
//   GET  /admin                        the live calls page (login form without a session)

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminAuth } from './auth.js';
import type { CallView, RegistrationView, TrunkView } from './views.js';

// Outside public/: the public listener's static files must not include the admin page.
const ADMIN_DIR = fileURLToPath(new URL('../../admin-page/', import.meta.url));
const PAGE_FILES: Record<string, [file: string, type: string]> = {
  '/admin': ['index.html', 'text/html; charset=utf-8'],
  '/admin/': ['index.html', 'text/html; charset=utf-8'],
  '/admin/admin.js': ['admin.js', 'text/javascript; charset=utf-8'],
  '/admin/admin.css': ['admin.css', 'text/css; charset=utf-8'],
};

export type Readiness = 'starting' | 'ready' | 'draining';

export interface DrainStatus {
  status: 'draining';
  liveCalls: number;
  /** When whatever is still live then will be ended. */
  deadline: string;
}

/** What the admin routes read and do; the gateway implements it. */
export interface AdminBackend {
  readiness(): Readiness;
  metrics(): Promise<{ contentType: string; text: string }>;
  calls(): CallView[];
  call(id: string): CallView | undefined;
  /** Hangs a call up; false if there is no such live call. */
  hangup(id: string): Promise<boolean>;
  registrations(): RegistrationView[];
  trunks(): TrunkView[];
  drain(): DrainStatus;
}

export interface AdminServerOptions {
  address: string;
  port: number;
  auth: AdminAuth;
  backend: AdminBackend;
}

export class AdminServer {
  private server: Server | null = null;

  constructor(private readonly opts: AdminServerOptions) {}

  async listen(): Promise<{ address: string; port: number }> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) json(res, 500, { error: 'internal error', detail: String(err) });
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('admin server has no address');
    return { address: addr.address, port: addr.port };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const b = this.opts.backend;
    // Probes: no token, no data beyond the verdict.
    if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) return json(res, 200, { status: 'alive' });
    if (path === '/readyz' && (method === 'GET' || method === 'HEAD')) {
      const r = b.readiness();
      return json(res, r === 'ready' ? 200 : 503, { status: r });
    }
    if (path === '/admin/login' && method === 'POST') return this.login(req, res);
    const how = this.opts.auth.check(req);
    if (how === null) {
      // A browser opening the page gets the login form; anything else a bare 401.
      if ((path === '/admin' || path === '/admin/') && method === 'GET' && (req.headers.accept ?? '').includes('text/html')) {
        return send(res, 401, 'text/html; charset=utf-8', LOGIN_PAGE, { 'www-authenticate': 'Bearer realm="trapezoid admin"' });
      }
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="trapezoid admin"', 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: 'unauthorized: send Authorization: Bearer <admin token>' }));
      return;
    }
    const page = PAGE_FILES[path];
    if (page && method === 'GET') return send(res, 200, page[1], await readFile(join(ADMIN_DIR, page[0])));
    if (path === '/metrics' && method === 'GET') {
      const m = await b.metrics();
      return send(res, 200, m.contentType, m.text);
    }
    if (path === '/api/v1/calls' && method === 'GET') return json(res, 200, { calls: b.calls() });
    const callMatch = /^\/api\/v1\/calls\/([^/]+)(\/hangup)?$/.exec(path);
    if (callMatch) {
      const id = decodeURIComponent(callMatch[1]!);
      if (!callMatch[2] && method === 'GET') {
        const view = b.call(id);
        return view ? json(res, 200, view) : json(res, 404, { error: `no live call ${id}` });
      }
      if ((callMatch[2] && method === 'POST') || (!callMatch[2] && method === 'DELETE')) {
        return (await b.hangup(id)) ? json(res, 200, { id, status: 'hung up' }) : json(res, 404, { error: `no live call ${id}` });
      }
      return json(res, 405, { error: `${method} not allowed on ${path}` });
    }
    if (path === '/api/v1/registrations' && method === 'GET') return json(res, 200, { registrations: b.registrations() });
    if (path === '/api/v1/trunks' && method === 'GET') return json(res, 200, { trunks: b.trunks() });
    if (path === '/api/v1/drain' && method === 'POST') return json(res, 202, b.drain());
    return json(res, 404, { error: `no route ${method} ${path}` });
  }

  /** The login form: a correct token sets the session cookie and opens the page. */
  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) {
      body += String(chunk);
      if (body.length > 4096) return json(res, 413, { error: 'login form too large' });
    }
    const token = new URLSearchParams(body).get('token') ?? '';
    if (!this.opts.auth.matches(token)) {
      // Half a second per wrong guess: guessing a 16+ character token stays hopeless.
      await new Promise((r) => setTimeout(r, 500));
      return send(res, 401, 'text/html; charset=utf-8', LOGIN_PAGE.replace('<!--error-->', '<p class="error">Wrong token.</p>'));
    }
    res.writeHead(303, { location: '/admin', 'set-cookie': this.opts.auth.sessionCookie(false), 'cache-control': 'no-store' });
    res.end();
  }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
}

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trapezoid admin: sign in</title>
<style>body{font:15px/1.4 system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}input{font:inherit;width:100%;padding:.4rem;margin:.4rem 0}.error{color:#b00}</style></head>
<body><h1>trapezoid admin</h1><!--error-->
<form method="post" action="/admin/login"><label>Admin token <input id="token" name="token" type="password" autocomplete="off" autofocus></label>
<button id="login" type="submit">Sign in</button></form></body></html>
`;
