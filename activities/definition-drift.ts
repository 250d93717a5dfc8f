// Whether a target table can still hold its source table's rows exactly. The target was created
// from the source's definition; a source that later widens a column (DECIMAL scale, DATETIME
// precision, VARCHAR length) or adds one would have its values rounded, cut or refused, and some
// of that the server does without a word (a DATETIME(6) into DATETIME(3) is not even a note).
import type { ColumnMeta, TableMeta } from './introspect';

export interface Drift {
  /** Differences that make a write inexact or impossible: the table's changes wait until they are gone. */
  blocking: string[];
  /** Differences that leave written values exact (e.g. a column only on the target). */
  other: string[];
}

/** COLUMN_TYPE as both servers agree on it: MySQL 8 drops integer display widths, MariaDB keeps them. */
export function normalType(c: ColumnMeta): string {
  return c.columnType.toLowerCase().replace(/^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)/, '$1').replace(/^integer/, 'int').trim();
}

export function definitionDrift(source: TableMeta, target: TableMeta | undefined): Drift {
  if (!target) return { blocking: ['the table is missing on the target'], other: [] };
  const blocking: string[] = [];
  const other: string[] = [];
  const onTarget = new Map(target.columns.map((c) => [c.name.toLowerCase(), c]));
  for (const s of source.columns) {
    const t = onTarget.get(s.name.toLowerCase());
    if (!t) {
      (s.generated ? other : blocking).push(`column ${s.name}: on the source only`);
      continue;
    }
    onTarget.delete(s.name.toLowerCase());
    if (s.generated || t.generated) continue; // recomputed by each server from its own expression
    if (normalType(s) !== normalType(t)) blocking.push(`column ${s.name}: ${normalType(s)} on the source, ${normalType(t)} on the target`);
  }
  for (const t of onTarget.values()) other.push(`column ${t.name}: on the target only`);
  if (source.primaryKey.join(',').toLowerCase() !== target.primaryKey.join(',').toLowerCase()) {
    blocking.push(`primary key: (${source.primaryKey.join(', ')}) on the source, (${target.primaryKey.join(', ')}) on the target`);
  }
  return { blocking, other };
}

/** The operator's line for a table whose changes wait on its definition. */
export function driftMessage(drift: Drift): string {
  return `the source's definition differs from the target's (${drift.blocking.join('; ')}): ` +
    'writing would round or cut values, so no change of this table is applied until the target matches; ' +
    'the changes stay captured on the source. Apply the same change to the target (cm hotfix apply), then run again';
}
