#!/usr/bin/env node
// `trapezoid-credential`: mints what a web service would hand a browser, for testing a
// gateway by hand or from a script. Ephemeral credentials print as the TURN REST API
// response ({ username, password, ttl }); `--jwt` prints a signed token instead. The
// secret or key comes from a flag, an environment variable or a file, never a prompt.

import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mintEphemeral, type EphemeralAlgorithm, type EphemeralFormat } from '../ephemeral.js';
import { signJwt } from '../jwt.js';

const USAGE = `usage:
  trapezoid-credential --user NAME [--ttl SECONDS] [--secret S | --secret-file F | env TRAPEZOID_EPHEMERAL_SECRET]
                       [--algorithm sha1|sha256] [--format expiry:user|user:expiry] [--url ws://host:port/]
  trapezoid-credential --jwt HS256|RS256|ES256 --user NAME [--ttl SECONDS] [--secret S | --key private.pem]
                       [--kid ID] [--iss ISSUER] [--aud AUDIENCE] [--dial REGEX ...] [--url ws://host:port/]

Prints {"username","password","ttl"} as auth_ephemeral / the TURN REST API do, for the
gateway's auth.ephemeral (same secret, algorithm and format); with --jwt, {"token","ttl"}
for auth.jwt (sub = NAME, exp = now + ttl, dial = the --dial patterns). With --url, also
the WebSocket URL that carries the credential at the upgrade.`;

function fail(message: string): never {
  process.stderr.write(`trapezoid-credential: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        user: { type: 'string' }, ttl: { type: 'string', default: '3600' }, secret: { type: 'string' },
        'secret-file': { type: 'string' }, algorithm: { type: 'string', default: 'sha1' },
        format: { type: 'string', default: 'expiry:user' }, url: { type: 'string' }, help: { type: 'boolean' },
        jwt: { type: 'string' }, key: { type: 'string' }, kid: { type: 'string' }, iss: { type: 'string' }, aud: { type: 'string' },
        dial: { type: 'string', multiple: true },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (!values.user) fail('--user is required');
  const ttl = Number(values.ttl);
  if (!Number.isFinite(ttl)) fail(`--ttl: not a number: ${values.ttl}`);
  if (values.jwt !== undefined) return mintJwt(values as JwtFlags, ttl);
  if (values.algorithm !== 'sha1' && values.algorithm !== 'sha256') fail(`--algorithm: sha1 or sha256, not ${values.algorithm}`);
  if (values.format !== 'expiry:user' && values.format !== 'user:expiry') fail(`--format: expiry:user or user:expiry, not ${values.format}`);
  const secret = values.secret ?? (values['secret-file'] ? readFileSync(values['secret-file'], 'utf8').trim() : process.env.TRAPEZOID_EPHEMERAL_SECRET);
  if (!secret) fail('a secret is required: --secret, --secret-file or TRAPEZOID_EPHEMERAL_SECRET');
  const cred = mintEphemeral({
    secret, user: values.user, ttl, algorithm: values.algorithm as EphemeralAlgorithm, format: values.format as EphemeralFormat,
  });
  const out: Record<string, unknown> = { ...cred };
  if (values.url) {
    const u = new URL(values.url);
    u.searchParams.set('username', cred.username);
    u.searchParams.set('password', cred.password);
    out.url = u.toString();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

interface JwtFlags {
  jwt: string; user: string; secret?: string; key?: string; kid?: string; iss?: string; aud?: string; dial?: string[]; url?: string;
}

function mintJwt(f: JwtFlags, ttl: number): void {
  if (f.jwt !== 'HS256' && f.jwt !== 'RS256' && f.jwt !== 'ES256') fail(`--jwt: HS256, RS256 or ES256, not ${f.jwt}`);
  let key;
  if (f.jwt === 'HS256') {
    if (!f.secret) fail('--jwt HS256 needs --secret');
    key = Buffer.from(f.secret, 'utf8');
  } else {
    if (!f.key) fail(`--jwt ${f.jwt} needs --key (a PEM private key)`);
    key = createPrivateKey(readFileSync(f.key));
  }
  const claims: Record<string, unknown> = { sub: f.user, exp: Math.floor(Date.now() / 1000) + Math.round(ttl) };
  if (f.iss) claims.iss = f.iss;
  if (f.aud) claims.aud = f.aud;
  if (f.dial) claims.dial = f.dial;
  const token = signJwt(f.jwt, key, claims, f.kid);
  const out: Record<string, unknown> = { token, ttl };
  if (f.url) {
    const u = new URL(f.url);
    u.searchParams.set('token', token);
    out.url = u.toString();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
