// Shared types: the vocabulary of ../shared/BRIEF.md, used by workflows, activities and the CLI.
// Nothing here may carry a secret: connections are *names* that workers resolve.

export type TableStatus = 'Not Started' | 'In Progress' | 'Successful' | 'Warning' | 'Failed' | 'Not Migrated';
export type RunStatus = 'In Progress' | 'Completed' | 'Failed';
export type RunKind = 'full' | 'delta';
export type EnvironmentState = 'Active' | 'Update';
export type TenantStatus =
  | 'Setup In Progress'
  | 'Setup Failed'
  | 'Ready'
  | 'Replication In Progress'
  | 'Upgrade Pending'
  | 'Upgrade in Progress'
  | 'Upgrade completed successfully'
  /** Written only by executions started before 1.7.0 (ONE_STATUS_SPELLING); every answer says 'Upgrade Pending'. */
  | 'Upgrade pending'
  | 'Cloud Migration Disabled';

/** One company: a source schema and the target schema it lands in. */
export interface CompanyMapping {
  source: string;
  target: string;
  /** Company configuration: table-name patterns (* and ?) to migrate; unset means every table. */
  includeTables?: string[];
  /** Table-name patterns never migrated (they show as Not Migrated, with this reason). */
  excludeTables?: string[];
  /** Historical transactions dated before 1 January of this year stay on-premises. */
  oldestYear?: number;
  /** Patterns of the tables of historical transactions (default: *_entry, *_history, *_hist). */
  historyTables?: string[];
}

/** Which rows of a historical table are kept: `column >= from`, or no date at all. */
export interface KeepFrom {
  column: string;
  /** YYYY-01-01 of the company's oldest year. */
  from: string;
}

/** How the full load writes: LOAD DATA LOCAL INFILE (fast), or multi-row REPLACE (any server). */
export type WriteMode = 'load' | 'replace';

export interface CopySettings {
  /** Activities a run keeps in flight at once. */
  concurrency: number;
  /** Key ranges a large table is split into, at least (a big one gets one per `chunkRows`). */
  rangesPerTable: number;
  /**
   * Estimated rows per key range of a large table: a table of 1M rows is copied by 1M / chunkRows
   * activities that any worker may run (at most MAX_RANGES_PER_TABLE). Optional: tenants started
   * before it use the default.
   */
  chunkRows?: number;
  /** Estimated rows from which a table counts as large (own activities, split in ranges). */
  largeTableRows: number;
  /** Estimated rows one batch activity of small tables may carry. */
  smallBatchRows: number;
  /** Small tables one batch activity may carry. */
  smallBatchTables: number;
  /** Rows and bytes per INSERT statement on the target. */
  writeBatchRows: number;
  writeBatchBytes: number;
  /**
   * `load` (default) falls back to `replace` by itself when the target refuses LOCAL INFILE;
   * optional so that tenants started before the setting existed keep the default.
   */
  writeMode?: WriteMode;
  /** How long a copy may go without heartbeating before Temporal retries it elsewhere. */
  heartbeatTimeoutSeconds: number;
}

export interface TenantConfig {
  tenant: string;
  /** Connection names, resolved by the worker (CM_CONN_<NAME>_URL; `local` is MYSQL_URL). */
  sourceConnection: string;
  targetConnection: string;
  companies: CompanyMapping[];
  /** Application accounts on the target that the upgrade fence locks out (besides every account that can write). */
  appUsers: string[];
  /** Accounts the upgrade fence leaves alone (a DBA's): `user` or `'user'@'host'` (absent: none). */
  fenceExemptAccounts?: string[];
  copy: CopySettings;
  /** How verification reads (absent in tenants created before it: the defaults apply). */
  verify?: VerifySettings;
  /**
   * How changes are captured (absent in tenants created before binlog capture: `auto`). `auto` reads
   * the source's binary log where it allows it (activities/binlog-capture.ts), else installs triggers.
   */
  captureMode?: CaptureModeSetting;
  /** Start a new history once it grows past this many events, even if Temporal has not suggested it. */
  continueAsNewAfterEvents: number;
  /** The version of the data when the tenant is created (upgrades/<from>-<to> moves it on). */
  dataVersion: string;
}

