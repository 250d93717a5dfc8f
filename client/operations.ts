// Each operator action as one Temporal client call (plus the waiting a terminal user wants).
// The CLI, the demo and the tests all go through these, so scripts can copy them one to one.
import { WorkflowExecutionAlreadyStartedError, type Client, type QueryDefinition, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, defaultPayloadConverter } from '@temporalio/common';
import { managementWorkflowId, MigrationPhaseKey, MigrationStatusKey, SERVICE_VERSION, TenantIdKey } from '../lib/constants';
import { failedRunResult, rootMessage, UserFacingError } from '../lib/errors';
import { describeIssues, tablePageRequestSchema, tenantInputSchema, type TenantInput } from '../lib/schemas';
import type { CompanyMapping, DisableResult, LakeExportLogEntry, Requester, RuntimeKeyInfo, RunLogEntry, RunProgress, RunResult, StatusPage, TableFilter, TablePage, TableState, UpgradeLogEntry, UpgradeProgress, VerificationResult, VerifyRequest } from '../lib/types';
import type { cloudMigration } from '../workflows/management';
import {
  applyHotfixUpdate, progressQuery, runDataUpgradeNowUpdate, runMigrationNowUpdate, statusQuery, tablesQuery, type TablePageRequest, upgradeProgressQuery,
  checkForUpdateQuery, disableCloudMigrationUpdate, resetCloudDataUpdate, updateServiceUpdate, type ServiceVersions, setReplicationScheduleUpdate, type DisableRequest, setupChecklistQuery, type HotfixApplied, type ScheduleRequest, type HotfixRequest, type ResetRequest, type RunStarted, type UpgradeRequest,
  type UpgradeStarted, configureCompaniesUpdate, type ConfigureCompaniesRequest, resetRuntimeServiceKeyUpdate, runtimeServiceKeyQuery, rerunDetailSnapshotUpdate, type SnapshotStarted, resyncTablesUpdate, type ResyncRequest,
  exportToDataLakeUpdate, lakeExportProgressQuery, type LakeExportProgress, type LakeExportRequest, type LakeExportStarted,
  verifyNowUpdate, verificationProgressQuery, runtimeKeyRolloutUpdate, type KeyRolloutRequest, type ResetKeyRequest, resolveUpgradeUpdate, type ResolveUpgradeRequest, type UpgradeResolved, type VerificationProgress, type VerificationStarted,
} from '../workflows/messages';
import { MAX_PAGE_SIZE, type ChecklistItem, type ChecklistPage } from '../lib/table-pages';
import type { readTableRows, ReadTableRowsInput } from '../workflows/read-table-rows';
import { randomUUID } from 'node:crypto';
import type { KeyRollout } from '../activities/runtime-key';

