// The management workflow's and the run workflow's public messages: what the UI's Signal, Update
// and Query buttons list (with the descriptions below), and what `cm` calls.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CompanyMapping, DisableResult, PageRequest, Requester, TableFilter, TablePage, ResolveAction, RuntimeKeyInfo, RunKind, RunProgress, StatusPage, TableVerification, UpgradeProgress, VerifyRequest } from '../lib/types';
import type { ScheduleSpec } from '../lib/schedule';
import type { KeyRollout } from '../activities/runtime-key';
import type { ChecklistPage } from '../lib/table-pages';
import type { LakeExportSummary, LakeKind } from '../lib/lake';

export interface RunStarted {
  run: number;
  workflowId: string;
  kind: RunKind;
}

export type ConfigureCompaniesRequest = Requester & { companies: (Omit<CompanyMapping, 'target'> & { target?: string })[] };

export const runMigrationNowUpdate = defineUpdate<RunStarted, [Requester]>('runMigrationNow');
export const runMigrationNowSignal = defineSignal<[Requester]>('runMigrationNow');
export const configureCompaniesUpdate = defineUpdate<CompanyMapping[], [ConfigureCompaniesRequest]>('configureCompanies');
export const statusQuery = defineQuery<StatusPage>('status');
export type TablePageRequest = TableFilter & PageRequest;
export const tablesQuery = defineQuery<TablePage, [TablePageRequest?]>('tables');
/** `since`: the `next` of the previous answer (0 or unset: from the first table that finished). */
export const progressQuery = defineQuery<RunProgress, [{ since?: number }?]>('progress');

export interface UpgradeStarted {
  number: number;
  workflowId: string;
}
/** `to`: the data version to upgrade to, such as "2.0" (unset: the next one). Never a path: a `stepsDir` is refused. */
export type UpgradeRequest = Requester & { to?: string };
export type HotfixRequest = Requester & { name: string; sql: string; schemas?: string[] };
export interface HotfixApplied {
  name: string;
  checksum: string;
  applied: string[];
  skipped: string[];
}

export const runDataUpgradeNowUpdate = defineUpdate<UpgradeStarted, [UpgradeRequest]>('runDataUpgradeNow');
export const applyHotfixUpdate = defineUpdate<HotfixApplied, [HotfixRequest]>('applyHotfix');
export type ResolveUpgradeRequest = Requester & { action: ResolveAction };
export interface UpgradeResolved {
  action: ResolveAction;
  /** True when the fence is down afterwards. */
  fenceReleased: boolean;
  outcome: string;
}
export const resolveUpgradeUpdate = defineUpdate<UpgradeResolved, [ResolveUpgradeRequest]>('resolveUpgrade');
export const upgradeProgressQuery = defineQuery<UpgradeProgress>('upgradeProgress');
export type ResetRequest = Requester & { confirm?: boolean };
export const resetCloudDataUpdate = defineUpdate<{ tablesEmptied: number; rowsDeleted: number }, [ResetRequest]>('resetCloudData');
export const setupChecklistQuery = defineQuery<ChecklistPage, [PageRequest?]>('setupChecklist');
export type ScheduleRequest = Requester & { schedule: ScheduleSpec | null };
export type DisableRequest = Requester & { skipFinalRun?: boolean; skipVerification?: boolean };
export interface ServiceVersions {
  running: string;
  deployed: string;
  updateAvailable: boolean;
}
export const checkForUpdateQuery = defineQuery<ServiceVersions>('checkForUpdate');
export const updateServiceUpdate = defineUpdate<ServiceVersions, [Requester]>('updateService');
export const disableCloudMigrationUpdate = defineUpdate<DisableResult, [DisableRequest]>('disableCloudMigration');
export type SnapshotStarted = RunStarted & { tables: number };
export const rerunDetailSnapshotUpdate = defineUpdate<SnapshotStarted, [Requester]>('rerunDetailSnapshot');
export const runtimeServiceKeyQuery = defineQuery<RuntimeKeyInfo | null>('runtimeServiceKey');
export type ResetKeyRequest = Requester & { graceHours?: number };
export const resetRuntimeServiceKeyUpdate = defineUpdate<RuntimeKeyInfo, [ResetKeyRequest]>('resetRuntimeServiceKey');
export type KeyRolloutRequest = Requester & { finish?: boolean; force?: boolean };
export const runtimeKeyRolloutUpdate = defineUpdate<KeyRollout, [KeyRolloutRequest]>('runtimeKeyRollout');
export const setReplicationScheduleUpdate = defineUpdate<string, [ScheduleRequest]>('setReplicationSchedule');

