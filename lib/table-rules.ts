// What happens to one table's row on the page: under a new plan, after its part of a run, a schema
// change, a verification, a reset. Pure rules, shared by the management workflow (its page) and the
// activities that keep the same rows on the target (activities/table-store.ts), so both say the same.
import type { SchemaFollowResult, TablePlan, TableRunResult, TableState, TableVerification } from './types';

/** The operator's line for a table that does not verify. */
export function verificationMessage(v: TableVerification | NonNullable<TableState['verification']>): string {
  if (v.status === 'Failed') return `verification failed: ${v.error ?? 'unknown error'}`;
  const parts = [
    v.missing && `${v.missing} rows missing`, v.extra && `${v.extra} extra`, v.different && `${v.different} different`,
    v.definition.length > 0 && `definition differs (${v.definition.join('; ')})`,
  ].filter(Boolean);
  return `verification at ${v.at}: ${parts.join(', ')}${v.examples.length ? ` (e.g. ${v.examples.join(', ')})` : ''}`;
}

const VERIFICATION_NOTE = /^verification (at|failed)/;

/** One table's verification folded into its row: a table that does not verify is `Warning` with the reason, never `Successful`. */
export function verifiedTable(t: TableState, r: TableVerification): void {
  const { key: _key, rowsCompared: _rows, chunks: _chunks, pending: _pending, pauses: _pauses, pausedMs: _paused, ...summary } = r;
  t.verification = summary;
  // A failed table keeps what its run said; a Warning keeps its run's reason (rejected rows, capture
  // lost): the verification column says the rest. Only a table called Successful is changed.
  const noted = !!t.errorMessage && VERIFICATION_NOTE.test(t.errorMessage);
  if (r.status !== 'Verified') {
    if (t.status === 'Successful' || (t.status === 'Warning' && noted)) {
      t.status = 'Warning';
      t.errorMessage = verificationMessage(r);
    }
  } else if (t.status === 'Warning' && noted) {
    // The difference it reported is gone: the table is what its runs say again.
    t.status = t.errors > 0 || t.warning ? 'Warning' : 'Successful';
    t.errorMessage = t.warning;
  }
}

/** One table after Reset Cloud Data: nothing loaded (a table not migrated stays as it is). */
export function resetTable(t: TableState): void {
  if (t.notMigratedReason) return;
  Object.assign(t, { status: 'Not Started', fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: false });
  delete t.lastSyncPosition;
  delete t.errorMessage;
  delete t.verification;
}

/** One historical table emptied for Rerun Detail Snapshot: loaded in full by the next run. */
export function snapshotResetTable(t: TableState): void {
  Object.assign(t, { status: 'Not Started', fullLoadRows: 0, errors: 0, fullLoadDone: false });
  delete t.errorMessage;
  delete t.verification;
}

/** A table's row under a new plan, keeping what earlier runs recorded of it. */
export function assessedTable(known: TableState | undefined, plan: TablePlan): TableState {
  // A table remapped to another target schema starts over: nothing has been loaded there yet.
  if (!known || known.targetSchema !== plan.targetSchema) return newTable(plan);
  // The new plan replaces the old one: a reason or warning that is gone at the source must not linger.
  const { notMigratedReason: _reason, warning: _warning, history: _history, keepFrom: _keepFrom, ...kept } = known;
  return {
    ...kept, ...plan, status: plan.notMigratedReason ? 'Not Migrated' : known.status === 'Not Migrated' ? 'Not Started' : known.status,
    // A table that gained a key was copied whole until now, with no capture: load it in full once more.
    fullLoadDone: known.fullLoadDone && known.hasPrimaryKey === plan.hasPrimaryKey,
  };
}

/** A table seen for the first time: nothing loaded. */
export function newTable(plan: TablePlan): TableState {
  return {
    ...plan, status: plan.notMigratedReason ? 'Not Migrated' : 'Not Started',
    fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: false,
  };
}

/** The schema changes a run followed: tables dropped, added, replanned, and what was done to each. */
export function applySchemaChanges(state: { tables: Record<string, TableState> }, run: number, schema: SchemaFollowResult): void {
  for (const key of schema.dropped) delete state.tables[key];
  // A renamed table keeps its statistics under its new name.
  for (const { from, plan } of schema.renamed ?? []) {
    const t = state.tables[from];
    delete state.tables[from];
    if (t) state.tables[plan.key] = { ...t, ...plan };
  }
  for (const plan of schema.added) state.tables[plan.key] = newTable(plan);
  for (const plan of schema.replanned) {
    const t = state.tables[plan.key];
    if (t) Object.assign(t, { hasPrimaryKey: plan.hasPrimaryKey, splittable: plan.splittable, warning: plan.warning });
  }
  // Copied in full by this run: its full-load count is this copy's (the run result says whether it finished).
  for (const key of schema.rebuilt ?? []) if (state.tables[key]) state.tables[key].fullLoadDone = false;
  for (const c of schema.changes) {
    const t = state.tables[c.key];
    if (!t) continue;
    t.schemaChange = `run #${run}: ${c.change}: ${c.action}`;
    if (!c.failed) delete t.resyncRequested;
  }
}

/** A table's row after its part of run `run`. Counts of changes accumulate, like a DMS console. */
export function ranTable(t: TableState, r: TableRunResult, run: number): TableState {
  const loadedInFull = !t.fullLoadDone || !t.hasPrimaryKey;
  // A difference a verification found (this run's rolling one, or an earlier one nothing has
  // mended since) keeps the table from `Successful`.
  const verification = r.verification ?? t.verification;
  const unverified = r.status === 'Successful' && verification && verification.status !== 'Verified';
  return {
    ...t,
    verification,
    status: unverified ? 'Warning' : r.status,
    fullLoadRows: loadedInFull ? r.fullLoadRows : t.fullLoadRows,
    inserts: t.inserts + r.inserts,
    updates: t.updates + r.updates,
    deletes: t.deletes + r.deletes,
    errors: r.errors,
    durationMs: r.durationMs,
    lastSyncPosition: r.lastSyncPosition ?? t.lastSyncPosition,
    errorMessage: unverified ? verificationMessage(verification!) : r.errorMessage,
    fullLoadDone: r.fullLoadDone,
    lastRun: run,
  };
}
