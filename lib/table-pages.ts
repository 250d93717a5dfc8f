// The tables' rows as pages show them, pure and shared: the management workflow pages the rows it
// carries (tenants started before 1.6.0), and the activities page the rows on the target
// (activities/table-store.ts), with the same order, cuts and counts. Every answer is bounded
// whatever the number of tables.
import type { FindingRow, PageRequest, TableCounts, TableFilter, TablePage, TableState, TableStatus, TableSummary, TableWork } from './types';
import { matchesPattern } from './company-tables';

/** The summary lists this many problem tables; the rest are in the pages. */
export const STATUS_PROBLEM_TABLES = 20;
export const DEFAULT_PAGE_SIZE = 100;
/** A row's text fields are cut to this in pages, so that 100 rows stay far below the payload limit. */
export const MAX_ROW_TEXT = 500;
export const MAX_PAGE_SIZE = 100;

/** The statuses the operator must act on: the page lists these tables first. */
export const PROBLEM_STATUSES: TableStatus[] = ['Failed', 'Warning', 'Not Migrated'];
/** Problems first, then what is still to do, then what is done. */
const STATUS_ORDER: TableStatus[] = [...PROBLEM_STATUSES, 'In Progress', 'Not Started', 'Successful'];
const rank = (s: TableStatus): number => STATUS_ORDER.indexOf(s);
const isProblem = (t: TableState): boolean => PROBLEM_STATUSES.includes(t.status);

/** A row as pages show it: long texts cut (an error message can be a whole SQL statement). */
export function pageRow(t: TableState): TableState {
  const row = { ...t };
  for (const k of ['errorMessage', 'warning', 'notMigratedReason', 'schemaChange', 'resyncRequested', 'lastSyncPosition'] as const) {
    if (row[k] !== undefined) row[k] = bounded(row[k]!, MAX_ROW_TEXT);
  }
  return row;
}

/** Page `page` (1-based, at most MAX_PAGE_SIZE rows) of `all`; a page past the end is empty. */
function pageOf<T>(all: T[], req: PageRequest): { page: number; pageSize: number; total: number; pages: number; rows: T[] } {
  const pageSize = Math.min(Math.max(1, Math.floor(req.pageSize ?? DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE);
  const page = Math.max(1, Math.floor(req.page ?? 1));
  return { page, pageSize, total: all.length, pages: Math.ceil(all.length / pageSize), rows: all.slice((page - 1) * pageSize, page * pageSize) };
}

function byPriority(a: TableState, b: TableState): number {
  return rank(a.status) - rank(b.status) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

export function tableCounts(tables: Iterable<TableState>): TableCounts {
  const counts: TableCounts = { total: 0, byStatus: {}, companies: [] };
  const perCompany = new Map<string, TableCounts['companies'][number]>();
  for (const t of tables) {
    counts.total++;
    counts.byStatus[t.status] = (counts.byStatus[t.status] ?? 0) + 1;
    let c = perCompany.get(t.sourceSchema);
    if (!c) perCompany.set(t.sourceSchema, (c = { company: t.sourceSchema, total: 0, byStatus: {} }));
    c.total++;
    c.byStatus[t.status] = (c.byStatus[t.status] ?? 0) + 1;
  }
  counts.companies = [...perCompany.values()];
  return counts;
}

const matches = (t: TableState, f: TableFilter): boolean =>
  (!f.company || t.sourceSchema === f.company) &&
  (!f.status || t.status === f.status) &&
  (!f.table || matchesPattern(f.table.includes('.') ? t.key : t.table, f.table));

export interface ChecklistPage {
  page: number;
  pageSize: number;
  total: number;
  pages: number;
  items: ChecklistItem[];
}

/** What the page shows of its tables, and what its decisions need, in a bounded summary. */
export function summarize(tables: Iterable<TableState>): TableSummary {
  const all = [...tables];
  const migratable = all.filter((t) => !t.notMigratedReason);
  return {
    counts: tableCounts(all),
    verified: all.filter((t) => t.verification?.status === 'Verified').length,
    problemTables: all.filter(isProblem).sort(byPriority).slice(0, STATUS_PROBLEM_TABLES).map(pageRow),
    migratable: migratable.length,
    loaded: migratable.filter((t) => t.fullLoadDone).length,
    owedFullLoad: migratable.filter((t) => t.hasPrimaryKey && !t.fullLoadDone).length,
    history: migratable.filter((t) => t.history).length,
  };
}

/** Page `page` of `tables` that match the request, problems first. */
export function tablePageOf(tables: Iterable<TableState>, req: TableFilter & PageRequest = {}): TablePage {
  const filter: TableFilter = {};
  if (req.company) filter.company = req.company;
  if (req.status) filter.status = req.status;
  if (req.table) filter.table = req.table;
  const { rows, ...at } = pageOf([...tables].filter((t) => matches(t, filter)).sort(byPriority), req);
  return { filter, ...at, tables: rows.map(pageRow) };
}

/** The Setup Checklist's page `req` of `items`. */
export function checklistPageOf(items: ChecklistItem[], req: PageRequest = {}): ChecklistPage {
  const { rows, ...at } = pageOf(items, req);
  return { ...at, items: rows.map((i) => ({ ...i, action: bounded(i.action, MAX_ROW_TEXT) })) };
}

/** One line of the Setup Checklist: what must be set up online before the cloud tenant takes over. */
export interface ChecklistItem {
  kind: 'table not migrated' | 'table failed' | 'rows rejected' | 'secondary object';
  object: string;
  action: string;
}

/** The Setup Checklist of these tables and findings. */
export function checklistOf(tables: Iterable<TableState>, findings: FindingRow[]): ChecklistItem[] {
  const items: ChecklistItem[] = [];
  for (const t of tables) {
    if (t.notMigratedReason) items.push({ kind: 'table not migrated', object: t.key, action: t.notMigratedReason });
    else if (t.status === 'Failed') items.push({ kind: 'table failed', object: t.key, action: `fix and run again: ${t.errorMessage ?? 'see the run log'}` });
    else if (t.errors > 0) items.push({ kind: 'rows rejected', object: t.key, action: `fix them at the source; the next run brings them: ${t.errorMessage ?? `${t.errors} rows rejected`}` });
  }
  for (const f of findings) {
    if (/ is not (replicated|created on the target)/.test(f.message)) items.push({ kind: 'secondary object', object: f.table ?? '', action: f.message });
  }
  return items;
}

/** A text as the page keeps it: at most `max` characters, saying it was cut (refused requests, rows of pages). */
export const bounded = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text);

/** A table's share of the next run: key-less tables are copied whole every time. */
export function toWork(t: TableState): TableWork {
  return {
    key: t.key, sourceSchema: t.sourceSchema, targetSchema: t.targetSchema, table: t.table, hasPrimaryKey: t.hasPrimaryKey,
    splittable: t.splittable, estimatedRows: t.estimatedRows, warning: t.warning, full: !t.fullLoadDone || !t.hasPrimaryKey,
    ...(t.keepFrom ? { keepFrom: t.keepFrom } : {}),
  };
}
