// Loads the YAML configuration, applies environment overrides and validates the
// result. Any error names the key, the file and what was expected; the caller
// exits non-zero before binding anything.

import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { configSchema, crossReferenceIssues, type GatewayConfig } from './schema.js';

export class ConfigError extends Error {
  /** Every problem found, one line each, each naming where (file or variable) and the key. */
  readonly issues: string[];
  constructor(message: string, issues: string[] = [message]) {
    super(message);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface ConfigSource {
  /** Path given by --config, or TRAPEZOID_CONFIG. */
  path?: string;
  env?: NodeJS.ProcessEnv;
}

const ENV_PREFIX = 'TRAPEZOID_';

/**
 * What `npm start` runs with no configuration file: the demo page, the echo number and
 * a demo user, on the schema's loopback listeners. A configuration file starts from
 * the schema's defaults instead, where none of these exist unless configured.
 */
export const EMBEDDED_DEMO: Readonly<Record<string, unknown>> = {
  http: { demo: true },
  routes: [{ match: '^echo$', internal: 'echo' }],
  users: [{ username: 'demo', password: 'demo' }],
};

/** `--config FILE` or `--config=FILE` from argv, else TRAPEZOID_CONFIG. */
export function configPathFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return env.TRAPEZOID_CONFIG || undefined;
}

export function loadConfig(source: ConfigSource = {}): GatewayConfig {
  const env = source.env ?? process.env;
  const where = source.path ?? '(embedded default)';
  let raw: unknown = structuredClone(EMBEDDED_DEMO);
  if (source.path !== undefined) {
    let text: string;
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${source.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const doc = parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) {
      const lines = doc.errors.map((e) => `${source.path}: invalid YAML at line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`);
      throw new ConfigError(lines.length === 1 ? lines[0]! : `invalid YAML\n  ${lines.join('\n  ')}`, lines);
    }
    raw = doc.toJS() ?? {};
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${source.path}: the top level must be a mapping`);
  }
  const overridden = applyEnvOverrides(raw as Record<string, unknown>, env);
  const result = configSchema.safeParse(overridden.value);
  if (!result.success) {
    const issues: { path: PropertyKey[]; message: string }[] = [...result.error.issues];
    // The cross-section checks did not run while other keys were wrong: run them on the input.
    const seen = new Set(issues.map((i) => i.path.map(String).join('.')));
    for (const x of crossReferenceIssues(overridden.value)) if (!seen.has(x.path.join('.'))) issues.push(x);
    const lines = issues.map((issue) => {
      const key = issue.path.map(String).join('.') || '(top level)';
      const from = overridden.fromEnv.get(key);
      return `${from ? `${from} (environment)` : where}: ${key}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration\n  ${lines.join('\n  ')}`, lines);
  }
  return result.data;
}

/**
 * TRAPEZOID_MEDIA__PORT_MIN=21000 sets media.portMin; list items by index:
 * TRAPEZOID_TRUNKS__0__PASSWORD. Segments match existing keys case-insensitively
 * (so PORT_MIN finds portMin); values are read as YAML scalars (numbers, booleans).
 */
function applyEnvOverrides(base: Record<string, unknown>, env: NodeJS.ProcessEnv): { value: Record<string, unknown>; fromEnv: Map<string, string> } {
  const value = structuredClone(base);
  const fromEnv = new Map<string, string>();
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === 'TRAPEZOID_CONFIG' || text === undefined) continue;
    const segments = name.slice(ENV_PREFIX.length).split('__').filter((s) => s.length > 0);
    if (segments.length === 0) continue;
    let node: Record<string, unknown> | unknown[] = value;
    const path: string[] = [];
    for (let i = 0; i < segments.length; i++) {
      const key = resolveKey(node, segments[i]!);
      path.push(key);
      if (i === segments.length - 1) {
        (node as Record<string, unknown>)[key] = parseScalar(text);
      } else {
        let next = (node as Record<string, unknown>)[key];
        if (typeof next !== 'object' || next === null) {
          next = /^\d+$/.test(segments[i + 1]!) ? [] : {};
          (node as Record<string, unknown>)[key] = next;
        }
        node = next as Record<string, unknown>;
      }
    }
    fromEnv.set(path.join('.'), name);
  }
  return { value, fromEnv };
}

function resolveKey(node: Record<string, unknown> | unknown[], segment: string): string {
  if (Array.isArray(node)) return segment;
  const wanted = segment.replace(/_/g, '').toLowerCase();
  for (const k of Object.keys(node)) if (k.replace(/_/g, '').toLowerCase() === wanted) return k;
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function parseScalar(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}
