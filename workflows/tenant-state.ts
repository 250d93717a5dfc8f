// The management page's state and the rules over it. Pure functions: no Temporal calls, so they
// are unit-tested directly and behave the same on replay.
import type {
  LakeExportLogEntry,
  CaptureChoice, DisableResult, VerificationLogEntry, VerificationResult, VerifyRequest,
  Assessment, CompanyMapping, EnvironmentState, FindingRow, HotfixRecord, RefusalEntry, RunKind, RunLogEntry, RunResult,
  RuntimeKeyInfo, SchemaFollowInput, TableRef, TableState, TableSummary, TableWork, TenantStatus, Tiles, UpgradeLogEntry,
} from '../lib/types';
import type { ScheduleSpec } from '../lib/schedule';
import { rowsOf, runKindOf } from './run-plan';
import { matchesPattern } from '../lib/company-tables';
import { bounded, checklistOf, toWork, type ChecklistItem } from '../lib/table-pages';
import { applySchemaChanges, assessedTable, ranTable, resetTable, snapshotResetTable, verificationMessage, verifiedTable } from '../lib/table-rules';

export { applySchemaChanges, verificationMessage };

export interface PendingRun {
  trigger: 'update' | 'signal';
  requestedBy?: string;
  reason?: string;
}

export interface TenantState {
  status: TenantStatus;
  environmentState: EnvironmentState;
  setupDone: boolean;
  setupPending: boolean;
  setupError?: string;
  sourceSchemas: string[];
  tables: Record<string, TableState>;
  findings: FindingRow[];
  log: RunLogEntry[];
  refusals: RefusalEntry[];
  nextRun: number;
  pendingRun?: PendingRun;
  currentRun?: number;
  /** Held by a data upgrade: replication and hotfixes are refused while it is set. */
  fence?: { holder: string };
  /** The version of the tenant's data; an upgrade moves it on (upgrades/<from>-<to>). */
  dataVersion: string;
  upgrades: UpgradeLogEntry[];
  nextUpgrade: number;
  /** `to`: the version asked for (unset: the next one). `stepsDir` only in states carried from earlier versions: ignored. */
  pendingUpgrade?: PendingRun & { to?: string; stepsDir?: string };
  currentUpgrade?: number;
  hotfixes: HotfixRecord[];
  hotfixInProgress?: string;
  resetInProgress?: boolean;
  /** The replication schedule, kept by a Temporal Schedule; the page shows its next run. */
  schedule?: ScheduleSpec;
  disabled?: DisableResult;
  /** The runtime service key's public id and history (never the key). */
  runtimeKey?: RuntimeKeyInfo;
  disableRequest?: PendingRun & { skipFinalRun: boolean; skipVerification?: boolean };
  verifications: VerificationLogEntry[];
  nextVerification: number;
  /** How changes are captured, chosen at setup (absent for tenants set up before binlog capture: triggers). */
  capture?: CaptureChoice;
  /** Once the rows live on the target (cm_control.table_state): `tables` is empty, and this is what the page keeps of them. */
  tableSummary?: TableSummary;
  /** All the findings, when `findings` holds only the first of them. */
  findingsTotal?: number;
  pendingVerification?: PendingRun & VerifyRequest;
  currentVerification?: number;
  /** Data lake exports, newest last (absent in states carried from before the lake). */
  lakeExports?: LakeExportLogEntry[];
  nextLakeExport?: number;
}

const MAX_LOG = 500;
/** A run's log entry lists this many schema changes; each table keeps its latest one. */
const MAX_SCHEMA_CHANGES_LOGGED = 50;
const MAX_REFUSALS = 50;

export function initialState(dataVersion = '1.0'): TenantState {
  return {
    dataVersion,
    upgrades: [],
    nextUpgrade: 1,
    hotfixes: [],
    status: 'Setup In Progress',
    environmentState: 'Active',
    setupDone: false,
    setupPending: true,
    sourceSchemas: [],
    tables: {},
    findings: [],
    log: [],
    refusals: [],
    nextRun: 1,
    verifications: [],
    nextVerification: 1,
  };
}

export type Work = 'run' | 'upgrade' | 'setup' | 'hotfix' | 'reset' | 'verify';

/**
 * What is going on in the tenant that an action must not overlap ("run #3", "a data upgrade"…), or
 * undefined when nothing is. One list for every action, so that no action forgets one: each names
 * only the work it may run beside. Requested-but-not-started work counts: the main loop starts it
 * later, and two updates accepted in one activation must not both go ahead.
 */
