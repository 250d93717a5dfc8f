// The activity factory: every activity gets its database pools from the registry it closes over,
// and workflows only ever pass connection *names*.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ScheduleSpec } from '../lib/schedule';
import { upsertSchedule } from './schedule';
import { lakeExportOutcome } from './lake/outcome';
import type {
  RuntimeKeyInfo, KeepFrom, CaptureChoice, CaptureMode, CaptureModeSetting, FindingRow, PageRequest, TableFilter, TablePage, TableState, TableSummary,
  Assessment, CompanyMapping, CopySettings, SchemaFollowInput, SchemaFollowResult, EnvironmentState, KeyRange, RangeResult, TableRef, TableRunResult, TableWork, VerifySettings,
} from '../lib/types';
import { assess, UnknownCompanyError } from './assess';
import type { ConnectionRegistry } from './connections';
import { copyRows } from './copy';
import { copyIdOf, currentActivityId, readCopyCheckpoint, resumable, saveCopyCheckpoint } from './copy-checkpoint';
import { approximateColumns, copyColumns, listSchemas, readTable, readTables, type TableMeta } from './introspect';
import { ensureCapture, keyColumns, loadMeta, migrateTable, type TableCheckpoint } from './migrate-table';
import { captureTableIds, ensureCaptureSchema, installSchemaCaptures, removeCapture, requeueKeys, tenantCaptures } from './capture';
import { countTableResults, recordBacklog } from './metrics';
import { captureBacklog } from './delta';
import { captureSiteFor } from './capture-site';
import { binlogUnusable, dropPosition, stageBinlogChanges, startPosition, type StageResult } from './binlog-capture';
import { positionText } from '../lib/binlog-position';
import { forEachLimited, id, qualified, type KeyValue } from './sql';
import { claimTargetSchemas, createTargetTables, emptyTargetTables, ensureControlSchema, TargetRefused, writeEnvironmentState } from './target-schema';
import { assertNoFence, createUpgradeActivities } from './upgrade-activities';
import { checkRuntimeKey, ensureRuntimeKey, keyRollout, resetRuntimeKey, RuntimeKeyFiles, type KeyRollout } from './runtime-key';
import { prepareTargetSession } from './writer';
import { definitionDrift, driftMessage, type Drift } from './definition-drift';
import { createVerifyActivities } from './verify-tables';
import { createLakeActivities } from './lake';
import { claimName, claimTable, releaseTable } from './table-claim';
import type { RowDataPacket } from 'mysql2/promise';
import { followSchema } from './schema-follow';
import {
  applyStagedPlan, importRows, matchResync, readChecklistPage, readRefs, readRowsPage, readSchemaInput, readStagedPlan, readWork, stageFindings, stageNotMigrated, stagePlan,
  storeEmptied, storeResync, storeRunResults, storeSchemaChanges, summarizeRows, type WorkFilter,
} from './table-store';
import type { ChecklistPage } from '../lib/table-pages';
import { tooManyTables } from '../lib/carry-limit';
import { EXCLUDED_BY_CONFIGURATION } from '../lib/company-tables';

export interface SetupInput {
  tenant: string;
  sourceConnection: string;
  targetConnection: string;
  companies: CompanyMapping[];
  /** The tenant's capture setting (absent in older histories: triggers), and the mode it has now. */
  captureMode?: CaptureModeSetting;
  currentCapture?: CaptureChoice;
  /** The tenant's data version: a target upgraded past it is refused (absent in older histories). */
  dataVersion?: string;
  /** The tenant's first setup: its table rows start from nothing, whatever an earlier tenant of its name left (absent: false). */
  fresh?: boolean;
  /** The rows live on the target: the plan is not returned, and each step reads it from there (absent: false). */
  rows?: boolean;
}

/** Setup's assessment when the rows live on the target: what the page keeps, not the tables. */
export interface AssessmentSummary extends Assessment {
  tableCount: number;
  findingsTotal: number;
}

/** The page keeps this many findings, errors first; every one is in cm_control.table_finding. */
const FINDINGS_KEPT = 100;
const SEVERITY = ['error', 'warning', 'info'];