export type CaptureMode = 'binlog' | 'triggers';
export type CaptureModeSetting = CaptureMode | 'auto';

/** The capture mode setup chose for a tenant, and why: shown on the page. */
export interface CaptureChoice {
  mode: CaptureMode;
  reason: string;
}

/** The public face of a tenant's runtime service key: never the key itself. */
export interface RuntimeKeyInfo {
  /** The key's public id (the key reads cmk_<id>_<secret>). */
  keyId: string;
  issuedAt: string;
  issuedBy?: string;
  /** The runtime host that registered it (setup) or wrote it to its key file (a reset). */
  deliveredTo: string;
  /** After a reset: the key it replaced, still valid until then (or until the rollout is finished). */
  previous?: { keyId: string; validUntil: string };
}

/** Who asked for an operator action, and why: kept for the audit trail. */
export interface Requester {
  requestedBy?: string;
  reason?: string;
}

export interface FindingRow {
  severity: 'info' | 'warning' | 'error';
  table?: string;
  message: string;
}

/** What the workflow keeps per table between runs (no column lists: activities re-read those). */
export interface TableRef {
  /** `sourceSchema.table`, unique within a tenant. */
  key: string;
  sourceSchema: string;
  targetSchema: string;
  table: string;
}

export interface TablePlan extends TableRef {
  hasPrimaryKey: boolean;
  /** Single integer primary key: can be split in key ranges. */
  splittable: boolean;
  estimatedRows: number;
  /** Set when the table is deliberately not migrated. */
  notMigratedReason?: string;
  /** A standing warning (e.g. no primary key) that makes a successful table `Warning`. */
  warning?: string;
  /** A table of historical transactions (Rerun Detail Snapshot re-copies these). */
  history?: boolean;
  /** Set on a historical table when the company has an oldest year: older rows are not migrated. */
  keepFrom?: KeepFrom;
}

export interface Assessment {
  sourceSchemas: string[];
  tables: TablePlan[];
  findings: FindingRow[];
}

/** What a run reports per table (DMS-console style), kept per table on the management page. */
export interface TableStats {
  status: TableStatus;
  fullLoadRows: number;
  inserts: number;
  updates: number;
  deletes: number;
  errors: number;
  durationMs: number;
  lastSyncPosition?: string;
  errorMessage?: string;
  /** True once the table has a complete full load behind it (later runs may use deltas). */
  fullLoadDone: boolean;
}

/** Per-table result of one activity's work in a run. */
export interface TableRunResult extends TableStats {
  key: string;
  /** Set when the run's rolling verification finished a pass over the table, or found a difference. */
  verification?: VerificationSummary;
}

/** Per-table row of the management page: the latest known state (inserts/updates/deletes add up over runs). */
export interface TableState extends TablePlan, TableStats {
  lastRun?: number;
  /** The latest schema change followed on this table: what changed, what was done, in which run. */
  schemaChange?: string;
  /** `cm resync` asked for this table to be rebuilt from the source by the next run (who, why). */
  resyncRequested?: string;
  /** The latest comparison of this table's target with its source. */
  verification?: VerificationSummary;
}

// --- Verification ------------------------------------------------------------------------------

/** Verify Now: which tables, and whether to make the differing rows equal to the source. */
export interface VerifyRequest extends Requester {
  /** A company's source schema; all companies when absent. */
  company?: string;
  /** A table name or pattern (* and ?); all tables when absent. */
  table?: string;
  repair?: boolean;
}