export function tenantHandle(client: Client, tenant: string): WorkflowHandle<typeof cloudMigration> {
  return client.workflow.getHandle<typeof cloudMigration>(managementWorkflowId(tenant));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A tenant as the list of tenants shows it: from its workflow's search attributes. */
export interface TenantListing {
  tenant: string;
  /** MigrationStatus; 'Cloud Migration Disabled' once its workflow ended after a disable. */
  status: string;
  phase?: string;
  /** Running, or how its workflow ended (Completed after a disable, Terminated, Failed…). */
  workflow: string;
  startedAt: string;
}

/** The tenants, by name: every running tenant workflow (`all`: also the ended ones, newest execution each). */
export async function listTenants(client: Client, all = false): Promise<TenantListing[]> {
  // Each continue-as-new closes an execution: those are the same tenant, not tenants of their own.
  const query = `WorkflowType = 'cloudMigration' AND ${all ? "ExecutionStatus != 'ContinuedAsNew'" : "ExecutionStatus = 'Running'"}`;
  const tenants = new Map<string, TenantListing>();
  for await (const wf of client.workflow.list({ query })) {
    const tenant = wf.typedSearchAttributes.get(TenantIdKey) ?? wf.workflowId.replace(/^cloud-migration\//, '');
    const seen = tenants.get(tenant);
    // A tenant re-created under the same name: its running (or newest) execution speaks for it.
    if (seen && (seen.workflow === 'Running' || seen.startedAt >= wf.startTime.toISOString())) continue;
    tenants.set(tenant, {
      tenant,
      status: wf.typedSearchAttributes.get(MigrationStatusKey) ?? 'unknown',
      ...(wf.typedSearchAttributes.get(MigrationPhaseKey) ? { phase: wf.typedSearchAttributes.get(MigrationPhaseKey) } : {}),
      workflow: wf.status.name === 'RUNNING' ? 'Running' : wf.status.name.charAt(0) + wf.status.name.slice(1).toLowerCase().replace(/_/g, ' '),
      startedAt: wf.startTime.toISOString(),
    });
  }
  return [...tenants.values()].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
}

/** The status query (a bounded summary), with a clear message when no worker answers or the tenant does not exist. */
export async function getSummary(client: Client, tenant: string): Promise<StatusPage> {
  return asOperatorError(tenant, () => tenantHandle(client, tenant).query(statusQuery));
}

/**
 * A page read from the tenant's table rows on its target, through a short readTableRows workflow on
 * the tenant's task queue (a query cannot read a database); undefined for a tenant whose page still
 * holds its rows, which its queries answer.
 */
async function readRows(
  client: Client, tenant: string, kind: ReadTableRowsInput['kind'], request: ReadTableRowsInput['request'], summary?: StatusPage,
): Promise<TablePage | ChecklistPage | undefined> {
  summary ??= await getSummary(client, tenant);
  if (!summary.tableRows) return undefined;
  try {
    return await client.workflow.execute<typeof readTableRows>('readTableRows', {
      taskQueue: summary.tableRows.taskQueue,
      workflowId: `${managementWorkflowId(tenant)}/read/${randomUUID()}`,
      args: [{ tenant, targetConnection: summary.targetConnection, kind, request }],
      staticSummary: `Read ${kind} of ${tenant}`,
    });
  } catch (err) {
    throw new UserFacingError(`reading the ${kind === 'tables' ? 'tables' : 'Setup Checklist'} of '${tenant}' from its target failed: ${rootMessage(err)}`);
  }
}

/** One page of the per-table rows, problems first. */
export async function getTablePage(client: Client, tenant: string, request: TablePageRequest = {}, summary?: StatusPage): Promise<TablePage> {
  const fromRows = await readRows(client, tenant, 'tables', tablePageRequestSchema.parse(request), summary);
  return (fromRows as TablePage | undefined) ?? asOperatorError(tenant, () => tenantHandle(client, tenant).query(tablesQuery, request));
}

/** Every row of a paged query, page after page (each answer stays bounded). */
async function allPages<T>(fetch: (page: number) => Promise<{ pages: number; rows: T[] }>): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; ; page++) {
    const p = await fetch(page);
    all.push(...p.rows);
    if (page >= p.pages) return all;
  }
}

/** Every table that matches. */
export async function getAllTables(client: Client, tenant: string, filter: TableFilter = {}, summary?: StatusPage): Promise<TableState[]> {
  // Where the rows are is read once, not once a page.
  const at = summary ?? (await getSummary(client, tenant));
  return allPages(async (page) => {
    const p = await getTablePage(client, tenant, { ...filter, page, pageSize: MAX_PAGE_SIZE }, at);
    return { pages: p.pages, rows: p.tables };
  });
}

export type FullStatus = StatusPage & { tables: TableState[] };

/** Why rows of a table were rejected, by table: only tables with problems can have such rows, so only those are read. */
export async function rejectionReasons(client: Client, tenant: string): Promise<Record<string, string | undefined>> {
  const reasons: Record<string, string | undefined> = {};
  for (const status of ['Warning', 'Failed'] as const) {
    for (const t of await getAllTables(client, tenant, { status })) if (t.errors > 0) reasons[t.key] = t.errorMessage;
  }
  return reasons;
}

/** The summary and every table: for scripts and tests that want the whole page (`cm status --all --json`). */
export async function getStatus(client: Client, tenant: string): Promise<FullStatus> {
  const summary = await getSummary(client, tenant);
  return { ...summary, tables: await getAllTables(client, tenant, {}, summary) };
}

async function asOperatorError<T>(tenant: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw operatorError(tenant, err);
  }
}

/**
 * A failed query in the operator's words. The client's own message is only "Failed to query
 * Workflow": the reason (no worker polling, an unknown workflow) is in the causes below it.
 */
export function operatorError(tenant: string, err: unknown): unknown {
  const messages: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e && typeof e === 'object'; e = e.cause as typeof e) messages.push(String(e.message ?? ''));
  const msg = messages.join(' | ');
  if (/not found/i.test(msg)) return new UserFacingError(`unknown tenant '${tenant}': create it with \`cm tenant create ${tenant} --company <schema>\``);
  if (/no poller|deadline|timeout/i.test(msg)) return new UserFacingError(`no worker answered for tenant '${tenant}' (none is polling its task queue): start one with \`cm worker\` (the demo's stops with it; \`npm run demo\` keeps one up until Ctrl-C)`);
  return err;
}

