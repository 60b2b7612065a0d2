// Reading and merging counters tables (protocol.ts CountersTable): the numbers the
// monitor samples for every call each second, read where they are used.

import type { LegStats } from '../leg.js';
import { BRIDGE_COUNTERS_WIDTH, LEG_STATS_FIELDS, type CountersTable } from './protocol.js';

/** The offset of a LegStats field of `leg` (0 or 1) in row `row` of a table's values. */
export function counterAt(row: number, leg: 0 | 1, field: (typeof LEG_STATS_FIELDS)[number]): number {
  return row * BRIDGE_COUNTERS_WIDTH + leg * LEG_STATS_FIELDS.length + LEG_STATS_FIELDS.indexOf(field);
}

/** Leg `leg` of row `row` as LegStats; null when the table has none (an unknown bridge, a missing leg). */
export function legStatsAt(values: Float64Array, row: number, leg: number): LegStats | null {
  const at = row * BRIDGE_COUNTERS_WIDTH + leg * LEG_STATS_FIELDS.length;
  if (Number.isNaN(values[at])) return null;
  const s = {} as LegStats;
  LEG_STATS_FIELDS.forEach((f, i) => { s[f] = values[at + i]!; });
  return s;
}

/** Legs 0 and 1's counters into row `row` of `out` (missing legs stay as they are: NaN). */
export function writeLegCounters(legs: readonly ({ stats: LegStats } | undefined)[], out: Float64Array, row: number): void {
  for (let leg = 0; leg < 2; leg++) {
    const s = legs[leg]?.stats;
    if (!s) continue;
    let i = row * BRIDGE_COUNTERS_WIDTH + leg * LEG_STATS_FIELDS.length;
    for (const f of LEG_STATS_FIELDS) out[i++] = s[f];
  }
}

/** One table of all rows, in the order of `tables`. */
export function mergeTables(tables: readonly CountersTable[]): CountersTable {
  if (tables.length === 1) return tables[0]!;
  const rows = tables.reduce((n, t) => n + t.ids.length, 0);
  const values = new Float64Array(rows * BRIDGE_COUNTERS_WIDTH);
  const ids: string[] = [];
  for (const t of tables) {
    values.set(t.values, ids.length * BRIDGE_COUNTERS_WIDTH);
    for (const id of t.ids) ids.push(id);
  }
  return { ids, values };
}

/** A table of `ids` with nothing read (every number NaN). */
export function unreadTable(ids: string[]): CountersTable {
  return { ids, values: new Float64Array(ids.length * BRIDGE_COUNTERS_WIDTH).fill(NaN) };
}