export interface MigrateTablesInput {
  tenant: string;
  sourceConnection: string;
  targetConnection: string;
  tables: TableWork[];
  copy: CopySettings;
  /** How the tenant captures changes (absent in older histories: triggers). */
  capture?: CaptureMode;
  /** How the run verifies what it touched; absent in runs started before verification (then it does not). */
  verify?: VerifySettings;
  /** The run: its results go into the tenant's table rows once (absent in runs from before the rows). */
  run?: number;
}

interface MigrateTablesCheckpoint {
  done: TableRunResult[];
  current?: TableCheckpoint;
}

export interface CopyRangeInput {
  tenant: string;
  sourceConnection: string;
  targetConnection: string;
  table: TableRef & { keepFrom?: KeepFrom };
  range: KeyRange;
  copy: CopySettings;
  capture?: CaptureMode;
}

/** Heartbeat details of the previous attempt, if this is a retry. */
function resumeFrom<T>(): T | undefined {
  return Context.current().info.heartbeatDetails as T | undefined;
}

/** What activities reach besides the databases: Temporal itself, for the replication schedule. */
export interface ActivityServices {
  temporalClient?: () => Promise<Client>;
  /** Where this runtime keeps its runtime service keys (default: CM_RUNTIME_KEY_DIR / CM_RUNTIME_KEY). */
  runtimeKeys?: RuntimeKeyFiles;
  /** Where this runtime's data upgrade steps live (default: CM_UPGRADES_DIR, else the shipped upgrades/). */
  upgradesRoot?: string;
}

/** The tenant of the workflow that scheduled this activity: cloud-migration/<tenant>[/…]. */
function callerTenant(): string | undefined {
  const m = /^cloud-migration\/([^/]+)/.exec(Context.current().info.workflowExecution?.workflowId ?? '');
  return m?.[1];
}

/** Whose change capture: histories from before capture was per tenant do not name the tenant. */
function captureTenant(input: { tenant?: string }): string {
  const tenant = input.tenant ?? callerTenant();
  if (!tenant) throw ApplicationFailure.nonRetryable('change capture needs the tenant it belongs to', 'NoTenant');
  return tenant;
}

// Activities that manage the key themselves, and the undo of a failed upgrade, which must never be
// abandoned: a runtime with the wrong key fails it retryably, so a runtime holding the key takes over.
const KEY_UNGUARDED = new Set(['issueRuntimeKey', 'resetRuntimeServiceKey', 'setReplicationSchedule']);
const KEY_RETRYABLE = new Set(['restoreToPoint', 'releaseFence']);

/**
 * Wraps every activity with the runtime service key check: before touching a tenant's databases,
 * this runtime must hold the tenant's current key. The key's hash is on the tenant's target, so
 * the check needs the activity's targetConnection; every tenant activity carries one.
 */
function guardedByRuntimeKey<T extends Record<string, (input: never) => Promise<unknown>>>(activities: T, conns: ConnectionRegistry, files: RuntimeKeyFiles): T {
  const guarded: Record<string, (input: never) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    guarded[name] = KEY_UNGUARDED.has(name)
      ? fn
      : async (input: never) => {
          const { tenant, targetConnection } = (input ?? {}) as { tenant?: string; targetConnection?: string };
          const who = tenant ?? callerTenant();
          if (who && targetConnection) await checkRuntimeKey(conns.pool(targetConnection), files, who, KEY_RETRYABLE.has(name));
          return fn(input);
        };
  }
  return guarded as T;
}

export function createActivities(conns: ConnectionRegistry, services: ActivityServices = {}) {
  const runtimeKeys = services.runtimeKeys ?? new RuntimeKeyFiles();
  return guardedByRuntimeKey(createTenantActivities(conns, services, runtimeKeys), conns, runtimeKeys);
}

