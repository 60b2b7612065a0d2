// `trapezoid check-config FILE`: validates a configuration without starting anything
// and prints every error at once (YAML syntax, types, unknown keys, references between
// sections), each naming the file and the key.

import { loadConfig, ConfigError } from '../config/index.js';
import { EXIT } from './args.js';

export function checkConfig(path: string, json: boolean, out: (s: string) => void, env: NodeJS.ProcessEnv): number {
  try {
    const c = loadConfig({ path, env });
    if (json) out(JSON.stringify({ ok: true, file: path, listeners: c.listeners.length, trunks: c.trunks.length, routes: c.routes.length }));
    else out(`${path}: valid (${c.listeners.length} listeners, ${c.trunks.length} trunks, ${c.routes.length} routes)`);
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (json) out(JSON.stringify({ ok: false, file: path, errors: err.issues }));
    else out(`${path}: ${err.issues.length} error${err.issues.length === 1 ? '' : 's'}\n${err.issues.map((l) => `  ${l}`).join('\n')}`);
    return EXIT.usage;
  }
}