export function busyWith(state: TenantState, allowed: Work[] = []): string | undefined {
  const work: [Work, string | false][] = [
    ['run', (state.currentRun !== undefined || !!state.pendingRun) && `run #${state.currentRun ?? state.nextRun}`],
    ['upgrade', (state.currentUpgrade !== undefined || !!state.pendingUpgrade || !!state.fence) && 'a data upgrade'],
    ['setup', state.setupPending && 'setup'],
    ['hotfix', !!state.hotfixInProgress && `hotfix ${state.hotfixInProgress}`],
    ['reset', !!state.resetInProgress && 'a reset'],
    ['verify', (state.currentVerification !== undefined || !!state.pendingVerification) && `verification #${state.currentVerification ?? state.nextVerification}`],
  ];
  const found = work.find(([kind, what]) => what && !allowed.includes(kind));
  return found ? (found[1] as string) : undefined;
}

const DISABLED = 'cloud migration is disabled for this tenant';
const isDisabled = (state: TenantState): boolean => !!(state.disabled || state.disableRequest);

/** Why a migration run cannot start now, or undefined when it can. */
export function refuseRun(state: TenantState): string | undefined {
  if (isDisabled(state)) return DISABLED;
  if (state.fence) return `a data upgrade (${state.fence.holder}) holds the fence: replication is refused until it ends`;
  if (state.status === 'Upgrade completed successfully') {
    return `the tenant's data was upgraded to version ${state.dataVersion}: replication from the on-premises version is refused; disable cloud migration, upgrade on-premises, then set it up again`;
  }
  if (state.setupError) return `setup failed: ${state.setupError}`;
  if (!state.setupDone || state.setupPending) return 'setup has not completed yet: wait until the status is Ready';
  if (state.currentRun !== undefined) return `run #${state.currentRun} is already in progress`;
  if (state.pendingRun) return 'a run was just requested and is starting';
  if (state.resetInProgress) return 'the target is being reset: run after it ends';
  // A hotfix may run beside replication; nothing else may (an upgrade requested but not yet started included).
  const busy = busyWith(state, ['hotfix']);
  return busy && `${busy} is in progress`;
}

/**
 * Disable Cloud Migration's checklist: nothing running, and the final run done (the latest run
 * completed) or explicitly skipped. Returns the reason it cannot go ahead, or undefined.
 */
export function refuseDisable(state: TenantState, skipFinalRun: boolean, skipVerification = false): string | undefined {
  if (state.disabled || state.disableRequest) return 'cloud migration is already disabled';
  const busy = busyWith(state);
  if (busy) return `checklist: nothing may be running, but ${busy} is in progress`;
  const exporting = lakeExportRunning(state);
  if (exporting) return `checklist: nothing may be running, but a data lake export (${exporting.workflowId}) is in progress`;
  const last = state.log[state.log.length - 1];
  // After a successful upgrade the target is a new version of the data: it no longer equals the source.
  const upgraded = state.status === 'Upgrade completed successfully';
  if (!skipFinalRun && !upgraded && last?.status !== 'Completed') {
    return `checklist: the final run is not done (${last ? `run #${last.run} ${last.status}` : 'no run yet'}): run it, or send {"skipFinalRun": true}`;
  }
  if (!skipVerification && !upgraded && last) {
    const v = [...state.verifications].reverse().find((e) => e.status !== 'In Progress');
    if (!v || v.afterRun !== last.run || v.status !== 'Equal' || v.scope) {
      const seen = v ? `verification #${v.number}${v.scope ? ` of ${v.scope} only` : ''} after run #${v.afterRun}: ${v.status}` : 'no verification yet';
      return `checklist: the target has not been verified equal to the source after the final run #${last.run} (${seen}): run \`cm verify\` (with --repair to mend differences), or send {"skipVerification": true}`;
    }
  }
  return undefined;
}

/** Why a verification cannot start now. */
/** A data lake export that has not ended: it keeps the workflow from continuing as new, and Disable waits for it. */
export const lakeExportRunning = (state: TenantState): LakeExportLogEntry | undefined => state.lakeExports?.find((e) => e.status === 'In Progress');