export interface VerificationStarted {
  number: number;
  workflowId: string;
  tables: number;
}
export interface VerificationProgress {
  number: number;
  repair: boolean;
  tables: number;
  /** Tables compared so far, differing ones first (at most 200 listed). */
  done: number;
  differing: TableVerification[];
}
/** Resync: rebuild these tables from the source (names, schema.table, or patterns with * and ?). */
export interface ResyncRequest extends Requester {
  tables: string[];
}
export const resyncTablesUpdate = defineUpdate<RunStarted, [ResyncRequest]>('resyncTables');
/** Export to the data lake: `to` a destination's name (the worker's CM_LAKE_<NAME>_URI); `companies` by source schema (all when unset). */
export type LakeExportRequest = Requester & { to?: string; companies?: string[]; historyOnly?: boolean };
export interface LakeExportStarted {
  workflowId: string;
  kind: LakeKind;
  companies: string[];
}
export interface LakeExportProgress {
  kind: LakeKind;
  number?: number;
  destination?: string;
  /** Tables found so far, tables exported, and what they wrote. */
  tables: number;
  done: number;
  rowsWritten: number;
  deletesWritten: number;
}
export const exportToDataLakeUpdate = defineUpdate<LakeExportStarted, [LakeExportRequest]>('exportToDataLake');
export const lakeExportProgressQuery = defineQuery<LakeExportProgress>('lakeExportProgress');
/** How a data lake export ended: its result, or why it did not complete. */
export interface LakeExportEnded {
  workflowId: string;
  result?: LakeExportSummary;
  failure?: string;
}
/**
 * Sent by the export to the tenant's workflow (whichever execution is current: the export does not
 * hold the tenant back from continuing as new) when it ends.
 */
export const lakeExportEndedSignal = defineSignal<[LakeExportEnded]>('lakeExportEnded');
export const verifyNowUpdate = defineUpdate<VerificationStarted, [VerifyRequest]>('verifyNow');
export const verificationProgressQuery = defineQuery<VerificationProgress>('verificationProgress');

