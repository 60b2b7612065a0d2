// HTTP side of the gateway: the demo softphone page, its runtime config, and the
// health endpoint that tests and orchestrators read (live calls, ports in use).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
};

export interface HttpOptions {
  address: string;
  port: number;
  /** Serve the demo softphone at `/`. */
  demo: boolean;
  /** What the softphone needs to know: WebSocket URL, SIP domain, demo credentials. */
  softphoneConfig: () => Record<string, unknown>;
  health: () => Record<string, unknown>;
}

export class HttpServer {
  private server: Server | null = null;

  constructor(private readonly opts: HttpOptions) {}

  async listen(): Promise<{ address: string; port: number }> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
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
    if (addr === null || typeof addr === 'string') throw new Error('http server has no address');
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
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/health') return json(res, this.opts.health());
    if (!this.opts.demo) {
      res.writeHead(404).end();
      return;
    }
    if (path === '/config.json') return json(res, this.opts.softphoneConfig());
    const file = path === '/' ? 'index.html' : normalize(path).replace(/^(\.\.[/\\])+/, '').replace(/^[/\\]+/, '');
    const full = join(PUBLIC_DIR, file);
    if (!full.startsWith(PUBLIC_DIR)) {
      res.writeHead(404).end();
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(full);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(full)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}
