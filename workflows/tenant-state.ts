// The management page's state and the rules over it. Pure functions: no Temporal calls, so they
// are unit-tested directly and behave the same on replay.
import type {
  Assessment, CompanyMapping, EnvironmentState, FindingRow, RefusalEntry, RunKind, RunLogEntry, RunResult, StatusPage,
  TableState, TenantConfig, TenantStatus, Tiles,
} from '../lib/types';

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
  /** Held by a data upgrade; replication is refused while it is set (see the upgrade issue). */
  fence?: { holder: string };
}

const MAX_LOG = 500;
const MAX_REFUSALS = 50;

export function initialState(): TenantState {
  return {
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
  };
}

/** Why a migration run cannot start now, or undefined when it can. */
export function refuseRun(state: TenantState): string | undefined {
  if (state.fence) return `a data upgrade (${state.fence.holder}) holds the fence: replication is refused until it ends`;
  if (state.setupError) return `setup failed: ${state.setupError}`;
  if (!state.setupDone || state.setupPending) return 'setup has not completed yet: wait until the status is Ready';
  if (state.currentRun !== undefined) return `run #${state.currentRun} is already in progress`;
  if (state.pendingRun) return 'a run was just requested and is starting';
  return undefined;
}

/** Why these companies cannot be configured, or undefined when they can. */
export function refuseCompanies(state: TenantState, companies: CompanyMapping[]): string | undefined {
  if (state.currentRun !== undefined || state.pendingRun) return 'a run is in progress: change the companies after it ends';
  const unknown = companies.filter((c) => !state.sourceSchemas.includes(c.source));
  if (unknown.length > 0) {
    return `unknown company ${unknown.map((c) => `'${c.source}'`).join(', ')}: no such schema on the source; known schemas: ${state.sourceSchemas.join(', ') || 'none'}`;
  }
  return undefined;
}

export function recordRefusal(state: TenantState, entry: RefusalEntry): void {
  state.refusals.push(entry);
  if (state.refusals.length > MAX_REFUSALS) state.refusals.splice(0, state.refusals.length - MAX_REFUSALS);
}

/** Takes an assessment into the per-table state, keeping what earlier runs recorded. */
export function applyAssessment(state: TenantState, assessment: Assessment): void {
  state.sourceSchemas = assessment.sourceSchemas;
  state.findings = assessment.findings;
  const next: Record<string, TableState> = {};
  for (const plan of assessment.tables) {
    const known = state.tables[plan.key];
    // A table remapped to another target schema starts over: nothing has been loaded there yet.
    if (known && known.targetSchema === plan.targetSchema) {
      // The new plan replaces the old one: a reason or warning that is gone at the source must not linger.
      const { notMigratedReason: _reason, warning: _warning, ...kept } = known;
      next[plan.key] = {
        ...kept, ...plan, status: plan.notMigratedReason ? 'Not Migrated' : known.status === 'Not Migrated' ? 'Not Started' : known.status,
        // A table that gained a key was copied whole until now, with no capture: load it in full once more.
        fullLoadDone: known.fullLoadDone && known.hasPrimaryKey === plan.hasPrimaryKey,
      };
    } else {
      next[plan.key] = {
        ...plan, status: plan.notMigratedReason ? 'Not Migrated' : 'Not Started',
        fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: false,
      };
    }
  }
  state.tables = next;
}

export function migratableTables(state: TenantState): TableState[] {
  return Object.values(state.tables).filter((t) => !t.notMigratedReason);
}

/** A run is `full` while any table still needs its first complete load. */
export function runKind(state: TenantState): RunKind {
  return migratableTables(state).some((t) => t.hasPrimaryKey && !t.fullLoadDone) ? 'full' : 'delta';
}

export function startRunEntry(state: TenantState, entry: RunLogEntry): void {
  state.log.push(entry);
  if (state.log.length > MAX_LOG) state.log.splice(0, state.log.length - MAX_LOG);
  state.currentRun = entry.run;
}

/** Folds a run's per-table results into the page. Counts of changes accumulate, like a DMS console. */
export function applyRunResult(state: TenantState, result: RunResult, endedAt: string): void {
  let rows = 0;
  for (const r of result.tables) {
    const t = state.tables[r.key];
    if (!t) continue;
    rows += r.fullLoadRows + r.inserts + r.updates + r.deletes;
    const loadedInFull = !t.fullLoadDone || !t.hasPrimaryKey;
    state.tables[r.key] = {
      ...t,
      status: r.status,
      fullLoadRows: loadedInFull ? r.fullLoadRows : t.fullLoadRows,
      inserts: t.inserts + r.inserts,
      updates: t.updates + r.updates,
      deletes: t.deletes + r.deletes,
      errors: r.errors,
      durationMs: r.durationMs,
      lastSyncPosition: r.lastSyncPosition ?? t.lastSyncPosition,
      errorMessage: r.errorMessage,
      fullLoadDone: r.fullLoadDone,
      lastRun: result.run,
    };
  }
  const entry = state.log.find((e) => e.run === result.run);
  if (entry) {
    entry.status = result.status;
    entry.endedAt = endedAt;
    entry.tablesDone = result.tables.length;
    entry.rows = rows;
    entry.failure = result.failure;
  }
  state.currentRun = undefined;
}

export function tiles(state: TenantState, nextScheduledRun: string | null = null): Tiles {
  const all = Object.values(state.tables);
  const count = (s: TableState['status']): number => all.filter((t) => t.status === s).length;
  return { successful: count('Successful'), warnings: count('Warning'), failed: count('Failed'), notMigrated: count('Not Migrated'), nextScheduledRun };
}

export function statusPage(config: TenantConfig, state: TenantState): StatusPage {
  return {
    tenant: config.tenant,
    status: state.status,
    environmentState: state.environmentState,
    sourceConnection: config.sourceConnection,
    targetConnection: config.targetConnection,
    companies: config.companies,
    setupError: state.setupError,
    tiles: tiles(state),
    currentRun: state.currentRun !== undefined ? state.log.find((e) => e.run === state.currentRun) : undefined,
    log: state.log,
    tables: Object.values(state.tables),
    findings: state.findings,
    refusals: state.refusals,
  };
}