export const DESCRIPTIONS = {
  verifyNow:
    'Verify Now: compares every loaded table of the target with its source, by key-range chunks checksummed on each server (rows travel only where a chunk differs), and the definitions too. {"company":"cronus","table":"*_entry","repair":true} narrow it and make each differing row equal to the source. Refused while a run, an upgrade, setup, a reset or a hotfix is going. Returns the verification number and its workflow id.',
  resyncTables:
    'Resync: rebuilds the named tables ({"tables":["cronus.item","*_entry"]}) from the source: each target table is made again from the source\'s definition and copied in full, in a run started now. Refused when a run cannot start, and when no migrated table matches.',
  verificationProgress: 'Tables compared so far by this verification, and the ones that differ.',
  exportToDataLake:
    'Azure Data Lake: exports the migrated tables of every company ({"companies":["cronus"]} for some) as Parquet files with a manifest, to a destination named on the workers ({"to":"archive"}: CM_LAKE_ARCHIVE_URI=s3://bucket/prefix or a folder; unset: CM_LAKE_URI); a path or URI is refused. {"historyOnly":true} exports instead the historical rows the companies\' oldest year keeps out of the cloud tenant. Later exports write only what changed. Read from the source in consistent snapshots; credentials stay on the worker. Refused while another export is going, and before setup is done. Returns the export\'s workflow id.',
  lakeExportProgress: 'Tables exported so far by this data lake export, and the rows written.',
  lakeExportEnded: 'Sent by a data lake export when it ends (its result, or why it failed): recorded on the page, whichever execution of the tenant is current.',
  runMigrationNowUpdate:
    'Run Migration Now: the first run copies everything, later runs copy only the changes. Refused until setup is done, while a run is going, or while an upgrade holds the fence. Returns the run number and its workflow id.',
  runMigrationNowSignal: 'Run Migration Now, fire-and-forget (for scripts). A refused request is recorded on the status page under refusals.',
  configureCompanies:
    'Company configuration: set the companies, each with optional table filters and the oldest year of historical transactions ({"companies":[{"source":"cronus","target":"demo_cronus","excludeTables":["*_archive"],"oldestYear":2020}]}; includeTables and historyTables take patterns with * and ?). Unknown source schemas are refused. Setup runs again; excluded tables show as Not Migrated, with the reason.',
  rerunDetailSnapshot:
    'Rerun Detail Snapshot: empties the historical tables (historyTables, default *_entry, *_history, *_hist) on the target and copies them again by each company\'s oldestYear, in a run started now. Refused while a run, an upgrade, setup or a reset is going, and when no table is historical.',
  status: 'Refresh Status: the Cloud Migration Management page: tiles, table counts per company, environment state, the latest runs of the migration log, and the tables with problems first (every table: the tables query).',
  tables:
    'The per-table statistics in pages, problems first: {"company":"cronus","status":"Failed","table":"*_entry","page":2,"pageSize":100} (every field optional; at most 100 rows a page).',
  progress: 'Progress of this replication run: tables by status, the tables being worked on, and the finished ones in the order they finished ({"since": 500} for the ones after the first 500).',
  runDataUpgradeNow:
    'Run Data Upgrade Now: read and check the steps of the upgrade from the tenant\'s data version ({"to":"2.0"}, or nothing for the next version; the worker keeps the steps under its upgrades root, CM_UPGRADES_DIR, in a folder such as 1.0-2.0; paths are refused), then fence the tenant (sessions killed, application accounts locked, events and jobs held, replication and hotfixes refused), take a restore point, run the steps, release. Steps that cannot be read refuse the upgrade before the fence. On failure or cancellation the restore point is restored first. Refused until a replication run has completed, and while a run or an upgrade is going.',
  applyHotfix:
    'Apply a hotfix: {"name":"fix-123","sql":"UPDATE …"} runs the SQL on every company target schema (or {"schemas":[…]}) and records it. Refused while an upgrade holds the fence.',
  upgradeProgress: 'Phase and steps of this data upgrade.',
  resolveUpgrade:
    'Resolve an upgrade whose restore could not be verified (the fence stays up until then): {"action":"inspect"} lists what differs from the restore point, {"action":"retry"} verifies and restores again then releases the fence, {"action":"release","reason":"…"} releases the fence as the target is now, after a manual check (reason required).',
  resetCloudData:
    'Reset Cloud Data: empties every migrated table of the target so the next run copies everything again. Needs {"confirm": true}. Refused while a run, an upgrade or setup is going, and after a successful upgrade.',
  setReplicationSchedule:
    'Replication schedule: {"schedule":{"frequency":"daily","at":"02:00"}} or {"schedule":{"frequency":"weekly","weekday":"sunday","at":"03:30"}} (UTC), kept as a Temporal Schedule that requests Run Migration Now; {"schedule":null} turns it off. The next run shows as a tile.',
  disableCloudMigration:
    'Disable Cloud Migration: after its checklist (nothing running; the final run done, or {"skipFinalRun": true}; a verification with no differences after it, or {"skipVerification": true}), removes change capture from the source and the replication schedule, records the result and completes this workflow. The target keeps its data.',
  checkForUpdate: 'Check for Update: the version of the workflow code this tenant runs, next to the version the workers have deployed.',
  updateService:
    'Update: continue this workflow as new on the deployed code, carrying the whole page. Refused when already current, and while a run, an upgrade or another action is going.',
  runtimeServiceKey:
    'Get Runtime Service Key: the id of the key the runtimes must present, when and by whom it was issued, and the runtime host that holds it. The key itself never passes through Temporal: read it on that host with `cm key get <tenant>`.',
  resetRuntimeServiceKey:
    'Reset Runtime Service Key: issues a new key to the runtime host that executes this update (written to its key file); install it on every other host. The old key stays valid for {"graceHours": 24} by default, so runs in flight go on, or until the rollout is finished; {"graceHours": 0} shuts it out at once (a leaked key). Refused while a data upgrade holds the fence.',
  runtimeKeyRollout:
    'Key rollout: which runtime hosts presented which key in the last hour (current, previous, rejected). {"finish": true} retires the previous key, refused while a host still presents it ({"force": true} shuts such hosts out).',
  setupChecklist: 'Setup Checklist: the tables that were not migrated (each with its reason), failed tables, rejected rows, and secondary objects to recreate online. In pages: {"page":2}.',
} as const;
