// The CLI's admin API commands: where the API is and its token come from the flags, the
// environment or the gateway's own configuration file; each command is one or two
// requests and a table (or the API's JSON with --json). Exit codes say what went wrong.

import { readFileSync } from 'node:fs';
import { EXIT, type CliArgs } from './args.js';

interface Target {
  url: string;
  token: string | undefined;
}

export class CliFailure extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

/** Flags first, then TRAPEZOID_ADMIN_URL/TOKEN, then the config file's admin section. */
export async function resolveTarget(args: CliArgs, env: NodeJS.ProcessEnv): Promise<Target> {
  let url = args.url ?? env.TRAPEZOID_ADMIN_URL;
  let token = args.token ?? env.TRAPEZOID_ADMIN_TOKEN;
  const path = args.config ?? env.TRAPEZOID_CONFIG;
  if ((url === undefined || token === undefined) && path) {
    // Only then: the schema and what it imports cost a second of start-up.
    const { loadConfig } = await import('../config/index.js');
    const c = loadConfig({ path, env }).admin;
    const host = c.address === '0.0.0.0' ? '127.0.0.1' : c.address === '::' ? '::1' : c.address;
    url ??= `http://${host.includes(':') ? `[${host}]` : host}:${c.port}`;
    token ??= c.token ?? (c.tokenFile ? readFileSync(c.tokenFile, 'utf8').split(/\r?\n/)[0]!.trim() : undefined);
  }
  return { url: (url ?? 'http://127.0.0.1:8089').replace(/\/+$/, ''), token };
}

async function api(t: Target, method: string, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${t.url}${path}`, {
      method, headers: t.token ? { authorization: `Bearer ${t.token}` } : {}, signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const e = err as { cause?: { code?: string; message?: string }; message?: string };
    throw new CliFailure(`cannot reach the admin API at ${t.url}: ${e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)}`, EXIT.unreachable);
  }
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  if (res.status === 401) throw new CliFailure(`the admin API refused the token (401): set --token or TRAPEZOID_ADMIN_TOKEN`, EXIT.unauthorized);
  if (!res.ok) throw new CliFailure(`${method} ${path}: ${res.status} ${(body as { error?: string })?.error ?? text}`, EXIT.failed);
  return body;
}

/** Columns padded to their widest cell. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

interface CallRow {
  id: string; direction: string; state: string; from: string; to: string; trunk?: string; durationSeconds: number;
  media: { health: string; silent: { leg: string; direction: string }[]; directions: Record<string, { packets: number }> };
}

export async function runApiCommand(args: CliArgs, env: NodeJS.ProcessEnv, out: (s: string) => void): Promise<number> {
  const t = await resolveTarget(args, env);
  switch (args.command) {
    case 'calls': {
      const { calls } = (await api(t, 'GET', '/api/v1/calls')) as { calls: CallRow[] };
      if (args.json) out(JSON.stringify(calls, null, 2));
      else if (calls.length === 0) out('no live calls');
      else {
        out(table(['ID', 'DIR', 'STATE', 'FROM', 'TO', 'TRUNK', 'DURATION', 'MEDIA', 'PACKETS b->g g->t t->g g->b'], calls.map((c) => [
          c.id, c.direction, c.state, c.from, c.to, c.trunk ?? '-', `${c.durationSeconds.toFixed(1)}s`,
          c.media.health + (c.media.silent.length ? ` (${c.media.silent.map((s) => `${s.direction} silent`).join(', ')})` : ''),
          ['browser->gateway', 'gateway->trunk', 'trunk->gateway', 'gateway->browser'].map((d) => String(c.media.directions[d]?.packets ?? 0)).join(' '),
        ])));
      }
      return EXIT.ok;
    }
    case 'hangup': {
      const wanted = args.positional[0]!;
      const { calls } = (await api(t, 'GET', '/api/v1/calls')) as { calls: CallRow[] };
      const matches = calls.filter((c) => c.id === wanted || c.id.startsWith(wanted));
      const exact = matches.find((c) => c.id === wanted);
      if (!exact && matches.length > 1) throw new CliFailure(`${wanted} matches ${matches.length} calls: give more of the id`, EXIT.failed);
      const id = exact?.id ?? matches[0]?.id;
      if (!id) throw new CliFailure(`no live call ${wanted}`, EXIT.failed);
      const r = await api(t, 'POST', `/api/v1/calls/${encodeURIComponent(id)}/hangup`);
      out(args.json ? JSON.stringify(r) : `hung up ${id}`);
      return EXIT.ok;
    }
    case 'registrations': {
      const { registrations } = (await api(t, 'GET', '/api/v1/registrations')) as { registrations: { aor: string; contact: string; transport: string; source: string; expiresInSeconds: number }[] };
      if (args.json) out(JSON.stringify(registrations, null, 2));
      else if (registrations.length === 0) out('no registrations');
      else out(table(['AOR', 'CONTACT', 'TRANSPORT', 'SOURCE', 'EXPIRES'], registrations.map((r) => [r.aor, r.contact, r.transport, r.source, `${r.expiresInSeconds}s`])));
      return EXIT.ok;
    }
    case 'trunks': {
      const { trunks } = (await api(t, 'GET', '/api/v1/trunks')) as { trunks: { name: string; address: string; port: number; transport: string; state: string; activeCalls: number }[] };
      if (args.json) out(JSON.stringify(trunks, null, 2));
      else if (trunks.length === 0) out('no trunks configured');
      else out(table(['NAME', 'ADDRESS', 'TRANSPORT', 'STATE', 'CALLS'], trunks.map((x) => [x.name, `${x.address}:${x.port}`, x.transport, x.state, String(x.activeCalls)])));
      return EXIT.ok;
    }
    case 'drain': {
      const r = (await api(t, 'POST', '/api/v1/drain')) as { liveCalls: number; deadline: string };
      out(args.json ? JSON.stringify(r) : `draining: ${r.liveCalls} live call${r.liveCalls === 1 ? '' : 's'}; the gateway exits when they end (at the latest ${r.deadline})`);
      return EXIT.ok;
    }
    default:
      throw new CliFailure(`${args.command} is not an API command`, EXIT.usage);
  }
}