/** How gently a verification reads: chunk size, chunks in flight, and a pause while the source is busy. */
export interface VerifySettings {
  chunkRows: number;
  /** Activities (each comparing one table at a time) in flight at once. */
  concurrency: number;
  /** Pause before a chunk while the source's Threads_running is above this. */
  maxThreadsRunning: number;
  pauseMs: number;
  /** Most time spent pausing per table before going on anyway (and saying so). */
  maxPauseMs: number;
  /** Every run compares the next slice of each table: a full pass over a table takes this many runs… */
  runsPerPass: number;
  /** …but a run compares at most this many chunks of one table, so that a delta run stays short (absent: 100). */
  maxChunksPerRun?: number;
}

export interface VerificationInput {
  tenant: string;
  number: number;
  sourceConnection: string;
  targetConnection: string;
  tables: TableWork[];
  repair: boolean;
  settings: VerifySettings;
  /** The run the verification follows: the disable checklist asks for one after the final run. */
  afterRun: number;
  /** How the tenant captures changes (absent: triggers): where pending changes are looked up. */
  capture?: CaptureMode;
  /** The tenant's copy.heartbeatTimeoutSeconds: how soon a dead worker's comparison resumes elsewhere. */
  heartbeatTimeoutSeconds?: number;
  /** Set when the rows live on the target: `tables` is empty, and the loaded tables that match are read from there. */
  fromRows?: TableFilter;
}

/** `Verified`: equal to the source when compared; `Differs`: rows or definition differ; `Failed`: could not compare. */
export type TableVerificationStatus = 'Verified' | 'Differs' | 'Failed';

export interface VerificationSummary {
  status: TableVerificationStatus;
  /** When it was compared (the end of the table's comparison). */
  at: string;
  missing: number;
  extra: number;
  different: number;
  /** Rows missing because the target rejected them (each run retries them): known, with the table's reason. */
  rejected: number;
  repaired: number;
  /** A few example keys: "missing [3]", "different [7]". */
  examples: string[];
  /** Definition differences (columns, types, key). */
  definition: string[];
  error?: string;
}

export interface TableVerification extends VerificationSummary {
  key: string;
  rowsCompared: number;
  chunks: number;
  /** Rows with a captured change still pending on the source: not differences, the next run applies them. */
  pending: number;
  /** Pauses while the source was busy, and their total. */
  pauses: number;
  pausedMs: number;
}

export type VerificationStatus = 'In Progress' | 'Equal' | 'Differences' | 'Failed';

export interface VerificationResult {
  number: number;
  status: Exclude<VerificationStatus, 'In Progress'>;
  repair: boolean;
  /** Each table's outcome (when the rows live on the target: at most 200, those that differ first; `counts` counts them all). */
  tables: TableVerification[];
  counts?: { tables: number; verified: number; differing: number; repaired: number };
}

/** A line of the page's verification log. */
export interface VerificationLogEntry {
  number: number;
  workflowId: string;
  status: VerificationStatus;
  requestedBy?: string;
  reason?: string;
  repair: boolean;
  afterRun: number;
  /** Set when it covered only some tables ("company cronus, tables cust_*"): Disable asks for a whole one. */
  scope?: string;
  startedAt: string;
  endedAt?: string;
  tables: number;
  verified?: number;
  differing?: number;
  repaired?: number;
  failure?: string;
}

/** One data lake export on the page. */
export interface LakeExportLogEntry {
  workflowId: string;
  kind: 'migrated' | 'history';
  status: 'In Progress' | 'Completed' | 'Failed';
  /** The destination's name as requested (the worker's CM_LAKE_<NAME>_URI); absent: its default (CM_LAKE_URI). */
  to?: string;
  companies: string[];
  requestedBy?: string;
  reason?: string;
  startedAt: string;
  endedAt?: string;
  /** From the export's result: its number in the destination's manifest, where it went, what it wrote. */
  number?: number;
  destination?: string;
  tables?: number;
  rowsWritten?: number;
  deletesWritten?: number;
  rows?: number;
  failure?: string;
}

