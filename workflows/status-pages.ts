// What the `status`, `tables` and `setupChecklist` queries answer. Every answer is bounded whatever the
// number of tables: a query's answer is one payload, and past Temporal's 2 MiB limit `cm status`,
// `cm run --wait` and the UI failed on a tenant of about 5,900 tables. The page is a summary (tiles,
// counts, the latest runs, the problem tables first); every table is reachable in filtered pages.
// Pure functions, unit-tested directly.
import type { FindingRow, PageRequest, StatusPage, TableFilter, TablePage, TableStatus, TableSummary, TenantConfig, Tiles } from '../lib/types';
import { describeSchedule, nextRun } from '../lib/schedule';
import { bounded, checklistPageOf, MAX_ROW_TEXT, pageRow, summarize, tablePageOf, type ChecklistPage } from '../lib/table-pages';
import { setupChecklist, type TenantState } from './tenant-state';

/** Runs on the page (the log itself keeps more, for the audit). */
export const STATUS_LOG_ENTRIES = 50;
export const STATUS_FINDINGS = 100;
const SEVERITY_ORDER: FindingRow['severity'][] = ['error', 'warning', 'info'];

/** Page `page` (1-based) of the tables that match, problems first. A page past the end is empty. */
export function tablePage(state: TenantState, req: TableFilter & PageRequest = {}): TablePage {
  return tablePageOf(Object.values(state.tables), req);
}

/** The Setup Checklist in pages: a tenant can leave thousands of tables out. */
export function checklistPage(state: TenantState, req: PageRequest = {}): ChecklistPage {
  return checklistPageOf(setupChecklist(state), req);
}

/** The tiles, from the summary. */
export function summaryTiles(summary: TableSummary, nextScheduledRun: string | null): Tiles {
  const n = (s: TableStatus): number => summary.counts.byStatus[s] ?? 0;
  return { successful: n('Successful'), warnings: n('Warning'), failed: n('Failed'), notMigrated: n('Not Migrated'), verified: summary.verified, nextScheduledRun };
}

/**
 * The status query's answer. `summary`: the tables' summary, kept by the workflow when their rows
 * live on the target (`tableRows` says where pages are read then); computed from the page otherwise.
 */
export function statusPage(config: TenantConfig, state: TenantState, summary: TableSummary = summarize(Object.values(state.tables)), tableRows?: { taskQueue: string }): StatusPage {
  const findings = [...state.findings].sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  return {
    tenant: config.tenant,
    // An execution started before 1.7.0 may still carry the old spelling: the answer has one.
    status: state.status === 'Upgrade pending' ? 'Upgrade Pending' : state.status,
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
    lakeExports: state.lakeExports ?? [],
  };
}
