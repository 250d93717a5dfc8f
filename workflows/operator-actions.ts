// Operator actions that do their own work, one activity inside the update handler, while the main
// loop goes on: hotfixes, Reset Cloud Data, Rerun Detail Snapshot, the runtime service key and the
// replication schedule. Each refuses in its validator (nothing in history) with the reason.
import { ApplicationFailure, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { TABLE_ROWS } from '../lib/constants';
import { hotfixRequestSchema, keyRolloutRequestSchema, requesterSchema, resetKeyRequestSchema, resetRequestSchema, resyncRequestSchema, scheduleRequestSchema } from '../lib/schemas';
import { matchesPattern } from '../lib/company-tables';
import { describeSchedule } from '../lib/schedule';
import type { Requester, TenantConfig } from '../lib/types';
import { hotfixActivities, setupActivities } from './activity-options';
import {
  applyHotfixUpdate, DESCRIPTIONS, rerunDetailSnapshotUpdate, resetCloudDataUpdate, resetRuntimeServiceKeyUpdate, runtimeKeyRolloutUpdate, runtimeServiceKeyQuery,
  resyncTablesUpdate, setReplicationScheduleUpdate, type HotfixApplied, type RunStarted,
} from './messages';
import {
  appendCapped, applyReset, applySnapshotReset, migratableTables, refuseRun, tableRefs, refuseHotfix, refuseKeyReset, refuseReset, refuseSchedule, refuseSnapshot, type TenantState,
} from './tenant-state';
import { validated } from './validate';

export interface ActionContext {
  config: TenantConfig;
  state: TenantState;
  /** Refreshes search attributes and current details after the page changed. */
  publish(): void;
  /** Asks the main loop for a run and waits until it has started it. */
  requestRun(req?: Requester): Promise<RunStarted>;
  /** Reads the tables' summary again from their rows on the target (rows on the target only). */
  refreshSummary(): Promise<void>;
}

export function registerOperatorActions({ config, state, publish, requestRun, refreshSummary }: ActionContext): void {
  // The rows live on the target (state.tableSummary is kept): tables are named there, not listed here.
  const onTarget = (): boolean => state.tableSummary !== undefined;
  const targetSchemas = (): string[] => config.companies.map((c) => c.target);
  setHandler(
    applyHotfixUpdate,
    async (req): Promise<HotfixApplied> => {
      state.hotfixInProgress = req.name;
      try {
        const schemas = req.schemas ?? targetSchemas();
        const out = await hotfixActivities.applyHotfix.executeWithOptions({ summary: `Hotfix ${req.name} on ${schemas.join(', ')}` }, [{
          targetConnection: config.targetConnection, tenant: config.tenant, name: req.name, sql: req.sql, schemas, tenantSchemas: targetSchemas(),
          requestedBy: req.requestedBy, workflowId: workflowInfo().workflowId,
        }]);
        appendCapped(state.hotfixes, { name: req.name, checksum: out.checksum, schemas: out.applied, appliedAt: new Date().toISOString(), requestedBy: req.requestedBy, reason: req.reason });
        return { name: req.name, ...out };
      } finally {
        state.hotfixInProgress = undefined;
      }
    },
    {
      description: DESCRIPTIONS.applyHotfix,
      validator: (req) => {
        const parsed = validated(hotfixRequestSchema, req);
        const refusal = refuseHotfix(state, parsed.schemas ?? [], targetSchemas());
        if (refusal) throw new Error(refusal);
      },
    },
  );

  // Resync: the tables are marked on the page first, so a run that fails before it rebuilds them leaves them marked.
  const resyncTargets = (patterns: string[]) =>
    migratableTables(state).filter((t) => patterns.some((p) => matchesPattern(p.includes('.') ? t.key : t.table, p)));
  setHandler(
    resyncTablesUpdate,
    async (req): Promise<RunStarted> => {
      const marked = resyncTargets(req.tables);
      const by = `${req.requestedBy ?? 'unknown'}${req.reason ? `: ${req.reason}` : ''}`;
      for (const t of marked) t.resyncRequested = by;
      publish();
      if (onTarget()) {
        // Matched where the rows are: a pattern that names no migrated table refuses the whole request.
        const { unmatched } = await setupActivities.markResync.executeWithOptions(
          { summary: `Resync: mark the tables ${req.tables.join(', ')} for the next run` },
          [{ tenant: config.tenant, targetConnection: config.targetConnection, keys: [], requestedBy: by, patterns: req.tables }],
        );
        if (unmatched.length > 0) throw ApplicationFailure.nonRetryable(`no migrated table matches ${unmatched.join(', ')}: see \`cm status --all\` for the tenant's tables`, 'NoSuchTable');
        await refreshSummary();
      } else if (patched(TABLE_ROWS)) {
        await setupActivities.markResync.executeWithOptions(
          { summary: `Resync: mark ${marked.length} tables for the next run` },
          [{ tenant: config.tenant, targetConnection: config.targetConnection, keys: marked.map((t) => t.key), requestedBy: by }],
        );
      }
      return requestRun(req);
    },
    {
      description: DESCRIPTIONS.resyncTables,
      validator: (req) => {
        const parsed = validated(resyncRequestSchema, req);
        const refusal = refuseRun(state);
        if (refusal) throw new Error(refusal);
        const unmatched = onTarget() ? [] : parsed.tables.filter((p) => resyncTargets([p]).length === 0);
        if (unmatched.length > 0) throw new Error(`no migrated table matches ${unmatched.join(', ')}: see \`cm status\` for the tenant's tables`);
      },
    },
  );

  setHandler(
    rerunDetailSnapshotUpdate,
    async (req) => {
      const tables = tableRefs(migratableTables(state).filter((t) => t.history));
      const count = state.tableSummary?.history ?? tables.length;
      state.resetInProgress = true; // no run may start on half-emptied tables
      // Marked for a full load first: if emptying stops half-way, the next run still reloads them all.
      applySnapshotReset(state, tables.map((t) => t.key));
      try {
        await setupActivities.emptyTargetTables.executeWithOptions(
          { summary: `Rerun Detail Snapshot: empty ${count} historical tables on the target` },
          [{ targetConnection: config.targetConnection, tenant: config.tenant, tables, emptied: 'snapshot', ...(onTarget() ? { rows: true } : {}) }],
        );
        if (onTarget()) await refreshSummary();
      } finally {
        state.resetInProgress = false;
      }
      return { ...(await requestRun(req)), tables: count };
    },
    {
      description: DESCRIPTIONS.rerunDetailSnapshot,
      validator: (req) => {
        validated(requesterSchema, req);
        const refusal = refuseSnapshot(state);
        if (refusal) throw new Error(refusal);
      },
    },
  );

  setHandler(runtimeServiceKeyQuery, () => state.runtimeKey ?? null, { description: DESCRIPTIONS.runtimeServiceKey });
  setHandler(
    runtimeKeyRolloutUpdate,
    async (req) => {
      const rollout = await setupActivities.runtimeKeyRollout.executeWithOptions(
        { summary: `${req?.finish ? 'Finish the key rollout' : 'Key rollout'} of ${config.tenant}` },
        [{ tenant: config.tenant, targetConnection: config.targetConnection, finish: !!req?.finish, force: !!req?.force }],
      );
      state.runtimeKey = rollout.key;
      return rollout;
    },
    {
      description: DESCRIPTIONS.runtimeKeyRollout,
      validator: (req) => {
        validated(keyRolloutRequestSchema, req);
        if (state.disabled) throw new Error('cloud migration is disabled for this tenant');
        if (!state.setupDone) throw new Error('setup has not completed yet: the first key is issued by setup');
      },
    },
  );
  setHandler(
    resetRuntimeServiceKeyUpdate,
    async (req) => {
      state.runtimeKey = await setupActivities.resetRuntimeServiceKey.executeWithOptions(
        { summary: `Reset Runtime Service Key of ${config.tenant}${req?.requestedBy ? ` for ${req.requestedBy}` : ''}` },
        [{ tenant: config.tenant, targetConnection: config.targetConnection, requestedBy: req?.requestedBy, ...(req?.graceHours !== undefined ? { graceHours: req.graceHours } : {}) }],
      );
      return state.runtimeKey;
    },
    {
      description: DESCRIPTIONS.resetRuntimeServiceKey,
      validator: (req) => {
        validated(resetKeyRequestSchema, req);
        const refusal = refuseKeyReset(state);
        if (refusal) throw new Error(refusal);
      },
    },
  );

  setHandler(
    setReplicationScheduleUpdate,
    async (req) => {
      await setupActivities.setReplicationSchedule.executeWithOptions(
        { summary: req.schedule ? `Replication schedule: ${describeSchedule(req.schedule)}` : 'Replication schedule: off' },
        [{ tenant: config.tenant, taskQueue: workflowInfo().taskQueue, spec: req.schedule }],
      );
      state.schedule = req.schedule ?? undefined;
      return req.schedule ? describeSchedule(req.schedule) : 'off';
    },
    {
      description: DESCRIPTIONS.setReplicationSchedule,
      validator: (req) => {
        validated(scheduleRequestSchema, req);
        const refusal = refuseSchedule(state);
        if (refusal) throw new Error(refusal);
      },
    },
  );

  setHandler(
    resetCloudDataUpdate,
    async () => {
      state.resetInProgress = true;
      const tables = tableRefs(migratableTables(state));
      // Marked for a full load first: if emptying stops half-way, the next run still reloads every table.
      applyReset(state);
      publish();
      try {
        const emptied = await setupActivities.emptyTargetTables.executeWithOptions(
          { summary: `Reset Cloud Data: empty ${state.tableSummary?.migratable ?? tables.length} target tables` },
          [{ targetConnection: config.targetConnection, tenant: config.tenant, tables, emptied: 'reset', ...(onTarget() ? { rows: true } : {}) }],
        );
        if (onTarget()) await refreshSummary();
        return emptied;
      } finally {
        state.resetInProgress = false;
      }
    },
    {
      description: DESCRIPTIONS.resetCloudData,
      validator: (req) => {
        const parsed = validated(resetRequestSchema, req);
        const refusal = refuseReset(state, parsed.confirm === true);
        if (refusal) throw new Error(refusal);
      },
    },
  );
}