/** Why a data lake export cannot start now, or undefined when it can. */
export function refuseLakeExport(state: TenantState, req: { companies?: string[]; historyOnly?: boolean }, companies: CompanyMapping[]): string | undefined {
  if (isDisabled(state)) return DISABLED;
  if (!state.setupDone || state.setupPending) return 'setup has not completed yet: the lake holds the tables setup planned';
  const running = lakeExportRunning(state);
  if (running) return `a data lake export (${running.workflowId}) is in progress: export again after it ends`;
  const unknown = (req.companies ?? []).filter((c) => !companies.some((m) => m.source === c));
  if (unknown.length > 0) return `unknown company ${unknown.map((c) => `'${c}'`).join(', ')}: this tenant's companies are ${companies.map((c) => c.source).join(', ')}`;
  const chosen = companies.filter((c) => !req.companies || req.companies.includes(c.source));
  if (req.historyOnly && !chosen.some((c) => c.oldestYear !== undefined)) {
    return 'no historical rows stay out of the cloud tenant: none of these companies has an oldest year (set one with `cm tenant companies <tenant> --company <source> --oldest-year <yyyy>`), so everything is in the migrated export';
  }
  return undefined;
}

export function refuseVerify(state: TenantState, req: VerifyRequest, companies: CompanyMapping[]): string | undefined {
  if (isDisabled(state)) return DISABLED;
  if (!state.setupDone || state.setupPending) return 'setup has not completed yet';
  if (state.status === 'Upgrade completed successfully') return `the target was upgraded to data version ${state.dataVersion}: it is meant to differ from the source now`;
  const busy = busyWith(state); // a run would drain changes mid-comparison; an upgrade, reset or hotfix changes the target
  if (busy) return `${busy} is in progress: verify after it ends`;
  if (req.company && !companies.some((c) => c.source === req.company)) {
    return `unknown company '${req.company}': this tenant's companies are ${companies.map((c) => c.source).join(', ')}`;
  }
  if (state.tableSummary) {
    // The rows live on the target: a request naming tables is checked by the verification itself.
    if (state.tableSummary.loaded === 0) return 'no table has been loaded yet: run a migration first';
  } else if (verifiableTables(state, req).length === 0) {
    return req.table || req.company ? `no migrated table matches ${[req.company && `company ${req.company}`, req.table && `table ${req.table}`].filter(Boolean).join(' and ')}` : 'no table has been loaded yet: run a migration first';
  }
  return undefined;
}

/** The tables a verification compares: loaded, keyed or not, narrowed by company and table pattern. */
export function verifiableTables(state: TenantState, req: VerifyRequest): TableState[] {
  return migratableTables(state).filter((t) => t.fullLoadDone && (!req.company || t.sourceSchema === req.company) && (!req.table || matchesPattern(t.table, req.table)));
}

/** Folds a verification into the page. */
export function applyVerification(state: TenantState, result: VerificationResult, endedAt: string): void {
  for (const r of result.tables) {
    const t = state.tables[r.key];
    if (t) verifiedTable(t, r);
  }
  const entry = state.verifications.find((e) => e.number === result.number);
  if (entry) {
    // Counts when each table's outcome went into its row on the target.
    const counts = result.counts ?? {
      tables: result.tables.length,
      verified: result.tables.filter((t) => t.status === 'Verified').length,
      differing: result.tables.filter((t) => t.status !== 'Verified').length,
      repaired: result.tables.reduce((n, t) => n + t.repaired, 0),
    };
    Object.assign(entry, { status: result.status, endedAt, verified: counts.verified, differing: counts.differing, repaired: counts.repaired });
    if (result.counts) entry.tables = result.counts.tables;
  }
  state.currentVerification = undefined;
}

/** Why the target cannot be reset now. */
export function refuseReset(state: TenantState, confirm: boolean): string | undefined {
  if (!confirm) return 'Reset Cloud Data empties every migrated table of the target: send {"confirm": true} to confirm';
  if (isDisabled(state)) return DISABLED;
  if (!state.setupDone || state.setupPending) return 'setup has not completed yet';
  if (state.currentRun !== undefined || state.pendingRun) return 'a run is in progress: reset after it ends';
  if (state.fence || state.currentUpgrade !== undefined || state.pendingUpgrade) return 'a data upgrade is in progress';
  if (state.status === 'Upgrade completed successfully') {
    return `the target's data was upgraded to version ${state.dataVersion}: emptying it cannot bring back version 1 tables; set up a new tenant instead`;
  }
  if (state.resetInProgress) return 'a reset is already in progress';
  const busy = busyWith(state);
  return busy && `${busy} is in progress: reset after it ends`;
}

/** After the target was emptied: every table starts over, and the next run is a full copy. */
export function applyReset(state: TenantState): void {
  for (const t of Object.values(state.tables)) resetTable(t);
  state.status = 'Ready';
}