function createTenantActivities(conns: ConnectionRegistry, services: ActivityServices, runtimeKeys: RuntimeKeyFiles) {
  /** Where the tenant's table rows are: its target (capture's own store may be the source). */
  const rowsPool = (input: { targetConnection?: string }) => {
    if (!input.targetConnection) throw ApplicationFailure.nonRetryable('the table rows are on the target: this request names no target connection', 'NoTarget');
    return conns.pool(input.targetConnection);
  };
  return {
    ...createUpgradeActivities(conns, { upgradesRoot: services.upgradesRoot }),
    ...createVerifyActivities(conns),
    ...createLakeActivities(conns),

    /** Setup: the tenant's first runtime service key, delivered to this runtime (nothing changes if it has one). */
    async issueRuntimeKey(input: { tenant: string; targetConnection: string }): Promise<RuntimeKeyInfo> {
      return ensureRuntimeKey(conns.pool(input.targetConnection), runtimeKeys, input.tenant);
    },

    /** Reset Runtime Service Key: a new key, written on this runtime; the old one stays valid for `graceHours` (0: at once shut out). */
    async resetRuntimeServiceKey(input: { tenant: string; targetConnection: string; requestedBy?: string; graceHours?: number }): Promise<RuntimeKeyInfo> {
      return resetRuntimeKey(conns.pool(input.targetConnection), runtimeKeys, input.tenant, input.requestedBy, input.graceHours);
    },

    /** Which runtime hosts present which key; `finish` retires the previous key once none presents it. */
    async runtimeKeyRollout(input: { tenant: string; targetConnection: string; finish: boolean; force: boolean }): Promise<KeyRollout> {
      return keyRollout(conns.pool(input.targetConnection), input.tenant, input);
    },

    async setReplicationSchedule(input: { tenant: string; taskQueue: string; spec: ScheduleSpec | null }): Promise<void> {
      if (!services.temporalClient) throw ApplicationFailure.nonRetryable('this worker cannot reach Temporal to manage schedules', 'NoTemporalClient');
      await upsertSchedule(await services.temporalClient(), input);
    },

    /** Whether a data lake export has ended (undefined while it runs): asked for an export an earlier execution started. */
    async lakeExportOutcome(input: { workflowId: string }) {
      if (!services.temporalClient) throw ApplicationFailure.nonRetryable('this worker cannot reach Temporal to ask after an export', 'NoTemporalClient');
      return lakeExportOutcome(await services.temporalClient(), input.workflowId);
    },

    async discoverSource(input: { sourceConnection: string; targetConnection?: string }): Promise<string[]> {
      return listSchemas(conns.pool(input.sourceConnection));
    },

    async assessSource(input: SetupInput): Promise<Assessment> {
      const pool = conns.pool(input.sourceConnection);
      let assessment: Assessment;
      try {
        assessment = await assess(pool, input.companies, await listSchemas(pool), `connection '${input.sourceConnection}' at ${conns.where(input.sourceConnection)}`);
      } catch (err) {
        if (err instanceof UnknownCompanyError) throw ApplicationFailure.nonRetryable(err.message, 'UnknownCompany');
        throw err;
      }
      // Before anything changes: a page that could not be carried would later cost the tenant its workflow.
      const tooMany = input.rows ? undefined : tooManyTables(assessment);
      if (tooMany) throw ApplicationFailure.nonRetryable(tooMany, 'TooManyTables');
      const target = conns.pool(input.targetConnection);
      await ensureControlSchema(target);
      await stagePlan(target, input.tenant, assessment.tables);
      await stageFindings(target, input.tenant, assessment.findings);
      if (!input.rows) return assessment;
      const findings = [...assessment.findings].sort((a, b) => SEVERITY.indexOf(a.severity) - SEVERITY.indexOf(b.severity));
      // The first tables not migrated are named (the audit says which); every row is on the target.
      const summary: AssessmentSummary = {
        sourceSchemas: assessment.sourceSchemas, tables: assessment.tables.filter((t) => t.notMigratedReason).slice(0, FINDINGS_KEPT),
        findings: findings.slice(0, FINDINGS_KEPT), findingsTotal: findings.length, tableCount: assessment.tables.length,
      };
      return summary;
    },

    /** Setup's last step: its plan taken into the tenant's table rows. */
    async applyTablePlan(input: { tenant: string; targetConnection: string; fresh: boolean; findings?: FindingRow[] }): Promise<void> {
      await applyStagedPlan(conns.pool(input.targetConnection), input.tenant, input.fresh, input.findings ?? []);
    },

    async prepareTarget(input: SetupInput & { tables: TableRef[] }): Promise<{ tablesCreated: number; failed: { key: string; error: string }[] }> {
      const source = conns.pool(input.sourceConnection);
      const target = conns.pool(input.targetConnection);
      await ensureControlSchema(target);
      if (input.rows) input.tables = (await readStagedPlan(target, input.tenant)).filter((t) => !t.notMigratedReason);
      try {
        await claimTargetSchemas(target, input.tenant, input.companies.map((c) => c.target), input.dataVersion);
      } catch (err) {
        if (err instanceof TargetRefused) throw ApplicationFailure.nonRetryable(err.message, 'TargetRefused');
        throw err;
      }
      let tablesCreated = 0;
      const failed: { key: string; error: string }[] = [];
      for (const company of input.companies) {
        const tables = input.tables.filter((t) => t.sourceSchema === company.source).map((t) => t.table);
        const outcome = await createTargetTables(source, target, company.source, company.target, tables);
        tablesCreated += outcome.created;
        failed.push(...outcome.failed.map((f) => ({ key: `${company.source}.${f.table}`, error: f.error })));
        Context.current().heartbeat({ company: company.source });
      }
      await stageNotMigrated(target, input.tenant, failed);
      return { tablesCreated, failed };
    },

    /** Setup: which capture this tenant uses, and why (the setting, or what the source allows). */
    async chooseCaptureMode(input: { sourceConnection: string; setting?: CaptureModeSetting; current?: CaptureChoice }): Promise<CaptureChoice> {
      const setting = input.setting ?? 'auto';
      // A tenant keeps the mode it started with unless told otherwise: its logs and position are there.
      if (input.current && (setting === 'auto' || setting === input.current.mode)) return input.current;
      if (setting === 'triggers') return { mode: 'triggers', reason: 'captureMode is set to triggers in the tenant configuration' };
      const unusable = await binlogUnusable(conns.pool(input.sourceConnection));
      if (setting === 'binlog') {
        if (unusable) throw ApplicationFailure.nonRetryable(`captureMode is binlog, but ${unusable}`, 'BinlogUnusable');
        return { mode: 'binlog', reason: 'captureMode is set to binlog in the tenant configuration' };
      }
      return unusable
        ? { mode: 'triggers', reason: `${unusable}; triggers capture the changes instead` }
        : { mode: 'binlog', reason: 'the source writes a binary log in ROW format with full images and metadata, and the account may read it' };
    },

    async installChangeCapture(input: { tenant?: string; sourceConnection: string; targetConnection?: string; tables: TableRef[]; capture?: CaptureMode; rows?: boolean }): Promise<{ installed: number; position?: string }> {
      const tenant = captureTenant(input);
      const site = captureSiteFor(conns, { ...input, tenant });
      if (input.rows) input.tables = (await readStagedPlan(rowsPool(input), tenant)).filter((t) => !t.notMigratedReason);
      const source = site.source;
      // Binlog mode: the position is taken before anything is copied, so changes made during the copy
      // follow. Its table is on the target already: setup's prepareTarget made the control schema.
      const position = site.mode === 'binlog' ? positionText(await startPosition(source, site.store, tenant)) : undefined;
      const metas = await readTables(source, [...new Set(input.tables.map((t) => t.sourceSchema))]);
      let installed = 0;
      await ensureCaptureSchema(site.store);
      const keyed = input.tables.map((t) => metas.get(t.key)).filter((m): m is NonNullable<typeof m> => !!m && m.primaryKey.length > 0);
      // Read before any trigger goes in: a TRUNCATE in between then shows as a changed id, never as none.
      const tableIds = await captureTableIds(site, keyed.map((m) => ({ schema: m.schema, table: m.name })));
      const beat = (): void => Context.current().heartbeat(installed);
      // Completes a half-installed capture (an attempt that died mid-way), and puts back a lost one
      // with a full copy owed, rather than quietly adding triggers to a table that lost them.
      const check = async (meta: TableMeta): Promise<void> => {
        await ensureCapture(site, tenant, meta, { schemaReady: true, tableId: tableIds.get(`${meta.schema}.${meta.name}`), onWait: beat });
        installed++;
        beat();
      };
      if (site.mode === 'binlog') {
        // Only log tables, on the target: a few sessions side by side.
        await forEachLimited(keyed, 4, check);
        return { installed, position };
      }
      // Triggers one statement at a time (see withCaptureLock in capture.ts), batched by schema; then
      // the captures that were already there are checked.
      const bySchema = new Map<string, TableMeta[]>();
      for (const meta of keyed) bySchema.set(meta.schema, [...(bySchema.get(meta.schema) ?? []), meta]);
      await forEachLimited([...bySchema], 1, async ([schema, metas]) => {
        const tables = metas.map((meta) => ({ meta, keyColumns: keyColumns(meta), tableId: tableIds.get(`${meta.schema}.${meta.name}`) }));
        const present = await installSchemaCaptures(site, tenant, schema, tables, { onInstalled: () => { installed++; beat(); }, onWait: beat });
        for (const meta of present) await check(meta);
      });
      return { installed, position };
    },

    /** Binlog mode, at the start of a run: every change committed until now, staged on the target. */
    async stageChanges(input: { tenant: string; sourceConnection: string; targetConnection: string }): Promise<StageResult> {
      const ctx = Context.current();
      return stageBinlogChanges({
        tenant: input.tenant, source: conns.pool(input.sourceConnection), sourceOptions: conns.options(input.sourceConnection),
        target: conns.pool(input.targetConnection), signal: ctx.cancellationSignal, onProgress: (p) => ctx.heartbeat(p),
      });
    },

    /** At the start of a run: the source's schema changes followed on the target (see schema-follow.ts). */
    async followSourceSchema(input: {
      tenant: string; sourceConnection: string; targetConnection: string; capture?: CaptureMode; tables: TableWork[]; schema: SchemaFollowInput; run?: number; rows?: boolean;
    }): Promise<SchemaFollowResult> {
      const target = conns.pool(input.targetConnection);
      await assertNoFence(target, input.tenant, 'replication');
      const site = captureSiteFor(conns, input);
      // The rows live on the target: what the tenant knows of its tables is read from there.
      const known = input.rows ? await readSchemaInput(target, input.tenant) : { migrated: input.tables, notMigrated: input.schema.notMigrated, resync: input.schema.resync };
      const followed = await followSchema({
        tenant: input.tenant, source: conns.pool(input.sourceConnection), target, site, companies: input.schema.companies,
        migrated: known.migrated, notMigrated: known.notMigrated, resync: known.resync, beat: () => Context.current().heartbeat(),
      });
      if (input.run !== undefined) await storeSchemaChanges(target, input.tenant, input.run, followed);
      return followed;
    },

    /** As a run ends: the tenant's changes captured and not applied yet, and the oldest one's age (also as metrics). */
    async measureBacklog(input: { tenant: string; sourceConnection: string; targetConnection: string; capture?: CaptureMode }): Promise<{ pending: number; lagSeconds: number }> {
      const site = captureSiteFor(conns, input);
      const backlog = await captureBacklog(site.store, await tenantCaptures(site.store, input.tenant));
      recordBacklog(input.tenant, backlog);
      return backlog;
    },

    /** A run's tables that failed without an answer from their activity (it gave up, or the run could not start them). */
    async recordTableResults(input: { tenant: string; targetConnection: string; run: number; results: TableRunResult[] }): Promise<void> {
      await storeRunResults(conns.pool(input.targetConnection), input.tenant, input.run, input.results, true);
    },

    /** `cm resync`: the tables marked on their rows, for the next run to rebuild; `patterns` (rows on the target): the tables they name. */
    async markResync(input: { tenant: string; targetConnection: string; keys: string[]; requestedBy: string; patterns?: string[] }): Promise<{ marked: number; unmatched: string[] }> {
      const target = conns.pool(input.targetConnection);
      const { keys, unmatched } = input.patterns ? await matchResync(target, input.tenant, input.patterns) : { keys: input.keys, unmatched: [] };
      if (unmatched.length === 0) await storeResync(target, input.tenant, keys, input.requestedBy);
      return { marked: unmatched.length === 0 ? keys.length : 0, unmatched };
    },

    /** What the management workflow keeps of its tables once their rows live on the target. */
    async summarizeTables(input: { tenant: string; targetConnection: string }): Promise<TableSummary> {
      return summarizeRows(conns.pool(input.targetConnection), input.tenant);
    },

    /** One page of a run's or a verification's tables, read from their rows. */
    async listWork(input: { tenant: string; targetConnection: string; filter: WorkFilter; after?: string; limit: number }): Promise<{ work: TableWork[]; next?: string }> {
      return readWork(conns.pool(input.targetConnection), input.tenant, input.filter, input.after, input.limit);
    },

    /** `cm status --all`, `cm checklist`: one page read from the rows. */
    async readTableRows(input: { tenant: string; targetConnection: string; kind: 'tables' | 'checklist'; request: TableFilter & PageRequest }): Promise<TablePage | ChecklistPage> {
      const target = conns.pool(input.targetConnection);
      return input.kind === 'tables' ? readRowsPage(target, input.tenant, input.request) : readChecklistPage(target, input.tenant, input.request);
    },

    /** A page carried from a workflow that kept its rows itself, taken in a part at a time. */
    async importTableRows(input: { tenant: string; targetConnection: string; rows: TableState[]; findings?: FindingRow[] }): Promise<void> {
      const target = conns.pool(input.targetConnection);
      await ensureControlSchema(target);
      await importRows(target, input.tenant, input.rows, input.findings);
    },

    /** Only in the tenant's own target schemas (cm_control.target_owner); `tenant` is absent in requests of older versions: refused. */
    async emptyTargetTables(input: { targetConnection: string; tenant?: string; tables: TableRef[]; emptied?: 'reset' | 'snapshot'; rows?: boolean }): Promise<{ tablesEmptied: number; rowsDeleted: number }> {
      const target = conns.pool(input.targetConnection);
      // The rows live on the target: the tables are theirs, every migrated one or the historical ones.
      if (input.rows && input.tenant) input.tables = await readRefs(target, input.tenant, input.emptied === 'snapshot' ? 'history' : 'migrated');
      try {
        // Marked first: if emptying stops half-way, the next run still reloads every one of them.
        if (input.emptied && input.tenant) await storeEmptied(target, input.tenant, input.tables.map((t) => t.key), input.emptied === 'snapshot');
        const rowsDeleted = await emptyTargetTables(target, input.tables.map((t) => ({ schema: t.targetSchema, table: t.table })), () => Context.current().heartbeat(), input.tenant);
        return { tablesEmptied: input.tables.length, rowsDeleted };
      } catch (err) {
        if (err instanceof TargetRefused) throw ApplicationFailure.nonRetryable(err.message, 'TargetRefused');
        throw err;
      }
    },

    async removeChangeCapture(input: {
      tenant?: string; sourceConnection: string; targetConnection?: string; tables: TableRef[]; capture?: CaptureMode; all?: boolean;
      /** The rows live on the target: every table's (`all`), or the staged plan's excluded ones. */
      rows?: 'all' | 'excluded';
    }): Promise<{ removed: number }> {
      const tenant = captureTenant(input);
      const site = captureSiteFor(conns, { ...input, tenant });
      if (input.rows === 'all') input.tables = await readRefs(rowsPool(input), tenant, 'all');
      if (input.rows === 'excluded') input.tables = (await readStagedPlan(rowsPool(input), tenant)).filter((t) => t.notMigratedReason?.startsWith(EXCLUDED_BY_CONFIGURATION));
      let removed = 0;
      for (const t of input.tables) {
        if (await removeCapture(site, tenant, t.sourceSchema, t.table)) removed++;
        Context.current().heartbeat(removed);
      }
      // The tenant stops following the source: its binary log position goes too.
      if (input.all && site.mode === 'binlog') await dropPosition(site.store, tenant);
      return { removed };
    },

    async setEnvironmentState(input: { targetConnection: string; tenant: string; state: EnvironmentState; changedBy: string }): Promise<void> {
      await ensureControlSchema(conns.pool(input.targetConnection));
      await writeEnvironmentState(conns.pool(input.targetConnection), input.tenant, input.state, input.changedBy);
    },

    async planKeyRanges(input: { sourceConnection: string; targetConnection?: string; table: TableRef; ranges: number }): Promise<KeyRange[]> {
      const source = conns.pool(input.sourceConnection);
      const meta = await loadMeta(source, input.table.sourceSchema, input.table.table);
      const [rows] = await source.query<RowDataPacket[]>(
        `SELECT MIN(${id(meta.primaryKey[0])}) AS lo, MAX(${id(meta.primaryKey[0])}) AS hi FROM ${qualified(meta.schema, meta.name)}`,
      );
      return splitKeyRange(rows[0].lo, rows[0].hi, input.ranges);
    },

    async copyKeyRange(input: CopyRangeInput): Promise<RangeResult> {
      const started = Date.now();
      const ctx = Context.current();
      const source = conns.pool(input.sourceConnection);
      const target = conns.pool(input.targetConnection);
      await assertNoFence(target, input.tenant, 'replication');
      const meta = await loadMeta(source, input.table.sourceSchema, input.table.table);
      const drift = definitionDrift(meta, await readTable(target, input.table.targetSchema, meta.name));
      if (drift.blocking.length > 0) throw ApplicationFailure.nonRetryable(driftMessage(drift), 'DefinitionDrift');
      const site = captureSiteFor(conns, input);
      const tableIds = await captureTableIds(site, [{ schema: meta.schema, table: meta.name }]);
      const capture = await ensureCapture(site, input.tenant, meta, {
        tableId: tableIds.get(input.table.key), onWait: () => ctx.heartbeat(),
      });
      const copyId = copyIdOf(input.tenant, input.table.targetSchema, meta.name, `range-${input.range.index}`);
      const conn = await target.getConnection();
      const claims = [claimName(input.table.targetSchema, meta.name, `range-${input.range.index}`)];
      try {
        await prepareTargetSession(conn);
        await claimTable(conn, claims, () => ctx.heartbeat(), ctx.cancellationSignal);
        // Where an earlier attempt's committed batches reached (read once the claim keeps every other
        // attempt out), if made under the same capture and copy owed.
        const prior = resumable(await readCopyCheckpoint(conn, copyId), capture);
        const result = (rows: number, rejected: number, lastKey: KeyValue[] | undefined, firstError: string | undefined): RangeResult => ({
          rows, rejected, firstError, durationMs: Date.now() - started, lastKey: lastKey ? String(lastKey[0]) : undefined, captureIds: [capture.id],
          ...(prior ? { resumedAt: prior.rows } : {}),
        });
        if (prior?.done) return result(prior.rows, prior.rejected, prior.lastKey, prior.firstError);
        const copied = await copyRows({
          sourcePool: source, sourceSchema: meta.schema, targetConn: conn, targetSchema: input.table.targetSchema, table: meta.name,
          columns: copyColumns(meta).map((c) => c.name), key: meta.primaryKey, approx: approximateColumns(meta), lossy: drift.lossy,
          after: prior?.lastKey ?? (input.range.after !== undefined ? [input.range.after] : undefined),
          upTo: input.range.upTo,
          keepFrom: input.table.keepFrom,
          batchRows: input.copy.writeBatchRows, batchBytes: input.copy.writeBatchBytes, writeMode: input.copy.writeMode ?? 'load',
          signal: ctx.cancellationSignal,
          onRejected: (keys) => requeueKeys(site.store, capture, meta.primaryKey, keys),
          onCommitted: (p) => saveCopyCheckpoint(conn, copyId, {
            rows: (prior?.rows ?? 0) + p.rows, rejected: (prior?.rejected ?? 0) + p.rejected, lastKey: p.lastKey ?? prior?.lastKey,
            captureId: capture.id, owed: capture.copyOwed, firstError: prior?.firstError ?? p.firstError, done: false,
          }),
          // What the client's progress view shows for rows in flight.
          onProgress: (p) => ctx.heartbeat({ key: input.table.key, rows: (prior?.rows ?? 0) + p.rows, lastKey: p.lastKey ? String(p.lastKey[0]) : undefined }),
        });
        const done = {
          rows: (prior?.rows ?? 0) + copied.rows, rejected: (prior?.rejected ?? 0) + copied.rejected, lastKey: copied.lastKey ?? prior?.lastKey,
          captureId: capture.id, owed: capture.copyOwed, firstError: prior?.firstError ?? copied.firstError, done: true,
        };
        await saveCopyCheckpoint(conn, copyId, done);
        return result(done.rows, done.rejected, done.lastKey, done.firstError);
      } finally {
        await releaseTable(conn, claims);
      }
    },

    async migrateTables(input: MigrateTablesInput): Promise<TableRunResult[]> {
      const ctx = Context.current();
      const checkpoint: MigrateTablesCheckpoint = resumeFrom<MigrateTablesCheckpoint>() ?? { done: [] };
      const source = conns.pool(input.sourceConnection);
      await assertNoFence(conns.pool(input.targetConnection), input.tenant, 'replication');
      const todo = input.tables.filter((w) => !checkpoint.done.some((d) => d.key === w.key));
      // One read of information_schema for the whole batch, not one per table.
      const names = [...new Set(todo.map((w) => w.table))];
      const metas = await readTables(source, [...new Set(todo.map((w) => w.sourceSchema))], names);
      const keyed = todo.filter((w) => (metas.get(w.key)?.primaryKey.length ?? 0) > 0);
      const site = captureSiteFor(conns, input, () => ctx.heartbeat(checkpoint));
      const io = {
        tenant: input.tenant, source, target: conns.pool(input.targetConnection), site, copy: input.copy, verify: input.verify, signal: ctx.cancellationSignal,
        copyOf: currentActivityId(),
        sourceTableIds: await captureTableIds(site, keyed.map((w) => ({ schema: w.sourceSchema, table: w.table }))),
      };
      const targets = await readTables(io.target, [...new Set(todo.map((w) => w.targetSchema))], names);
      for (const work of todo) {
        const meta = metas.get(work.key);
        const targetMeta = targets.get(`${work.targetSchema}.${work.table}`);
        const drift = meta ? definitionDrift(meta, targetMeta) : undefined;
        const result = drift?.blocking.length
          ? driftedTable(work, drift)
          : withDriftWarning(await migrateTable(io, work, checkpoint.current, (current) => {
            checkpoint.current = current;
            ctx.heartbeat(checkpoint);
          }, meta, drift?.lossy, targetMeta), drift);
        checkpoint.done.push(result);
        checkpoint.current = undefined;
        ctx.heartbeat(checkpoint);
      }
      if (input.run !== undefined) await storeRunResults(io.target, input.tenant, input.run, checkpoint.done);
      countTableResults(input.tenant, checkpoint.done.filter((d) => todo.some((w) => w.key === d.key))); // this attempt's own
      return checkpoint.done;
    },
  };
}

