#!/usr/bin/env node
// `trapezoid` / `npm start`: without a command, loads the configuration (the embedded
// demo default when none is given), starts the gateway and prints where to point a
// browser; SIGTERM drains it (no new calls, live ones go on) and it exits once they end
// or the drain deadline passes. The other commands talk to a running gateway's admin
// API or check a configuration file (cli/).

import { readFileSync } from 'node:fs';
import type { ConfigError as ConfigErrorType } from './config/index.js';
import { EXIT, USAGE, UsageError, parseArgs, type CliArgs } from './cli/args.js';

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`trapezoid: ${s}\n`);

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Modules are loaded by the command that needs them: --help and --version load none. */
async function start(args: CliArgs): Promise<void> {
  const { loadConfig, ConfigError } = await import('./config/index.js');
  const path = args.config ?? (process.env.TRAPEZOID_CONFIG || undefined);
  let config;
  try {
    config = loadConfig({ ...(path !== undefined ? { path } : {}), env: process.env });
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      process.exit(EXIT.usage);
    }
    throw e;
  }
  // Loaded here only: the other commands start in a fraction of the time without it.
  const [{ createLogger }, { Gateway }] = await Promise.all([import('./logging.js'), import('./gateway.js')]);
  const log = createLogger(config.logging.level);
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { event: 'stopping', why });
    gw.stop().then(() => process.exit(0), () => process.exit(1));
  };
  const gw = await Gateway.start(config, { log, onDrained: () => stop('drained') });
  const ws = gw.listeningPoints().find((p) => p.protocol === 'ws' || p.protocol === 'wss');
  const admin = gw.ops.adminUrl;
  out(
    `trapezoid ${version()} is running${path ? ` with ${path}` : ' with the embedded demo configuration'}\n` +
    (gw.url && config.http.demo ? `  demo softphone: ${gw.url}  (user ${config.users[0]?.username ?? '-'}, call "echo")\n` : '') +
    (ws ? `  SIP over WebSocket: ${ws.protocol}://${ws.address}:${ws.port}\n` : '') +
    (admin ? `  admin API and /admin page: ${admin}/admin${gw.ops.generatedToken ? `  (token ${gw.ops.adminToken}: generated for this run; set admin.token to keep one)` : ''}` : ''),
  );
  // SIGTERM (systemd stop, Kubernetes pod deletion): drain within shutdown.drainSeconds.
  process.on('SIGTERM', () => {
    if (gw.ops.draining) return stop('second SIGTERM');
    log.info('SIGTERM: draining', { event: 'stopping', signal: 'SIGTERM' });
    gw.drain();
  });
  // Ctrl-C at a terminal: stop now (live calls get a BYE).
  process.on('SIGINT', () => stop('SIGINT'));
  // Log rotation: the call record file is reopened at its path.
  process.on('SIGHUP', () => gw.ops.cdr.reopen());
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`${e.message} (see trapezoid --help)`);
    process.exit(EXIT.usage);
  }
  if (args.help) return out(USAGE);
  if (args.version) return out(args.json ? JSON.stringify({ version: version(), node: process.version }) : `trapezoid ${version()} (node ${process.version})`);
  if (args.command === 'start') return start(args);
  if (args.command === 'check-config') {
    const { checkConfig } = await import('./cli/check-config.js');
    process.exit(checkConfig(args.positional[0]!, args.json, out, process.env));
  }
  const { CliFailure, runApiCommand } = await import('./cli/api-commands.js');
  try {
    process.exitCode = await runApiCommand(args, process.env, out);
  } catch (e) {
    if (e instanceof CliFailure) {
      err(e.message);
      process.exit(e.code);
    }
    if ((e as ConfigErrorType).name === 'ConfigError') {
      err((e as ConfigErrorType).message);
      process.exit(EXIT.usage);
    }
    throw e;
  }
}

main().catch((e: unknown) => {
  err(`cannot start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
