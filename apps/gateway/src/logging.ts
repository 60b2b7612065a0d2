// One JSON line per event. Each call gets a child logger carrying its call id and
// leg ids, so every line about a call can be found with one grep. Nothing on the
// media path logs. Secrets (SRTP keys, credentials, tokens in URIs) are redacted from
// every line the same way SIP capture redacts them (hep/redact.ts).

import winston from 'winston';
import { redactDeep } from './hep/redact.js';

/** Redacts the string fields of a log entry in place (winston keeps its own symbols on it). */
export const redactSecrets = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const v = (info as Record<string, unknown>)[key];
    if (typeof v === 'string' || (v !== null && typeof v === 'object')) (info as Record<string, unknown>)[key] = redactDeep(v);
  }
  return info;
});

export type Logger = winston.Logger;

const MESSAGE = Symbol.for('message');
const stableJson = winston.format.json();

/**
 * The JSON line, with JSON.stringify: several times cheaper than the key-sorting stringify
 * behind winston's json() (a call logs a handful of lines on its setup path). That one
 * is kept for what JSON.stringify cannot write (a cycle, a BigInt).
 */
export const jsonLine = winston.format((info) => {
  try {
    (info as unknown as Record<symbol, string>)[MESSAGE] = JSON.stringify(info);
    return info;
  } catch {
    return stableJson.transform(info, stableJson.options);
  }
});

export function createLogger(level: string, silent = false): Logger {
  return skipDisabledLevels(winston.createLogger({
    level,
    silent,
    format: winston.format.combine(redactSecrets(), winston.format.timestamp(), jsonLine()),
    defaultMeta: { service: 'trapezoid' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  }));
}

type LevelMethod = (this: Logger, ...args: unknown[]) => Logger;

/**
 * winston runs every line through the formats (redaction, timestamp, JSON) and its
 * streams before a transport drops it for its level: at logging.level warn, each info
 * line of a call's setup still cost that. The level methods now ask isLevelEnabled()
 * first (which counts a transport's own level too, as tests add) and return at once.
 * Child loggers inherit the methods, so per-call loggers skip the same way.
 */
function skipDisabledLevels(logger: Logger): Logger {
  const methods = logger as unknown as Record<string, LevelMethod>;
  for (const level of Object.keys(logger.levels)) {
    const write = methods[level];
    if (typeof write !== 'function') continue;
    methods[level] = function (this: Logger, ...args: unknown[]): Logger {
      return this.isLevelEnabled(level) ? write.apply(this, args) : this;
    };
  }
  return logger;
}
