// One JSON line per event. Each call gets a child logger carrying its call id and
// leg ids, so every line about a call can be found with one grep. Nothing on the
// media path logs.

import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(level: string, silent = false): Logger {
  return winston.createLogger({
    level,
    silent,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'trapezoid' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