/** Rerun Detail Snapshot: the historical tables, or why it cannot run now. */
export function refuseSnapshot(state: TenantState): string | undefined {
  const refused = refuseRun(state);
  if (refused) return refused;
  const busy = busyWith(state); // unlike a run, not beside a hotfix: it empties tables
  if (busy) return `${busy} is in progress`;
  if (state.tableSummary ? state.tableSummary.history === 0 : !migratableTables(state).some((t) => t.history)) {
    return 'no historical tables: none of the migrated tables matches a company\'s historyTables (default *_entry, *_history, *_hist)';
  }
  return undefined;
}

/** After the historical tables were emptied: they are loaded in full by the next run. */
export function applySnapshotReset(state: TenantState, keys: string[]): void {
  for (const key of keys) if (state.tables[key]) snapshotResetTable(state.tables[key]);
}

/** The Setup Checklist (seed 003): what was not migrated, each with its reason and what to do. */
export function setupChecklist(state: TenantState): ChecklistItem[] {
  return checklistOf(Object.values(state.tables), state.findings);
}

/**
 * Why a data upgrade cannot start now. It is refused while a replication run is in progress (not
 * queued behind it): the restore point must be taken of a complete, quiet copy, and an operator
 * who starts an upgrade should decide after seeing how the run ended.
 */
export function refuseUpgrade(state: TenantState): string | undefined {
  if (isDisabled(state)) return DISABLED;
  if (!state.setupDone || state.setupPending) return 'setup has not completed yet';
  if (state.currentUpgrade !== undefined || state.pendingUpgrade) return `data upgrade #${state.currentUpgrade ?? state.nextUpgrade} is already in progress`;
  if (state.status === 'Upgrade completed successfully') return `the tenant is already upgraded to version ${state.dataVersion}`;
  if (!state.log.some((e) => e.status === 'Completed')) return 'replication has not completed yet: a data upgrade needs at least one completed migration run';
  if (state.currentRun !== undefined || state.pendingRun) {
    return `run #${state.currentRun ?? state.nextRun} is in progress: a data upgrade needs a complete, quiet copy; start it after the run ends`;
  }
  if (state.hotfixInProgress) return `hotfix ${state.hotfixInProgress} is being applied: start the upgrade after it ends`;
  if (state.resetInProgress) return 'the target is being reset';
  const busy = busyWith(state);
  return busy && `${busy} is in progress`;
}

/** Why the runtime service key cannot be reset now. */
export function refuseKeyReset(state: TenantState): string | undefined {
  if (isDisabled(state)) return DISABLED;
  if (!state.setupDone) return 'setup has not completed yet: the first key is issued by setup';
  if (state.fence || state.currentUpgrade !== undefined || state.pendingUpgrade) {
    return 'a data upgrade holds the fence: reset the key after it ends, so that no runtime is shut out of its restore';
  }
  // Setup keeps (or issues) the key; a reset beside it would race its answer. Runs may go on.
  if (state.setupPending) return 'setup is in progress: reset the key after it ends';
  return undefined;
}

export function refuseHotfix(state: TenantState, schemas: string[], known: string[]): string | undefined {
  if (isDisabled(state)) return DISABLED;
  if (state.fence) return `a data upgrade (${state.fence.holder}) holds the fence: hotfixes are refused until it ends`;
  if (!state.setupDone) return 'setup has not completed yet';
  if (state.hotfixInProgress) return `hotfix ${state.hotfixInProgress} is being applied`;
  const busy = busyWith(state, ['run']); // beside replication, yes; beside an upgrade, setup or reset, no
  if (busy) return `${busy} is in progress: apply the hotfix after it ends`;
  const unknown = schemas.filter((s) => !known.includes(s));
  if (unknown.length > 0) return `not a target schema of this tenant: ${unknown.join(', ')} (known: ${known.join(', ')})`;
  return undefined;
}

/** Why these companies cannot be configured, or undefined when they can. */
export function refuseCompanies(state: TenantState, companies: CompanyMapping[]): string | undefined {
  if (isDisabled(state)) return DISABLED;
  if (state.currentRun !== undefined || state.pendingRun) return 'a run is in progress: change the companies after it ends';
  const busy = busyWith(state);
  if (busy) return `${busy} is in progress: change the companies after it ends`;
  return unknownCompanies(state.sourceSchemas, companies);
}

/** Companies whose source schema does not exist, as the message the operator sees. */
export function unknownCompanies(sourceSchemas: string[], companies: CompanyMapping[]): string | undefined {
  const unknown = companies.filter((c) => !sourceSchemas.includes(c.source));
  if (unknown.length === 0) return undefined;
  return `unknown company ${unknown.map((c) => `'${c.source}'`).join(', ')}: no such schema on the source; known schemas: ${sourceSchemas.join(', ') || 'none'}`;
}