export interface RunLogEntry {
  run: number;
  workflowId: string;
  kind: RunKind;
  status: RunStatus;
  trigger: 'update' | 'signal';
  requestedBy?: string;
  reason?: string;
  startedAt: string;
  endedAt?: string;
  tables: number;
  tablesDone: number;
  rows: number;
  failure?: string;
  /** Binlog mode: the part of the source's binary log this run read (positions, keys, full copies owed). */
  capture?: RunCapture;
  /** Schema changes on the source this run followed (at most 50 listed), and how many there were. */
  schemaChanges?: SchemaChange[];
  schemaChangeCount?: number;
}

export interface RefusalEntry {
  at: string;
  action: string;
  reason: string;
  requestedBy?: string;
}

export interface Tiles {
  successful: number;
  warnings: number;
  failed: number;
  notMigrated: number;
  /** Tables whose latest verification found them equal to the source. */
  verified: number;
  nextScheduledRun: string | null;
}

export interface StatusPage {
  tenant: string;
  status: TenantStatus;
  environmentState: EnvironmentState;
  sourceConnection: string;
  targetConnection: string;
  companies: CompanyMapping[];
  /** How changes are captured on the source, and why that way. */
  capture?: CaptureChoice;
  setupError?: string;
  tiles: Tiles;
  currentRun?: RunLogEntry;
  /** The latest runs (at most STATUS_LOG_ENTRIES), oldest first; `logTotal` says how many the log keeps. */
  log: RunLogEntry[];
  logTotal: number;
  /** How many tables there are, by status, overall and per company: the page's only per-table figures. */
  tableCounts: TableCounts;
  /**
   * The tables that need the operator first (failed, then with warnings, then not migrated), at most
   * STATUS_PROBLEM_TABLES of them; every table, filtered and in pages, is the `tables` query's.
   */
  problemTables: TableState[];
  /**
   * Set when every table's row lives on the target (cm_control.table_state): the `tables` and
   * `setupChecklist` queries then do not answer, and pages are read by a `readTableRows` workflow on this task queue.
   */
  tableRows?: { taskQueue: string };
  /** Set when the tables' rows could not be read at the last step: the counts are older (the reason). */
  tableRowsError?: string;
  /** Assessment findings, errors and warnings first, at most STATUS_FINDINGS; `findingsTotal` counts them all. */
  findings: FindingRow[];
  findingsTotal: number;
  refusals: RefusalEntry[];
  dataVersion: string;
  /** Environment Operations: every data upgrade with its outcome (and stack trace on failure). */
  upgrades: UpgradeLogEntry[];
  hotfixes: HotfixRecord[];
  /** Every verification (Verify Now, cm verify), newest last. */
  verifications: VerificationLogEntry[];
  /** Data lake exports, newest last (absent in pages of workflows from before the lake). */
  lakeExports?: LakeExportLogEntry[];
  /** The replication schedule, e.g. "daily at 02:00 UTC". */
  schedule?: string;
  /** The runtime service key's public id (never the key). */
  runtimeKey?: RuntimeKeyInfo;
  disabled?: DisableResult;
}

/**
 * What the management workflow keeps of its tables once their rows live on the target: counts, the
 * problem tables first, and what its decisions need. Bounded whatever the number of tables.
 */
export interface TableSummary {
  counts: TableCounts;
  verified: number;
  /** At most STATUS_PROBLEM_TABLES, failed first. */
  problemTables: TableState[];
  /** Tables migrated (all but Not Migrated); of them: loaded in full, owed a first full load (keyed), historical. */
  migratable: number;
  loaded: number;
  owedFullLoad: number;
  history: number;
  /** Set when the rows could not be read: the counts are the last ones read. */
  error?: string;
}

/** Table counts by status: overall, and per company (source schema). */
export interface TableCounts {
  total: number;
  byStatus: Partial<Record<TableStatus, number>>;
  companies: { company: string; total: number; byStatus: Partial<Record<TableStatus, number>> }[];
}

/** Which tables a page lists: all of them, or narrowed by company, status and a name pattern. */
export interface TableFilter {
  /** A company's source schema. */
  company?: string;
  status?: TableStatus;
  /** A table name or pattern (* and ?), or `schema.table`. */
  table?: string;
}

