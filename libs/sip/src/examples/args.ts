// Command-line flags for the examples: `--name value` pairs and bare `--flag`s.

export type Flags = Map<string, string[]>;

export function parseFlags(argv: readonly string[], boolean: readonly string[] = []): { flags: Flags; rest: string[] } {
  const flags: Flags = new Map();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) { rest.push(a); continue; }
    const eq = a.indexOf('=');
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    let value: string;
    if (eq !== -1) value = a.slice(eq + 1);
    else if (boolean.includes(name)) value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`--${name} needs a value`);
      value = next;
      i++;
    }
    const list = flags.get(name) ?? [];
    list.push(value);
    flags.set(name, list);
  }
  return { flags, rest };
}

export function flagNumber(flags: Flags, name: string, dflt: number): number {
  const v = flags.get(name)?.at(-1);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name}: not a number: ${v}`);
  return n;
}

export function flagString(flags: Flags, name: string): string | undefined {
  return flags.get(name)?.at(-1);
}
