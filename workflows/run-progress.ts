// A run's progress, as its `progress` query answers it. The answer stays bounded whatever the number
// of tables: counts by status, the tables being worked on, and the tables finished after the
// caller's cursor (at most PROGRESS_FINISHED_PAGE, in the order they finished), so `cm run --wait`
// prints every finished table once by following the cursor. Lookups are by key (a Map): a run of
// 40,000 tables must not scan the list once per table. Pure, unit-tested.
import type { RunKind, RunProgress, RunProgressTable, RunStatus, TableStatus } from '../lib/types';

export const PROGRESS_FINISHED_PAGE = 500;
/** A table with one of these statuses is done for this run. */
export const FINISHED: ReadonlySet<TableStatus> = new Set<TableStatus>(['Successful', 'Warning', 'Failed', 'Not Migrated']);

export class ProgressBook {
  private entries = new Map<string, RunProgressTable>();
  /** Keys in the order their tables finished. */
  private readonly finishedOrder: string[] = [];
  status: RunStatus = 'In Progress';

  constructor(private readonly run: number, private readonly kind: RunKind, tables: { key: string; estimatedRows: number }[]) {
    this.retable(tables);
  }

  /** The run's tables changed (the source's schema was followed): new ones are added, gone ones dropped. */
  retable(tables: { key: string; estimatedRows: number }[]): void {
    const next = new Map<string, RunProgressTable>();
    for (const t of tables) next.set(t.key, this.entries.get(t.key) ?? { key: t.key, status: 'Not Started', estimatedRows: t.estimatedRows, rows: 0 });
    this.entries = next;
  }

  start(keys: string[]): void {
    for (const key of keys) {
      const p = this.entries.get(key);
      if (p && p.status === 'Not Started') p.status = 'In Progress';
    }
  }

  finish(key: string, status: TableStatus, rows: number): void {
    const p = this.entries.get(key);
    if (!p) return;
    if (!FINISHED.has(p.status)) this.finishedOrder.push(key);
    Object.assign(p, { status, rows });
  }

  /** The answer to `progress`: finished tables from position `since` of the finishing order on. */
  view(since = 0): RunProgress {
    const from = Math.max(0, Math.floor(Number.isFinite(since) ? since : 0));
    const counts: Partial<Record<TableStatus, number>> = {};
    let rows = 0;
    const working: RunProgressTable[] = [];
    for (const p of this.entries.values()) {
      counts[p.status] = (counts[p.status] ?? 0) + 1;
      rows += p.rows;
      if (p.status === 'In Progress') working.push({ ...p });
    }
    const finished = this.finishedOrder.slice(from, from + PROGRESS_FINISHED_PAGE).map((k) => this.entries.get(k)).filter((p): p is RunProgressTable => !!p);
    return {
      run: this.run, kind: this.kind, status: this.status, total: this.entries.size, counts, rows,
      tables: [...finished.map((p) => ({ ...p })), ...working],
      next: Math.min(this.finishedOrder.length, from + PROGRESS_FINISHED_PAGE),
    };
  }
}