export interface PageRequest {
  /** 1-based. */
  page?: number;
  pageSize?: number;
}

/** One page of the per-table rows: problems first (failed, warning, not migrated), then by name. */
export interface TablePage {
  filter: TableFilter;
  page: number;
  pageSize: number;
  /** Tables that match the filter, over all pages. */
  total: number;
  pages: number;
  tables: TableState[];
}

/** Input of one replication run (a child workflow). */
export interface RunInput {
  tenant: string;
  run: number;
  sourceConnection: string;
  targetConnection: string;
  copy: CopySettings;
  /** How the run verifies what it touched (absent in runs started before verification). */
  verify?: VerifySettings;
  /** Tables to process; `full` says whether each needs a full load. */
  tables: (TablePlan & { full: boolean })[];
  /** How the tenant captures changes (absent in runs from before binlog capture: triggers). */
  capture?: CaptureMode;
  /** Follow the source's schema first (absent in runs from before 1.4.0: they do not). */
  schema?: SchemaFollowInput;
  /** Set when the rows live on the target: `tables` is empty, the run reads its tables from there in pages. */
  fromRows?: boolean;
  /** The run's kind, as the page decided it (set with fromRows: the run knows its tables only once it has read them). */
  kind?: RunKind;
}

/** What a run needs to follow schema changes on the source before it moves rows. */
export interface SchemaFollowInput {
  companies: CompanyMapping[];
  /** Tables the tenant knows but does not migrate (excluded, unsupported): not new when seen. */
  notMigrated: string[];
  /** Tables an operator asked to rebuild from the source (`cm resync`). */
  resync: string[];
}

/** One schema change seen on the source, and what the run did about it. */
export interface SchemaChange {
  key: string;
  change: string;
  action: string;
  /** The change could not be followed: the table fails this run, with `action` as the reason. */
  failed?: boolean;
}

export interface SchemaFollowResult {
  changes: SchemaChange[];
  /** Tables new on the source (migrated or not, as the company configuration says). */
  added: TablePlan[];
  /** Tables gone from the source: dropped on the target too. */
  dropped: string[];
  /** Tables whose plan changed with their definition (a key added or removed). */
  replanned: TablePlan[];
  /** Tables the run copies in full because of a change (rebuilt, or an added column in triggers mode). */
  rebuilt?: string[];
  /** Tables renamed on the source, renamed on the target too: the old key and the new plan. */
  renamed?: { from: string; plan: TablePlan }[];
}

/** Binlog mode: what a run read of the source's binary log before it applied the changes. */
export interface RunCapture {
  from: string;
  to: string;
  rowEvents: number;
  keys: number;
  /** Statements that made tables owe a full copy (TRUNCATE, DROP, RENAME…), abbreviated. */
  statements: string[];
  /** The position was gone from the source's binary logs: every table copied again, and why. */
  lost?: string;
}

export interface RunResult {
  run: number;
  status: RunStatus;
  /** Each table's result (empty when the rows live on the target: `counts` then says how many). */
  tables: TableRunResult[];
  counts?: { tables: number; failed: number; rows: number; schemaChanges: number };
  failure?: string;
  capture?: RunCapture;
  /** Schema changes the run followed before it moved rows. */
  schema?: SchemaFollowResult;
}

export interface RunProgressTable {
  key: string;
  status: TableStatus;
  estimatedRows: number;
  rows: number;
}

export interface RunProgress {
  run: number;
  kind: RunKind;
  status: RunStatus;
  /** Tables in the run, and how many have each status. */
  total: number;
  counts: Partial<Record<TableStatus, number>>;
  /** Rows moved by the finished tables. */
  rows: number;
  /**
   * The tables finished from the asked position on (at most 500, in the order they finished), then
   * the tables being worked on now. Not every table: a run may have 40,000.
   */
  tables: RunProgressTable[];
  /** Pass as `since` to get only the tables that finish after these. */
  next: number;
}

/** A slice of a table with a single integer key: rows with after < key <= upTo (bounds optional). */
export interface KeyRange {
  index: number;
  after?: string;
  upTo?: string;
}

