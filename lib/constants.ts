// Names every part agrees on: task queue, workflow ids, search attributes, defaults.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { CopySettings, VerifySettings } from './types';

// Workflow code imports this module too, so nothing here may read process.env (see client/env.ts).
export const DEFAULT_TASK_QUEUE = 'cloud-migration';

export const managementWorkflowId = (tenant: string): string => `cloud-migration/${tenant}`;
export const setupWorkflowId = (tenant: string): string => `cloud-migration/${tenant}/setup`;
export const runWorkflowId = (tenant: string, run: number): string => `cloud-migration/${tenant}/run-${run}`;
export const upgradeWorkflowId = (tenant: string, n: number): string => `cloud-migration/${tenant}/upgrade-${n}`;
export const verificationWorkflowId = (tenant: string, n: number): string => `cloud-migration/${tenant}/verify-${n}`;
export const lakeExportWorkflowId = (tenant: string, n: number): string => `cloud-migration/${tenant}/lake-${n}`;
export const scheduleWorkflowId = (tenant: string): string => `cloud-migration/${tenant}/scheduled`;

// Search attributes make the UI's list filterable: TenantId="demo", MigrationStatus="Upgrade Pending".
export const TenantIdKey = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const MigrationStatusKey = defineSearchAttributeKey('MigrationStatus', SearchAttributeType.KEYWORD);
export const MigrationPhaseKey = defineSearchAttributeKey('MigrationPhase', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [TenantIdKey, MigrationStatusKey, MigrationPhaseKey];

/** A large table is copied by at most this many key-range activities (each claims its own lock). */
export const MAX_RANGES_PER_TABLE = 64;

export const DEFAULT_COPY: CopySettings = {
  concurrency: 4,
  rangesPerTable: 2,
  chunkRows: 250_000,
  largeTableRows: 100_000,
  smallBatchRows: 50_000,
  smallBatchTables: 100,
  writeBatchRows: 5_000,
  writeBatchBytes: 4 * 1024 * 1024,
  writeMode: 'load',
  heartbeatTimeoutSeconds: 30,
};

/** Verification: 1,000-row chunks, two tables at a time, pausing while the source runs more than 16 threads; every table compared in full every 4 runs, at most 100 chunks of a table per run. */
export const DEFAULT_VERIFY: VerifySettings = {
  chunkRows: 1_000,
  concurrency: 2,
  maxThreadsRunning: 16,
  pauseMs: 500,
  maxPauseMs: 60_000,
  runsPerPass: 4,
  maxChunksPerRun: 100,
};

export const DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 10_000;

/** Tables that are not migrated by design: permissions work differently online (seed 003). */
export const PERMISSION_TABLE_PATTERN = /^(user|users|user_setup|user_personalization|permission|permissions|permission_set|permission_sets|access_control)$/i;

/** Schema that holds the tenant's environment state (and, later, the fence) on the target. */
export const CONTROL_SCHEMA = 'cm_control';
/** Schema that holds change capture logs on the source. */
export const CAPTURE_SCHEMA = 'cm_capture';

/**
 * Session settings of a cloud target: strict, so bad data is rejected instead of mangled; and
 * NO_AUTO_VALUE_ON_ZERO, so a source row whose AUTO_INCREMENT key is 0 stays 0 instead of taking
 * the next value (and overwriting another row).
 */
export const TARGET_SQL_MODE = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';
/**
 * The change logs on the target (binlog capture): strict, but taking every date a source can hold
 * (zero dates, zero parts, invalid days), since a log only records the keys the source has.
 */
export const LOG_SQL_MODE = 'STRICT_ALL_TABLES,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';

/**
 * The version of the workflow code in this build. A worker deployed with a new version answers
 * Check for Update with it; a tenant runs the version it was started (or last updated) with until
 * an operator sends Update, which continues the workflow as new on the deployed code. Bump it
 * with every change to workflow logic, and guard changed logic with patched().
 */
export const SERVICE_VERSION = '1.9.0';

/** Patch id (1.6.0): the tenant's table rows on the target, written beside the page (cm_control.table_state). */
export const TABLE_ROWS = 'table-rows';
/** Patch id (1.6.0): the rows on the target are the tenant's only per-table state; the page keeps a summary. */
export const TABLE_ROWS_PAGE = 'table-rows-page';
/** Patch id (1.9.0): a data lake export outlives the execution that started it and reports its end to the current one. */
export const LAKE_EXPORT_REPORTS = 'lake-export-reports';
/** Patch id (1.7.0): one spelling of each status; executions before it wrote 'Upgrade pending' after a restored upgrade. */
export const ONE_STATUS_SPELLING = 'one-status-spelling';
/**
 * Patch id (1.8.0): a run with failed tables ends as a failed workflow (red in the Temporal UI), its
 * result in the failure's details (type RUN_FAILED); before it, such a run completed with status Failed.
 */
export const RUN_FAILS_RED = 'run-fails-red';
/** Patch id (1.8.0): as a run ends, the tenant's backlog (changes pending, the oldest's age) is measured, also as metrics. */
export const RUN_BACKLOG = 'run-backlog';
/** The failure type of a run that ended with failed tables; its details hold the RunResult. */
export const RUN_FAILED = 'RunFailed';
