// The configuration reference in docs/configuration.md is generated from the schema
// (`npm run docs:config`), so the document cannot drift from what the gateway
// accepts: the schema's JSON Schema form (zod's own) gives every key's type, default
// and `.describe()` text, rendered as one table per top-level section. A test
// regenerates it and fails when the committed document is stale.

import { z } from 'zod';
import { configSchema } from './schema.js';

/** Markers around the generated part of docs/configuration.md; prose outside them is kept. */
export const REFERENCE_BEGIN = '<!-- BEGIN GENERATED REFERENCE: `npm run docs:config` writes this part from apps/gateway/src/config/schema.ts -->';
export const REFERENCE_END = '<!-- END GENERATED REFERENCE -->';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  pattern?: string;
}

export interface ReferenceRow {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** Every key of the configuration, depth first, as `a.b`, `list[].c`. */
export function configReferenceRows(): ReferenceRow[] {
  const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: ReferenceRow[] = [];
  walk(root, '', rows);
  return rows;
}

function walk(node: JsonSchema, prefix: string, rows: ReferenceRow[]): void {
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    rows.push({
      key,
      type: typeOf(child),
      default: defaultOf(child, required.has(name)),
      description: child.description ?? '',
    });
    const object = objectOf(child);
    if (object) walk(object, key, rows);
    const items = child.items && objectOf(child.items);
    if (items) walk(items, `${key}[]`, rows);
  }
}

function defaultOf(node: JsonSchema, required: boolean): string {
  // A section's `{}` default only says "every key below has its own default".
  if (node.default === undefined || (objectOf(node) && JSON.stringify(node.default) === '{}')) return required ? 'required' : '—';
  return `\`${JSON.stringify(node.default)}\``;
}

function objectOf(node: JsonSchema): JsonSchema | undefined {
  if (node.properties) return node;
  return (node.anyOf ?? node.oneOf)?.find((n) => n.properties);
}

function typeOf(node: JsonSchema): string {
  const alternatives = node.anyOf ?? node.oneOf;
  if (alternatives) return alternatives.map(typeOf).join(' or ');
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.const !== undefined) return `\`${String(node.const)}\``;
  const t = Array.isArray(node.type) ? node.type.join(' or ') : node.type ?? 'any';
  if (t === 'array') return `list of ${node.items ? typeOf(node.items) : 'any'}${node.minItems ? ` (at least ${node.minItems})` : ''}`;
  if (t === 'integer' || t === 'number') {
    const lo = node.minimum !== undefined ? `${node.minimum}` : node.exclusiveMinimum !== undefined ? `>${node.exclusiveMinimum}` : undefined;
    const hi = node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? `${node.maximum}` : undefined;
    const range = lo !== undefined && hi !== undefined ? ` ${lo}–${hi}` : lo !== undefined ? ` ${lo.startsWith('>') ? lo : `≥${lo}`}` : '';
    return `${t}${range}`;
  }
  if (t === 'string' && node.pattern) return `string matching \`${node.pattern.replace(/\|/g, '\\|')}\``;
  return t;
}

/** The generated Markdown between REFERENCE_BEGIN and REFERENCE_END (markers included). */
export function renderConfigReference(): string {
  const rows = configReferenceRows();
  const sections = new Map<string, ReferenceRow[]>();
  for (const r of rows) {
    const top = r.key.split(/[.[]/)[0]!;
    let list = sections.get(top);
    if (!list) sections.set(top, (list = []));
    list.push(r);
  }
  const out: string[] = [REFERENCE_BEGIN, '', '## Reference', ''];
  for (const [top, list] of sections) {
    out.push(`### \`${top}\``, '');
    out.push('| key | type | default | description |', '| --- | --- | --- | --- |');
    for (const r of list) out.push(`| \`${r.key}\` | ${r.type} | ${r.default} | ${r.description.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
    out.push('');
  }
  out.push(REFERENCE_END);
  return out.join('\n');
}

/**
 * docs/configuration.md with its generated part replaced by `reference` (appended when
 * the markers are missing).
 */
export function spliceReference(doc: string, reference: string): string {
  const start = doc.indexOf(REFERENCE_BEGIN);
  const end = doc.indexOf(REFERENCE_END);
  if (start === -1 || end === -1 || end < start) return `${doc.trimEnd()}\n\n${reference}\n`;
  return doc.slice(0, start) + reference + doc.slice(end + REFERENCE_END.length);
}
