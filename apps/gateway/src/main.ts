#!/usr/bin/env node
// `trapezoid` / `npm start`: loads the configuration (the embedded demo default when
// none is given), starts the gateway and prints where to point a browser.

import { loadConfig, configPathFrom, ConfigError } from './config/index.js';
import { createLogger } from './logging.js';
import { Gateway } from './gateway.js';

async function main(): Promise<void> {
  const path = configPathFrom(process.argv.slice(2), process.env);
  let config;
  try {
    config = loadConfig({ ...(path !== undefined ? { path } : {}), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`trapezoid: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logging.level);
  const gw = await Gateway.start(config, { log });
  const ws = gw.listeningPoints().find((p) => p.protocol === 'ws' || p.protocol === 'wss');
  process.stdout.write(
    `trapezoid is running${path ? ` with ${path}` : ' with the embedded demo configuration'}\n` +
    (gw.url ? `  demo softphone: ${gw.url}  (user ${config.users[0]?.username ?? '-'}, call "echo")\n` : '') +
    (ws ? `  SIP over WebSocket: ${ws.protocol}://${ws.address}:${ws.port}\n` : ''),
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { event: 'stopping', signal });
    gw.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`trapezoid: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