/** Why the replication schedule cannot be changed now. */
export function refuseSchedule(state: TenantState): string | undefined {
  return isDisabled(state) ? DISABLED : undefined;
}

/** Appends, dropping the oldest beyond `max`: the page travels in every continue-as-new input. */
/** The page's fence comes down: the upgrade is over, whatever its outcome. */
export function liftFence(state: TenantState): void {
  state.fence = undefined;
  state.currentUpgrade = undefined;
  state.environmentState = 'Active';
}

export function appendCapped<T>(list: T[], entry: T, max = MAX_LOG): void {
  list.push(entry);
  if (list.length > max) list.splice(0, list.length - max);
}

/**
 * Records a refusal. A refused request was not validated, so what it carried is cut to what the
 * schema allows: four signals of 1.5 MB each once took the page past Temporal's 4 MB limit.
 */
export function recordRefusal(state: TenantState, entry: RefusalEntry): void {
  const kept: RefusalEntry = { ...entry, reason: bounded(entry.reason, 2000) };
  if (entry.requestedBy !== undefined) kept.requestedBy = bounded(String(entry.requestedBy), 200);
  appendCapped(state.refusals, kept, MAX_REFUSALS);
}

/** Takes an assessment into the per-table state, keeping what earlier runs recorded. */
export function applyAssessment(state: TenantState, assessment: Assessment): void {
  state.sourceSchemas = assessment.sourceSchemas;
  state.findings = assessment.findings;
  const next: Record<string, TableState> = {};
  for (const plan of assessment.tables) next[plan.key] = assessedTable(state.tables[plan.key], plan);
  state.tables = next;
}

/** Just what activities need to find the tables (the page's statistics stay in the workflow). */
export const tableRefs = (tables: TableState[]): TableRef[] => tables.map(({ key, sourceSchema, targetSchema, table }) => ({ key, sourceSchema, targetSchema, table }));

export function migratableTables(state: TenantState): TableState[] {
  return Object.values(state.tables).filter((t) => !t.notMigratedReason);
}

/** A run is `full` while any table still needs its first complete load. */
/** What a run needs to follow the source's schema: the companies, the tables not migrated, the resyncs asked for. */
export function schemaFollowInput(state: TenantState, companies: CompanyMapping[]): SchemaFollowInput {
  const all = Object.values(state.tables);
  return { companies, notMigrated: all.filter((t) => t.notMigratedReason).map((t) => t.key), resync: all.filter((t) => t.resyncRequested).map((t) => t.key) };
}

export function runKind(state: TenantState): RunKind {
  return runKindOf(migratableTables(state).map(toWork));
}

export function startRunEntry(state: TenantState, entry: RunLogEntry): void {
  appendCapped(state.log, entry);
  state.currentRun = entry.run;
}

/** Folds a run's per-table results into the page. Counts of changes accumulate, like a DMS console. */
export function applyRunResult(state: TenantState, result: RunResult, endedAt: string): void {
  // With counts, the run's activities changed the rows on the target themselves.
  if (result.schema && !result.counts) applySchemaChanges(state, result.run, result.schema);
  let rows = 0;
  for (const r of result.tables) {
    const t = state.tables[r.key];
    if (!t) continue;
    rows += rowsOf(r);
    state.tables[r.key] = ranTable(t, r, result.run);
  }
  const entry = state.log.find((e) => e.run === result.run);
  if (entry) {
    entry.status = result.status;
    entry.endedAt = endedAt;
    // Counts when each table's result went into its row on the target.
    entry.tablesDone = result.counts?.tables ?? result.tables.length;
    entry.rows = result.counts?.rows ?? rows;
    entry.failure = result.failure;
    if (result.capture) entry.capture = result.capture;
    if (result.schema?.changes.length) {
      entry.schemaChanges = result.schema.changes.slice(0, MAX_SCHEMA_CHANGES_LOGGED);
      entry.schemaChangeCount = result.counts?.schemaChanges ?? result.schema.changes.length;
    }
  }
  state.currentRun = undefined;
}

export function tiles(state: TenantState, nextScheduledRun: string | null = null): Tiles {
  const all = Object.values(state.tables);
  const count = (s: TableState['status']): number => all.filter((t) => t.status === s).length;
  const verified = all.filter((t) => t.verification?.status === 'Verified').length;
  return { successful: count('Successful'), warnings: count('Warning'), failed: count('Failed'), notMigrated: count('Not Migrated'), verified, nextScheduledRun };
}