export interface RangeResult {
  rows: number;
  rejected: number;
  firstError?: string;
  durationMs: number;
  lastKey?: string;
  /** The capture each range copied under (one id per range, or several after the capture was put back meanwhile). */
  captureIds?: number[];
  /** A retried attempt: the rows its earlier attempts had committed, which it did not copy again. */
  resumedAt?: number;
}

/** One table's work in a run; `precopied` is set when its full load was done by key-range activities. */
export interface TableWork extends TablePlan {
  full: boolean;
  precopied?: RangeResult;
}

// --- Data upgrade -------------------------------------------------------------------------------

export interface UpgradeStep {
  /** NNN_name, unique within its version. */
  name: string;
  /**
   * The file's name in its version folder (001_x.sql): each worker finds it under its own upgrades
   * root. Plans of earlier versions held the planning worker's path; only its last part is used.
   */
  file: string;
  kind: 'sql' | 'code';
  /** sha256 of the file, recorded in the schema history. */
  checksum: string;
}

export interface UpgradePlan {
  /** The version folder's name, e.g. 1.0-2.0: also the version in the schema history. */
  version: string;
  from: string;
  to: string;
  /** The planning worker's path, in plans of earlier versions only. */
  dir?: string;
  steps: UpgradeStep[];
}

export interface UpgradeInput {
  tenant: string;
  number: number;
  targetConnection: string;
  /** Target schemas of the tenant's companies: what the fence and the restore point cover. */
  schemas: string[];
  appUsers: string[];
  exemptAccounts?: string[];
  dataVersion: string;
  /** The version to upgrade to (a folder <dataVersion>-<to> under the worker's upgrades root); unset: the next one. */
  to?: string;
  /** Upgrades requested before versions were named carried a path: kept so their histories read, and ignored. */
  stepsDir?: string;
}

export type UpgradeStatus = 'In Progress' | 'Complete' | 'Failed';

/** A line of the Environment Operations list. */
export interface UpgradeLogEntry {
  number: number;
  workflowId: string;
  status: UpgradeStatus;
  requestedBy?: string;
  reason?: string;
  startedAt: string;
  endedAt?: string;
  from?: string;
  to?: string;
  failedStep?: string;
  error?: string;
  stackTrace?: string;
  /** True when a failure or cancellation was undone by the point-in-time restore. */
  restored?: boolean;
  /** True when the upgrade was refused before its fence was raised (its plan failed): nothing changed, nothing was restored. */
  refused?: boolean;
  /** Set when the upgrade workflow was terminated or timed out and the management workflow restored and released instead. */
  recoveredBy?: 'management';
  /** An operator's decisions on an upgrade whose restore could not be verified (`cm upgrade --resolve`), newest last (at most 10). */
  resolutions?: UpgradeResolution[];
}

export type ResolveAction = 'inspect' | 'retry' | 'release';

export interface UpgradeResolution {
  action: ResolveAction;
  requestedBy?: string;
  reason?: string;
  at: string;
  /** What came of it, in words: the differing tables, the restore's outcome or its error. */
  outcome: string;
}

export interface UpgradeResult {
  from: string;
  to: string;
  steps: { name: string; status: 'applied' | 'skipped' }[];
}

export interface UpgradeProgress {
  phase: 'plan' | 'fence' | 'restore point' | 'steps' | 'release' | 'restore' | 'done';
  plan?: UpgradePlan;
  stepsDone: string[];
  currentStep?: string;
}

export interface HotfixRecord {
  name: string;
  checksum: string;
  schemas: string[];
  appliedAt: string;
  requestedBy?: string;
  reason?: string;
}

/** What Disable Cloud Migration did: the workflow's result, and the last line of its story. */
export interface DisableResult {
  disabledAt: string;
  requestedBy?: string;
  reason?: string;
  finalRun: string;
  /** The verification after the final run ("verification #3 after run #5: Equal"), or "skipped on request". */
  verification?: string;
  captureRemoved: number;
}
