// How a run splits its tables into activities. Pure, so it is unit-tested and replay-safe.
// Small tables travel many to an activity (a run over thousands of tables stays a short history);
// a large table needing a full load gets key-range activities of its own, copied in parallel.
import type { CopySettings, RunKind, SchemaFollowResult, TableStats, TableWork } from '../lib/types';
import { DEFAULT_COPY, MAX_RANGES_PER_TABLE } from '../lib/constants';

/** Tables read from (or written to) the rows on the target at a time: a few hundred kilobytes at most. */
export const ROWS_PAGE = 500;

/** Whether a table's part of a run is a full load. Key-less tables are copied whole every run: that does not make a run a full copy. */
export const needsFullLoad = (t: TableWork): boolean => t.full && t.hasPrimaryKey;

/** The rows a table's part of a run moved: its full load plus every change applied. */
export const rowsOf = (t: Pick<TableStats, 'fullLoadRows' | 'inserts' | 'updates' | 'deletes'>): number => t.fullLoadRows + t.inserts + t.updates + t.deletes;

/** A run is `full` while any table still needs its first complete load. */
export const runKindOf = (tables: TableWork[]): RunKind => (tables.some(needsFullLoad) ? 'full' : 'delta');

export interface RunPlan {
  /** Each inner list is one migrateTables activity. */
  batches: TableWork[][];
  /** Large tables whose full load is split into key ranges. */
  ranged: TableWork[];
}

export function planRun(tables: TableWork[], copy: CopySettings): RunPlan {
  const ranged = tables.filter((t) => needsFullLoad(t) && t.splittable && t.estimatedRows >= copy.largeTableRows);
  const rest = tables.filter((t) => !ranged.includes(t));
  const batches: TableWork[][] = [];
  let batch: TableWork[] = [];
  let rows = 0;
  for (const t of rest) {
    // Only a full load costs rows; a delta costs what changed, unknown here and usually small.
    const cost = t.full || !t.hasPrimaryKey ? Math.max(1, t.estimatedRows) : 1;
    if (batch.length > 0 && (batch.length >= copy.smallBatchTables || rows + cost > copy.smallBatchRows)) {
      batches.push(batch);
      batch = [];
      rows = 0;
    }
    batch.push(t);
    rows += cost;
  }
  if (batch.length > 0) batches.push(batch);
  return { batches, ranged };
}

/**
 * How many key ranges a large table's full load is cut into: one per `chunkRows` estimated rows, at
 * least `rangesPerTable`, at most MAX_RANGES_PER_TABLE. Each is an activity of its own that any
 * worker may take, so one big table keeps every worker busy.
 */
export function rangeCount(table: Pick<TableWork, 'estimatedRows'>, copy: CopySettings): number {
  const bySize = Math.ceil(Math.max(0, table.estimatedRows) / (copy.chunkRows ?? DEFAULT_COPY.chunkRows!));
  return Math.min(MAX_RANGES_PER_TABLE, Math.max(copy.rangesPerTable, bySize, 1));
}

/** "cronus.customer, cronus.item … (+48 more)": a short label for an activity summary. */
export function describeTables(tables: { key: string }[], shown = 2): string {
  const head = tables.slice(0, shown).map((t) => t.key).join(', ');
  return tables.length > shown ? `${head} … (+${tables.length - shown} more)` : head;
}

/**
 * The run's tables once the source's schema was followed: dropped ones out, new ones in (a full
 * load), replanned ones with their new key. Tables whose change could not be followed are returned
 * apart, with the reason: they fail this run.
 */
export function followedTables(tables: TableWork[], schema: SchemaFollowResult): { work: TableWork[]; failed: { key: string; reason: string }[] } {
  const dropped = new Set(schema.dropped);
  const failed = schema.changes.filter((c) => c.failed).map((c) => ({ key: c.key, reason: `${c.change}: ${c.action}` }));
  const failing = new Set(failed.map((f) => f.key));
  const replanned = new Map(schema.replanned.map((p) => [p.key, p]));
  const copied = new Set(schema.rebuilt ?? []);
  const renamed = new Map((schema.renamed ?? []).map((r) => [r.from, r.plan]));
  const work = tables
    .map((t) => {
      const plan = renamed.get(t.key);
      return plan ? { ...t, ...plan } : t;
    })
    .filter((t) => !dropped.has(t.key) && !failing.has(t.key))
    .map((t) => {
      const plan = replanned.get(t.key);
      return plan || copied.has(t.key) ? { ...t, ...plan, full: true } : t;
    });
  for (const plan of schema.added) if (!plan.notMigratedReason) work.push({ ...plan, full: true });
  return { work, failed: failed.filter((f) => tables.some((t) => t.key === f.key)) };
}
