// What the `status`, `tables` and `setupChecklist` queries answer. Every answer is bounded whatever the
// number of tables: a query's answer is one payload, and past Temporal's 2 MiB limit `cm status`,
// `cm run --wait` and the UI failed on a tenant of about 5,900 tables. The page is a summary (tiles,
// counts, the latest runs, the problem tables first); every table is reachable in filtered pages.
// Pure functions, unit-tested directly.
import type { FindingRow, PageRequest, StatusPage, TableCounts, TableFilter, TablePage, TableState, TableStatus, TableSummary, TenantConfig, Tiles } from '../lib/types';
import { describeSchedule, nextRun } from '../lib/schedule';
import { matchesPattern } from '../lib/company-tables';
import { bounded, setupChecklist, type ChecklistItem, type TenantState } from './tenant-state';

/** Runs on the page (the log itself keeps more, for the audit). */
export const STATUS_LOG_ENTRIES = 50;
export const STATUS_PROBLEM_TABLES = 20;
export const STATUS_FINDINGS = 100;
export const DEFAULT_PAGE_SIZE = 100;
/** A row's text fields are cut to this in pages, so that 100 rows stay far below the payload limit. */
export const MAX_ROW_TEXT = 500;
export const MAX_PAGE_SIZE = 100;

/** The statuses the operator must act on: the page lists these tables first. */
export const PROBLEM_STATUSES: TableStatus[] = ['Failed', 'Warning', 'Not Migrated'];
/** Problems first, then what is still to do, then what is done. */
const STATUS_ORDER: TableStatus[] = [...PROBLEM_STATUSES, 'In Progress', 'Not Started', 'Successful'];
const rank = (s: TableStatus): number => STATUS_ORDER.indexOf(s);
const SEVERITY_ORDER: FindingRow['severity'][] = ['error', 'warning', 'info'];
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

/** Page `page` (1-based) of the tables that match, problems first. A page past the end is empty. */
export function tablePage(state: TenantState, req: TableFilter & PageRequest = {}): TablePage {
  return tablePageOf(Object.values(state.tables), req);
}

export interface ChecklistPage {
  page: number;
  pageSize: number;
  total: number;
  pages: number;
  items: ChecklistItem[];
}

/** The Setup Checklist in pages: a tenant can leave thousands of tables out. */
export function checklistPage(state: TenantState, req: PageRequest = {}): ChecklistPage {
  return checklistPageOf(setupChecklist(state), req);
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

/** The tiles, from the summary. */
export function summaryTiles(summary: TableSummary, nextScheduledRun: string | null): Tiles {
  const n = (s: TableStatus): number => summary.counts.byStatus[s] ?? 0;
  return { successful: n('Successful'), warnings: n('Warning'), failed: n('Failed'), notMigrated: n('Not Migrated'), verified: summary.verified, nextScheduledRun };
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

/**
 * The status query's answer. `summary`: the tables' summary, kept by the workflow when their rows
 * live on the target (`tableRows` says where pages are read then); computed from the page otherwise.
 */
export function statusPage(config: TenantConfig, state: TenantState, summary: TableSummary = summarize(Object.values(state.tables)), tableRows?: { taskQueue: string }): StatusPage {
  const findings = [...state.findings].sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  return {
    tenant: config.tenant,
    status: state.status,
    environmentState: state.environmentState,
    sourceConnection: config.sourceConnection,
    targetConnection: config.targetConnection,
    companies: config.companies,
    // Tenants set up before binlog capture existed use triggers.
    capture: state.capture ?? (state.setupDone ? { mode: 'triggers', reason: 'set up before binary log capture existed' } : undefined),
    setupError: state.setupError,
    // The workflow's clock (the time of its latest activation): deterministic, and fresh enough for a tile.
    tiles: summaryTiles(summary, state.schedule ? nextRun(state.schedule, new Date()) : null),
    schedule: state.schedule ? describeSchedule(state.schedule) : undefined,
    runtimeKey: state.runtimeKey,
    disabled: state.disabled,
    currentRun: state.currentRun !== undefined ? state.log.find((e) => e.run === state.currentRun) : undefined,
    log: state.log.slice(-STATUS_LOG_ENTRIES),
    logTotal: state.log.length,
    tableCounts: summary.counts,
    problemTables: summary.problemTables,
    ...(tableRows ? { tableRows } : {}),
    ...(summary.error ? { tableRowsError: summary.error } : {}),
    findings: findings.slice(0, STATUS_FINDINGS).map((f) => ({ ...f, message: bounded(f.message, MAX_ROW_TEXT) })),
    findingsTotal: Math.max(findings.length, state.findingsTotal ?? 0),
    refusals: state.refusals,
    dataVersion: state.dataVersion,
    upgrades: state.upgrades,
    hotfixes: state.hotfixes,
    verifications: state.verifications,
  };
}