export type Activities = ReturnType<typeof createTenantActivities>;

/** A table whose target can no longer hold its rows exactly: nothing is written, its changes wait in the log. */
function driftedTable(work: TableWork, drift: Drift): TableRunResult {
  return {
    key: work.key, status: 'Failed', fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0,
    fullLoadDone: !work.full, errorMessage: driftMessage(drift),
  };
}

/** A difference that keeps values exact (a column only on the target) still keeps the table from `Successful`. */
function withDriftWarning(result: TableRunResult, drift: Drift | undefined): TableRunResult {
  if (!drift?.other.length || result.status !== 'Successful') return result;
  return { ...result, status: 'Warning', errorMessage: `the definition differs from the source: ${drift.other.join('; ')}` };
}

/** Splits [lo, hi] into n contiguous ranges; the last one is open-ended so rows added meanwhile are not missed. */
export function splitKeyRange(lo: unknown, hi: unknown, n: number): KeyRange[] {
  if (lo === null || lo === undefined || hi === null || hi === undefined) return [{ index: 0 }];
  const low = BigInt(String(lo));
  const high = BigInt(String(hi));
  const parts = BigInt(Math.max(1, n));
  const width = (high - low + 1n + parts - 1n) / parts;
  const ranges: KeyRange[] = [];
  for (let i = 0n; i < parts; i++) {
    const upTo = low + (i + 1n) * width - 1n;
    ranges.push({
      index: Number(i),
      after: i === 0n ? undefined : String(low + i * width - 1n),
      upTo: i === parts - 1n || upTo >= high ? undefined : String(upTo),
    });
    if (upTo >= high) break;
  }
  return ranges;
}