export async function waitForStatus(client: Client, tenant: string, done: (s: StatusPage) => boolean, timeoutMs = 15 * 60_000): Promise<StatusPage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await getSummary(client, tenant);
    if (done(status)) return status;
    if (Date.now() > deadline) throw new UserFacingError(`tenant '${tenant}' is still '${status.status}' after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(500);
  }
}

export interface CreatedTenant {
  created: boolean;
  /** The page after setup, with every table (setup is the moment an operator reviews the plan). */
  status: FullStatus;
}

/** Starts the management workflow (setup runs first) and waits until setup has finished. */
export async function createTenant(client: Client, taskQueue: string, input: TenantInput): Promise<CreatedTenant> {
  const parsed = tenantInputSchema.safeParse(input);
  if (!parsed.success) throw new UserFacingError(`invalid tenant: ${describeIssues(parsed.error)}`);
  let created = true;
  try {
    await client.workflow.start<typeof cloudMigration>('cloudMigration', {
      workflowId: managementWorkflowId(input.tenant),
      taskQueue,
      args: [{ serviceVersion: SERVICE_VERSION, ...input }],
      typedSearchAttributes: [{ key: TenantIdKey, value: input.tenant }],
      staticSummary: `Cloud migration of tenant ${input.tenant}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    created = false;
  }
  await waitForStatus(client, input.tenant, (s) => s.status !== 'Setup In Progress');
  return { created, status: await getStatus(client, input.tenant) };
}

/** A run's result: what it completed with, or (a run with failed tables fails, since 1.8.0) what its failure carries. */
export async function runResult(client: Client, workflowId: string): Promise<RunResult> {
  return client.workflow.getHandle(workflowId).result().catch((err: unknown) => failedRunResult(err) ?? Promise.reject(err)) as Promise<RunResult>;
}

/** Run Migration Now, as an update: answers with the run, or with the reason it is refused. */
export function runMigrationNow(client: Client, tenant: string, requester: Requester = {}): Promise<RunStarted> {
  return refusedAs('run refused', () => tenantHandle(client, tenant).executeUpdate(runMigrationNowUpdate, { args: [requester] }));
}

/** Waits until a child workflow closes (either way), calling `poll` every `pollMs` meanwhile. */
async function untilClosed(child: WorkflowHandle, poll: (() => Promise<void>) | undefined, pollMs: number): Promise<void> {
  let finished = false;
  const closed = child.result().then(
    () => (finished = true),
    () => (finished = true),
  );
  while (!finished && poll) {
    // The workflow may close between the check and the poll: the loop then ends on the next turn.
    await poll().catch(() => undefined);
    await Promise.race([closed, sleep(pollMs)]);
  }
  await closed;
}

/** Waits for a run to end, reporting its progress; returns the run's line of the migration log. */
export async function waitForRun(
  client: Client,
  tenant: string,
  run: RunStarted,
  onProgress?: (p: RunProgress) => void,
  pollMs = 1000,
): Promise<RunLogEntry> {
  const child = client.workflow.getHandle(run.workflowId);
  // The progress answer lists the tables finished after the cursor: each is seen once, however many.
  let since = 0;
  const next = async (): Promise<RunProgress> => {
    const p = await child.query(progressQuery, { since });
    since = p.next;
    return p;
  };
  const poll = onProgress && (async () => onProgress(withInFlightRows(await next(), await inFlightRows(child))));
  await untilClosed(child, poll, pollMs);
  if (onProgress) {
    for (let i = 0; i < 1000; i++) {
      const before = since;
      const last = await next().catch(() => undefined);
      if (!last) break;
      onProgress(last);
      if (last.next === before) break;
    }
  }
  const status = await waitForStatus(client, tenant, (s) => !!s.log.find((e) => e.run === run.run)?.endedAt);
  return status.log.find((e) => e.run === run.run)!;
}

/**
 * Rows copied so far by activities still running, read from their heartbeat details (the same
 * checkpoints a retry resumes from): key → rows. Key-range copies of one table add up.
 */
async function inFlightRows(child: WorkflowHandle): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  const { raw } = await child.describe();
  for (const activity of raw.pendingActivities ?? []) {
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    const details = defaultPayloadConverter.fromPayload<{ key?: string; rows?: number; current?: { key: string; rows: number } }>(payload);
    const point = details?.current ?? details;
    if (point?.key && typeof point.rows === 'number') rows.set(point.key, (rows.get(point.key) ?? 0) + point.rows);
  }
  return rows;
}

