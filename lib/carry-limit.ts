// Until per-table state moves out of the management workflow (issue 12), every table's row on the
// page travels in the tenant's continue-as-new input, and Temporal refuses an input over 2 MiB by
// terminating the workflow: the page, its log and its run numbers gone. These rules keep a tenant
// from getting there: setup refuses a tenant whose page could not be carried, before anything is
// changed, and the carried page sheds its long texts (never its counts) before it is handed on.
// Pure functions, unit-tested directly.
import type { FindingRow, RefusalEntry, RunLogEntry, TablePlan, TableState, UpgradeLogEntry } from './types';

/** Temporal's limit on one payload. */
export const PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;
/** What the tables may take of a carried page: the rest is for the logs, findings and config. */
export const CARRIED_TABLES_LIMIT_BYTES = 1_450_000;
/** A table's row costs this beyond its plan and its key, with no notes: status, counts, run number, position, a verification summary, field names. */
const ROW_OVERHEAD_BYTES = 380;
/** A carried text is cut to this much when the page is too large; the full one is in its run's own history. */
const CARRIED_TEXT = 200;
/** A finding's message, as setup counts it and as the page carries it at the last resort. */
const SHORT_FINDING = 100;
/** UTF-8 bytes of a value's JSON (what Temporal measures), without TextEncoder, which workflows may lack. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value) ?? '';
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Why setup refuses this assessment (undefined when it does not): its tables' rows and findings on the
 * page, counted as small as the page carries them (rows without notes, findings cut), would be more
 * than it can carry. Counted on the plan, before the target or the source is touched. Notes that
 * runs add later may still make the page too large to carry: carriedState then says so.
 */
export function tooManyTables(assessment: { tables: TablePlan[]; findings: FindingRow[] }): string | undefined {
  const plans = assessment.tables;
  const rows = plans.reduce((n, p) => n + jsonBytes(p) + jsonBytes(p.key) + ROW_OVERHEAD_BYTES, 0);
  const findings = assessment.findings.reduce((n, f) => n + jsonBytes({ ...f, message: f.message.slice(0, SHORT_FINDING) }), 0);
  const bytes = rows + findings;
  if (bytes <= CARRIED_TABLES_LIMIT_BYTES) return undefined;
  const perCompany = new Map<string, number>();
  for (const p of plans) perCompany.set(p.sourceSchema, (perCompany.get(p.sourceSchema) ?? 0) + 1);
  const fits = Math.floor((plans.length * CARRIED_TABLES_LIMIT_BYTES) / bytes);
  const companies = [...perCompany].map(([c, n]) => `${c}: ${n}`).join(', ');
  return (
    `this tenant has ${plans.length} tables (${companies}); their rows on the management page would take ` +
    `${(bytes / 1024 / 1024).toFixed(1)} MiB, and this version of cm carries every table's row in the tenant's workflow, ` +
    `which holds about ${fits} tables like these (Temporal limits a workflow's carried state to 2 MiB). Nothing was changed ` +
    'on the source or the target. Split the companies over several tenants (cm tenant create … with some of the companies each), ' +
    'or leave tables out with excludeTables in the company configuration'
  );
}

const cut = (text: string, max = CARRIED_TEXT): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/**
 * A row as it is carried when the page is too large: its long texts cut (`shortest`: the run's notes
 * dropped, pointing at the run whose history has them), its verification examples dropped. Every
 * status, count and run number is kept.
 */
function carriedRow(t: TableState, shortest: boolean): TableState {
  const row: TableState = { ...t };
  for (const k of ['warning', 'resyncRequested', 'notMigratedReason'] as const) {
    const text = row[k];
    if (text) row[k] = cut(text);
  }
  for (const k of ['errorMessage', 'schemaChange'] as const) {
    const text = row[k];
    if (text) row[k] = shortest ? (t.lastRun ? `see run #${t.lastRun}` : 'see the run log') : cut(text);
  }
  if (row.verification) {
    const { error, definition } = row.verification;
    row.verification = {
      ...row.verification, examples: [], definition: shortest ? [] : definition.slice(0, 3).map((d) => cut(d)),
      ...(error ? { error: shortest ? 'see the verification' : cut(error) } : {}),
    };
  }
  return row;
}

/** The whole carried state may take this much: the config and the envelope stay far below the rest. */
export const CARRIED_STATE_LIMIT_BYTES = 1_900_000;
/** A carried upgrade keeps this much of its stack trace: the whole one is in the upgrade's own history. */
const CARRIED_STACK = 1000;

type Page = { tables: Record<string, TableState>; findings: FindingRow[]; upgrades: UpgradeLogEntry[]; log: RunLogEntry[]; refusals: RefusalEntry[] };
/** The latest runs keep the schema changes they list; older ones keep only how many there were. */
const LOGGED_CHANGES_KEPT = 10;

function slimmed<S extends Page>(state: S, shortest: boolean): S {
  const tables: Record<string, TableState> = {};
  for (const [key, t] of Object.entries(state.tables)) tables[key] = carriedRow(t, shortest);
  return {
    ...state, tables,
    findings: state.findings.map((f) => ({ ...f, message: cut(f.message, shortest ? SHORT_FINDING : CARRIED_TEXT) })),
    upgrades: state.upgrades.map((u) => (u.stackTrace ? { ...u, stackTrace: cut(u.stackTrace, CARRIED_STACK) } : u)),
    log: state.log.map((e, i) => ({
      ...e, ...(e.failure ? { failure: cut(e.failure) } : {}),
      ...(e.schemaChanges && i < state.log.length - LOGGED_CHANGES_KEPT ? { schemaChanges: [] } : {}),
    })),
    refusals: state.refusals.map((r) => ({ ...r, reason: cut(r.reason) })),
  };
}

/**
 * The page as it is carried into the next execution: whole while it fits, else with its long texts
 * cut, else with the runs' notes dropped. Undefined when even that is too much: the workflow must then
 * not continue as new.
 */
export function carriedState<S extends Page>(state: S): S | undefined {
  if (jsonBytes(state) <= CARRIED_STATE_LIMIT_BYTES) return state;
  for (const shortest of [false, true]) {
    const slim = slimmed(state, shortest);
    if (jsonBytes(slim) <= CARRIED_STATE_LIMIT_BYTES) return slim;
  }
  return undefined;
}
