// Whether a target table can still hold its source table's rows exactly. The target was created
// from the source's definition; a source that later changes a column can send values the target
// column stores differently. Strict mode refuses most of them with an error (too long, out of
// range, not a date), and such a row is rejected by the writer. Some it stores changed without an
// error: a DECIMAL rounded to a smaller scale is only a note, a DATETIME(6) into DATETIME(3) or a
// DOUBLE into FLOAT not even that. For those the writer checks each value first (`LossyColumn`).
import { normalType, type ColumnMeta, type TableMeta } from './introspect';

export interface Drift {
  /** Differences that make every write impossible or wrong (a column missing, another key): no write. */
  blocking: string[];
  /** Columns whose values the target may store changed without an error: checked value by value. */
  lossy: LossyColumn[];
  /** Differences that leave written values exact (e.g. a column only on the target). */
  other: string[];
}

/** A column whose every value is checked before it is written (see valueFits). */
export interface LossyColumn {
  column: string;
  /** `scale`: no digit after `limit` fraction digits; `fsp`: no fractional second after `limit` digits; `float`: exact as a FLOAT. */
  kind: 'scale' | 'fsp' | 'float';
  limit: number;
  source: string;
  target: string;
}

const typeOf = (c: ColumnMeta): string => normalType(c.columnType);

const INTEGER = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const TEMPORAL = new Set(['datetime', 'timestamp', 'time']);
const NUMERIC = new Set([...INTEGER, 'decimal', 'float', 'double', 'real']);

/** Fraction digits a DECIMAL keeps (0 for an integer type), or undefined for other types. */
function scaleOf(c: ColumnMeta): number | undefined {
  if (INTEGER.has(c.dataType)) return 0;
  if (c.dataType !== 'decimal') return undefined;
  const m = /\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)/.exec(c.columnType);
  return m?.[1] ? Number(m[1]) : 0;
}

const fspOf = (c: ColumnMeta): number => Number(/\((\d)\)/.exec(c.columnType)?.[1] ?? 0);

/** How the target may store a source value changed without an error, if it may. */
function lossOf(s: ColumnMeta, t: ColumnMeta): LossyColumn | undefined {
  const base = { column: s.name, source: typeOf(s), target: typeOf(t) };
  const targetScale = scaleOf(t);
  if (targetScale !== undefined && NUMERIC.has(s.dataType) && (scaleOf(s) === undefined || scaleOf(s)! > targetScale)) {
    return { ...base, kind: 'scale', limit: targetScale };
  }
  if (TEMPORAL.has(t.dataType) && TEMPORAL.has(s.dataType) && fspOf(s) > fspOf(t)) return { ...base, kind: 'fsp', limit: fspOf(t) };
  if (t.dataType === 'float' && NUMERIC.has(s.dataType) && s.dataType !== 'float') return { ...base, kind: 'float', limit: 0 };
  return undefined;
}

export function definitionDrift(source: TableMeta, target: TableMeta | undefined): Drift {
  if (!target) return { blocking: ['the table is missing on the target'], lossy: [], other: [] };
  const drift: Drift = { blocking: [], lossy: [], other: [] };
  const onTarget = new Map(target.columns.map((c) => [c.name.toLowerCase(), c]));
  for (const s of source.columns) {
    const t = onTarget.get(s.name.toLowerCase());
    if (!t) {
      (s.generated ? drift.other : drift.blocking).push(`column ${s.name}: on the source only`);
      continue;
    }
    onTarget.delete(s.name.toLowerCase());
    if (s.generated || t.generated || typeOf(s) === typeOf(t)) continue; // generated: each server computes its own
    const loss = lossOf(s, t);
    if (loss) drift.lossy.push(loss);
  }
  for (const t of onTarget.values()) drift.other.push(`column ${t.name}: on the target only`);
  if (source.primaryKey.join(',').toLowerCase() !== target.primaryKey.join(',').toLowerCase()) {
    drift.blocking.push(`primary key: (${source.primaryKey.join(', ')}) on the source, (${target.primaryKey.join(', ')}) on the target`);
  }
  return drift;
}

/** Digits of a decimal or time text after its point, beyond `keep`, all zero. */
function noDigitsBeyond(text: string, keep: number): boolean {
  const point = text.indexOf('.');
  return point < 0 || /^0*$/.test(text.slice(point + 1 + keep));
}

/** Whether the target column stores this value exactly. */
export function valueFits(value: unknown, loss: LossyColumn): boolean {
  if (value === null || value === undefined) return true;
  if (loss.kind === 'float') return Math.fround(Number(value)) === Number(value);
  const text = String(value);
  if (loss.kind === 'scale' && /e/i.test(text)) return Number(Number(text).toFixed(loss.limit)) === Number(text); // 1e-7
  return noDigitsBeyond(text, loss.limit);
}

export function lossMessage(value: unknown, loss: LossyColumn): string {
  return `value ${String(value)} of column ${loss.column} would be stored changed: the target column is ${loss.target}, the source's ${loss.source}; ` +
    'apply the same change to the target (cm hotfix apply), then the next run brings the row';
}

/** The operator's line for a table that cannot be written at all. */
export function driftMessage(drift: Drift): string {
  return `the source's definition differs from the target's (${drift.blocking.join('; ')}): ` +
    'no change of this table is applied until the target matches, and its changes stay captured. ' +
    'It changed during this run: the next run follows the source\'s definition (or `cm resync <tenant> <table>` rebuilds the table now)';
}