function withInFlightRows(progress: RunProgress, inFlight: Map<string, number>): RunProgress {
  return {
    ...progress,
    tables: progress.tables.map((t) => (t.status === 'In Progress' && inFlight.has(t.key) ? { ...t, rows: inFlight.get(t.key)! } : t)),
  };
}

/** Unwraps an update's refusal into one line for the operator. */
export async function refusedAs<T>(prefix: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    let cause = (err as { cause?: Error }).cause;
    // An update whose activity failed (a hotfix the database refused) says only "Activity task
    // failed": the reason is the activity's own failure inside.
    if (cause instanceof ActivityFailure && cause.cause?.message) cause = cause.cause;
    if (cause?.message) throw new UserFacingError(`${prefix}: ${cause.message}`);
    throw err;
  }
}

/** Run Data Upgrade Now: answers with the upgrade's workflow, or the reason it is refused. */
export function runDataUpgradeNow(client: Client, tenant: string, request: UpgradeRequest = {}): Promise<UpgradeStarted> {
  return refusedAs('upgrade refused', () => tenantHandle(client, tenant).executeUpdate(runDataUpgradeNowUpdate, { args: [request] }));
}

/** Resolve an upgrade whose restore could not be verified: inspect, retry the restore, or release the fence. */
export function resolveUpgrade(client: Client, tenant: string, request: ResolveUpgradeRequest): Promise<UpgradeResolved> {
  return refusedAs('resolve refused', () => tenantHandle(client, tenant).executeUpdate(resolveUpgradeUpdate, { args: [request] }));
}

export function applyHotfix(client: Client, tenant: string, request: HotfixRequest): Promise<HotfixApplied> {
  return refusedAs('hotfix refused', () => tenantHandle(client, tenant).executeUpdate(applyHotfixUpdate, { args: [request] }));
}

/**
 * Follows a child workflow to its end (asking its progress query at each poll), then waits until the
 * tenant's page has taken in its outcome, so that `cm status` agrees from then on; returns that entry.
 */
async function followToPage<P, E extends { endedAt?: string }>(
  client: Client, tenant: string, workflowId: string, progress: QueryDefinition<P>, onProgress: ((p: P) => void) | undefined, pollMs: number,
  entry: (s: StatusPage) => E | undefined,
): Promise<E> {
  const child = client.workflow.getHandle(workflowId);
  await untilClosed(child, onProgress && (async () => onProgress(await child.query(progress))), pollMs);
  return entry(await waitForStatus(client, tenant, (s) => !!entry(s)?.endedAt))!;
}

/** Waits for an upgrade to end (restore included on failure); returns its Environment Operations line. */
export function waitForUpgrade(client: Client, tenant: string, started: UpgradeStarted, onProgress?: (p: UpgradeProgress) => void, pollMs = 1000): Promise<UpgradeLogEntry> {
  return followToPage(client, tenant, started.workflowId, upgradeProgressQuery, onProgress, pollMs, (s) => s.upgrades.find((u) => u.number === started.number));
}

/** Verify Now: starts a verification (repair optional), or says why it is refused. */
export function verifyNow(client: Client, tenant: string, request: VerifyRequest = {}): Promise<VerificationStarted> {
  return refusedAs('verification refused', () => tenantHandle(client, tenant).executeUpdate(verifyNowUpdate, { args: [request] }));
}

/** Resync: rebuild tables from the source in a run started now. */
export async function resyncTables(client: Client, tenant: string, request: ResyncRequest): Promise<RunStarted> {
  return refusedAs('resync refused', () => tenantHandle(client, tenant).executeUpdate(resyncTablesUpdate, { args: [request] }));
}

/** Waits for a verification to end; its result lists every table it compared. */
export async function waitForVerification(
  client: Client,
  tenant: string,
  started: VerificationStarted,
  onProgress?: (p: VerificationProgress) => void,
  pollMs = 1000,
): Promise<VerificationResult> {
  const entry = await followToPage(client, tenant, started.workflowId, verificationProgressQuery, onProgress, pollMs, (s) => s.verifications.find((v) => v.number === started.number));
  const result = (await client.workflow.getHandle(started.workflowId).result().catch(() => undefined)) as VerificationResult | undefined;
  if (!result) throw new UserFacingError(`verification #${started.number} failed: ${entry.failure ?? 'it ended without a result'} (${started.workflowId})`);
  return result;
}

/** Azure Data Lake: starts an export of the tenant's tables (or its historical rows) as Parquet, or says why it is refused. */
export function exportToDataLake(client: Client, tenant: string, request: LakeExportRequest): Promise<LakeExportStarted> {
  return refusedAs('data lake export refused', () => tenantHandle(client, tenant).executeUpdate(exportToDataLakeUpdate, { args: [request] }));
}

/** Waits for a data lake export to end, as the page records it. */
export function waitForLakeExport(client: Client, tenant: string, started: LakeExportStarted, onProgress?: (p: LakeExportProgress) => void, pollMs = 1000): Promise<LakeExportLogEntry> {
  return followToPage(client, tenant, started.workflowId, lakeExportProgressQuery, onProgress, pollMs, (s) => s.lakeExports?.find((e) => e.workflowId === started.workflowId));
}

/** Reset Cloud Data: empties the target; the next run is a full copy. Needs confirm: true. */
export function resetCloudData(client: Client, tenant: string, request: ResetRequest): Promise<{ tablesEmptied: number; rowsDeleted: number }> {
  return refusedAs('reset refused', () => tenantHandle(client, tenant).executeUpdate(resetCloudDataUpdate, { args: [request] }));
}

/** The whole Setup Checklist, page after page. */
export async function setupChecklist(client: Client, tenant: string): Promise<ChecklistItem[]> {
  const summary = await getSummary(client, tenant);
  return allPages(async (page) => {
    const request = { page, pageSize: MAX_PAGE_SIZE };
    const p = ((await readRows(client, tenant, 'checklist', request, summary)) as ChecklistPage | undefined) ?? (await tenantHandle(client, tenant).query(setupChecklistQuery, request));
    return { pages: p.pages, rows: p.items };
  });
}

/** Sets (or with schedule null, removes) the replication schedule; answers with its description. */
export function setReplicationSchedule(client: Client, tenant: string, request: ScheduleRequest): Promise<string> {
  return refusedAs('schedule refused', () => tenantHandle(client, tenant).executeUpdate(setReplicationScheduleUpdate, { args: [request] }));
}

/** Disable Cloud Migration: the checklist, then change capture off the source and the workflow ends. */
export function disableCloudMigration(client: Client, tenant: string, request: DisableRequest): Promise<DisableResult> {
  return refusedAs('disable refused', () => tenantHandle(client, tenant).executeUpdate(disableCloudMigrationUpdate, { args: [request] }));
}

/** Check for Update: the version this tenant runs next to the deployed one. */
export function checkForUpdate(client: Client, tenant: string): Promise<ServiceVersions> {
  return tenantHandle(client, tenant).query(checkForUpdateQuery);
}

/** Update: continue the tenant's workflow as new on the deployed code. */
export function updateService(client: Client, tenant: string, requester: Requester): Promise<ServiceVersions> {
  return refusedAs('update refused', () => tenantHandle(client, tenant).executeUpdate(updateServiceUpdate, { args: [requester] }));
}

/** Get Runtime Service Key: the key's public id, issue time and holder (never the key). */
export function runtimeKeyInfo(client: Client, tenant: string): Promise<RuntimeKeyInfo | null> {
  return tenantHandle(client, tenant).query(runtimeServiceKeyQuery);
}

/** Reset Runtime Service Key: a new key, written on the runtime that executes the reset; the old one stays valid for `graceHours` (default 24). */
export function resetRuntimeServiceKey(client: Client, tenant: string, request: ResetKeyRequest): Promise<RuntimeKeyInfo> {
  return refusedAs('key reset refused', () => tenantHandle(client, tenant).executeUpdate(resetRuntimeServiceKeyUpdate, { args: [request] }));
}

/** The key rollout: which hosts present which key; `finish` retires the previous key. */
export function runtimeKeyRollout(client: Client, tenant: string, request: KeyRolloutRequest): Promise<KeyRollout> {
  return refusedAs('key rollout refused', () => tenantHandle(client, tenant).executeUpdate(runtimeKeyRolloutUpdate, { args: [request] }));
}

/** Rerun Detail Snapshot: the historical tables emptied and copied again by the companies' oldest year. */
export function rerunDetailSnapshot(client: Client, tenant: string, requester: Requester): Promise<SnapshotStarted> {
  return refusedAs('snapshot refused', () => tenantHandle(client, tenant).executeUpdate(rerunDetailSnapshotUpdate, { args: [requester] }));
}

/** Company configuration: the companies and their settings; setup runs again before the answer. */
export function configureCompanies(client: Client, tenant: string, request: ConfigureCompaniesRequest): Promise<CompanyMapping[]> {
  return refusedAs('companies refused', () => tenantHandle(client, tenant).executeUpdate(configureCompaniesUpdate, { args: [request] }));
}
