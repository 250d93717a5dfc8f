// Creates the target side: the control schema and every company's tables, from the source's own
// definitions. Secondary objects are deliberately left behind (see README "Secondary objects"):
// triggers would re-apply effects that already arrive as row changes, events would fire in a tenant
// that is not live yet, and views and routines name source schemas.
import { TABLE_FINDING_COLUMNS, TABLE_PLAN_COLUMNS, TABLE_STATE_COLUMNS } from './table-store';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA, TARGET_SQL_MODE } from '../lib/constants';
import type { EnvironmentState } from '../lib/types';
import { errorText, forEachLimited, id, isTableError, plainName, qualified } from './sql';

/** Turns SHOW CREATE TABLE output into an idempotent CREATE for the target schema. */
export function targetDdl(showCreate: string, targetSchema: string, table: string): string {
  const header = /^CREATE TABLE `(?:[^`]|``)+`/;
  if (!header.test(showCreate)) throw new Error(`unexpected SHOW CREATE TABLE output for ${table}`);
  // A function replacer: a replacement *string* would expand `$$`, `$&`… inside the names.
  let ddl = showCreate.replace(header, () => `CREATE TABLE IF NOT EXISTS ${qualified(targetSchema, table)}`);
  // Table options sit on the last line, after the closing parenthesis of the column list.
  const cut = ddl.lastIndexOf('\n)');
  if (cut >= 0) {
    // Only the unquoted options before the first quote (COMMENT='…' and later): never rewrite comment text.
    const quote = ddl.indexOf("'", cut);
    const end = quote >= 0 ? quote : ddl.length;
    const options = ddl
      .slice(cut, end)
      .replace(/ENGINE=\w+/i, 'ENGINE=InnoDB')
      .replace(/\s+AUTO_INCREMENT=\d+/i, '');
    ddl = ddl.slice(0, cut) + options + ddl.slice(end);
  }
  return ddl;
}

/** The tenant's control tables on the target; every one is keyed by tenant. */
const CONTROL_TABLES: Record<string, string> = {
  // Every table's row of the management page (activities/table-store.ts).
  table_state: TABLE_STATE_COLUMNS,
  // Setup's plan until setup has done the rest.
  table_plan: TABLE_PLAN_COLUMNS,
  // Setup's findings, staged with its plan.
  table_finding: TABLE_FINDING_COLUMNS,
  // The state the tenant's applications read: Active, or Update while an upgrade holds the fence.
  environment: `tenant VARCHAR(64) NOT NULL PRIMARY KEY,
     state ENUM('Active','Update') NOT NULL,
     changed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     changed_by VARCHAR(200) NULL`,
  // The gate replication and hotfixes check: one row while an upgrade holds the fence.
  fence: `tenant VARCHAR(64) NOT NULL PRIMARY KEY,
     holder VARCHAR(255) NOT NULL,
     acquired_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)`,
  // What raising the fence changed, written *before* each change, so it is undone exactly.
  fence_change: `tenant VARCHAR(64) NOT NULL,
     holder VARCHAR(255) NOT NULL,
     kind VARCHAR(20) NOT NULL,
     object VARCHAR(400) NOT NULL,
     prior VARCHAR(200) NOT NULL,
     PRIMARY KEY (tenant, holder, kind, object)`,
  // The tenant's scheduled tasks (job queue entries); the fence puts Ready ones On Hold.
  job_queue: `id INT AUTO_INCREMENT PRIMARY KEY,
     tenant VARCHAR(64) NOT NULL,
     name VARCHAR(200) NOT NULL,
     status ENUM('Ready','On Hold','In Process','Finished','Error') NOT NULL DEFAULT 'Ready',
     next_run_at DATETIME NULL,
     KEY by_tenant (tenant, status)`,
  // Flyway-style record of applied upgrade steps, per target schema.
  schema_history: `tenant VARCHAR(64) NOT NULL,
     target_schema VARCHAR(64) NOT NULL,
     version VARCHAR(40) NOT NULL,
     step VARCHAR(200) NOT NULL,
     checksum CHAR(64) NOT NULL,
     applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     workflow_id VARCHAR(255) NOT NULL,
     PRIMARY KEY (tenant, target_schema, version, step)`,
  // The fingerprints of a restore point's parked originals, so any worker (or the management
  // workflow after a lost upgrade) can verify and restore without the point in a payload.
  restore_point_table: `tenant VARCHAR(64) NOT NULL,
     schema_name VARCHAR(64) NOT NULL,
     table_name VARCHAR(64) NOT NULL,
     checksum VARCHAR(40) NULL,
     digest VARCHAR(128) NULL,
     PRIMARY KEY (tenant, schema_name, table_name)`,
  // Triggers of target tables while a restore point parks them (they cannot change schema with their table).
  restore_point_trigger: `tenant VARCHAR(64) NOT NULL,
     schema_name VARCHAR(64) NOT NULL,
     trigger_name VARCHAR(64) NOT NULL,
     table_name VARCHAR(64) NOT NULL,
     create_sql MEDIUMTEXT NOT NULL,
     PRIMARY KEY (tenant, schema_name, trigger_name)`,
  hotfix_log: `id INT AUTO_INCREMENT PRIMARY KEY,
     tenant VARCHAR(64) NOT NULL,
     name VARCHAR(200) NOT NULL,
     checksum CHAR(64) NOT NULL,
     target_schema VARCHAR(64) NOT NULL,
     applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     applied_by VARCHAR(200) NULL,
     workflow_id VARCHAR(255) NOT NULL`,
  // Which tenant put its data in a target schema: setup refuses a schema holding anyone else's data.
  target_owner: `target_schema VARCHAR(64) NOT NULL PRIMARY KEY,
     tenant VARCHAR(64) NOT NULL,
     claimed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)`,
  // Where each table's rolling verification stands: every run compares the next slice of chunks.
  verify_cursor: `tenant VARCHAR(64) NOT NULL,
     target_schema VARCHAR(64) NOT NULL,
     table_name VARCHAR(64) NOT NULL,
     progress MEDIUMTEXT NOT NULL,
     updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
     PRIMARY KEY (tenant, target_schema, table_name)`,
  // Where each full-load copy stands, written after every committed batch (copy-checkpoint.ts).
  copy_checkpoint: `tenant VARCHAR(64) NOT NULL,
     target_schema VARCHAR(64) NOT NULL,
     table_name VARCHAR(64) NOT NULL,
     part VARCHAR(32) NOT NULL,
     copy_id VARCHAR(512) NOT NULL,
     copy_rows BIGINT NOT NULL,
     rejected BIGINT NOT NULL,
     last_key MEDIUMTEXT NULL,
     capture_id BIGINT NOT NULL,
     owed TEXT NULL,
     first_error TEXT NULL,
     done TINYINT NOT NULL,
     updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
     PRIMARY KEY (tenant, target_schema, table_name, part)`,
  // A reset's previous runtime service key, valid until its grace period ends or the rollout is finished.
  runtime_key_previous: `tenant VARCHAR(64) NOT NULL PRIMARY KEY,
     key_id CHAR(8) NOT NULL,
     salt VARBINARY(16) NOT NULL,
     key_hash VARBINARY(32) NOT NULL,
     valid_until DATETIME(3) NOT NULL`,
  // Each runtime host's latest presentation of a tenant's key (which key, accepted or not).
  runtime_presence: `tenant VARCHAR(64) NOT NULL,
     host VARCHAR(255) NOT NULL,
     key_id CHAR(8) NULL,
     verdict VARCHAR(16) NOT NULL,
     last_seen DATETIME(3) NOT NULL,
     PRIMARY KEY (tenant, host)`,
  // Binlog capture: where the tenant's reader stands in the source's binary log (binlog-capture.ts).
  capture_position: `tenant VARCHAR(64) NOT NULL PRIMARY KEY,
     file VARCHAR(255) NOT NULL,
     pos BIGINT UNSIGNED NOT NULL,
     gtid VARCHAR(1024) NULL,
     updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)`,
  // The runtime service key: its salted hash only (see activities/runtime-key.ts). Never restored.
  runtime_key: `tenant VARCHAR(64) NOT NULL PRIMARY KEY,
     key_id CHAR(8) NOT NULL,
     salt VARBINARY(16) NOT NULL,
     key_hash VARBINARY(32) NOT NULL,
     issued_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     issued_by VARCHAR(200) NULL,
     issued_on VARCHAR(255) NOT NULL`,
};

/** Every control table; each is keyed by tenant. */
export const CONTROL_TABLE_NAMES = Object.keys(CONTROL_TABLES);

/** Control tables whose tenant rows belong in a restore point (the fence's own rows do not). */
export const RESTORED_CONTROL_TABLES = ['environment', 'job_queue', 'schema_history', 'hotfix_log'];

export async function ensureControlSchema(pool: Pool | PoolConnection): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${id(CONTROL_SCHEMA)} DEFAULT CHARACTER SET utf8mb4`);
  for (const [table, columns] of Object.entries(CONTROL_TABLES)) {
    await pool.query(`CREATE TABLE IF NOT EXISTS ${qualified(CONTROL_SCHEMA, table)} (${columns}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  }
}

/** Needs the control schema (created at setup, and again when a fence is acquired). */
export async function writeEnvironmentState(pool: Pool, tenant: string, state: EnvironmentState, changedBy: string): Promise<void> {
  await pool.query(
    `INSERT INTO ${qualified(CONTROL_SCHEMA, 'environment')} (tenant, state, changed_by) VALUES (?, ?, ?)
     ON DUPLICATE KEY UPDATE state = VALUES(state), changed_at = CURRENT_TIMESTAMP(3), changed_by = VALUES(changed_by)`,
    [tenant, state, changedBy],
  );
}

export async function readEnvironmentState(pool: Pool, tenant: string): Promise<EnvironmentState | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT state FROM ${qualified(CONTROL_SCHEMA, 'environment')} WHERE tenant = ?`, [tenant]);
  return rows[0]?.state as EnvironmentState | undefined;
}

export interface CreateOutcome {
  created: number;
  /** Tables the target refused to create (say, a default MySQL 8 will not accept), with the reason. */
  failed: { table: string; error: string }[];
}

const DDL_SESSIONS = 4;

/** Creates the target schema with the source schema's defaults, then each table. */
export async function createTargetTables(source: Pool, target: Pool, sourceSchema: string, targetSchema: string, tables: string[]): Promise<CreateOutcome> {
  const [defaults] = await source.query<RowDataPacket[]>(
    'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [sourceSchema],
  );
  const cs = plainName(defaults[0]?.cs, 'utf8mb4');
  const co = plainName(defaults[0]?.co, 'utf8mb4_general_ci');
  await target.query(`CREATE SCHEMA IF NOT EXISTS ${id(targetSchema)} DEFAULT CHARACTER SET ${cs} COLLATE ${co}`);
  const outcome: CreateOutcome = { created: 0, failed: [] };
  const createOne = async (conn: PoolConnection, table: string): Promise<void> => {
    const [rows] = await source.query<RowDataPacket[]>(`SHOW CREATE TABLE ${qualified(sourceSchema, table)}`);
    try {
      const [res] = await conn.query(targetDdl(String(rows[0]['Create Table']), targetSchema, table));
      if ((res as { warningStatus?: number }).warningStatus === 0) outcome.created++;
    } catch (err) {
      if (!isTableError(err)) throw err;
      outcome.failed.push({ table, error: errorText(err) });
    }
  };
  // A few sessions side by side: each CREATE is a metadata change of its own table.
  const sessions = await Promise.all(Array.from({ length: Math.max(1, Math.min(DDL_SESSIONS, tables.length)) }, () => target.getConnection()));
  try {
    // Tables reference each other in any order; and the target is as strict here as in the copy.
    for (const conn of sessions) await conn.query('SET SESSION foreign_key_checks = 0, sql_mode = ?', [TARGET_SQL_MODE]);
    const free = [...sessions];
    await forEachLimited(tables, sessions.length, async (table) => {
      const conn = free.pop()!;
      try {
        await createOne(conn, table);
      } finally {
        free.push(conn);
      }
    });
  } finally {
    for (const conn of sessions) conn.release();
  }
  outcome.failed.sort((a, b) => a.table.localeCompare(b.table));
  return outcome;
}

/**
 * Reset Cloud Data: empties the given target tables (rows only; definitions stay). Safe to repeat.
 * Only in schemas that are the tenant's (see ensureOwnedBy): otherwise nothing at all is emptied.
 */
export async function emptyTargetTables(target: Pool, tables: { schema: string; table: string }[], beat: () => void, tenant?: string): Promise<number> {
  if (tenant === undefined) {
    throw new TargetRefused('Reset Cloud Data refused: the request does not name its tenant (it was made by an older cm version), so the owner of the target schemas cannot be checked; ask again');
  }
  for (const schema of [...new Set(tables.map((t) => t.schema))]) await ensureOwnedBy(target, tenant, schema);
  const conn = await target.getConnection();
  let deleted = 0;
  try {
    // Rows go in any order, as in the copy: foreign keys are not checked while emptying.
    await conn.query('SET SESSION foreign_key_checks = 0');
    try {
      for (const t of tables) {
        const [res] = await conn.query(`DELETE FROM ${qualified(t.schema, t.table)}`);
        deleted += (res as { affectedRows: number }).affectedRows;
        beat();
      }
    } finally {
      await conn.query('SET SESSION foreign_key_checks = 1').catch(() => undefined); // the session goes back to the pool
    }
  } finally {
    conn.release();
  }
  return deleted;
}

/** Setup may not use a target schema: the reason names the schema and the way out. */
export class TargetRefused extends Error {}

/** The data version an upgrade directory moves to: 1.0-2.0 → 2.0. */
const upgradedTo = (version: string): string => version.slice(version.indexOf('-') + 1);

/**
 * Makes sure `tenant` may migrate into each of `schemas`, then records it as their owner. Refused:
 * a schema owned by another tenant, or holding tables (with rows or not) nobody recorded putting
 * there (another application's, or an earlier tool's), which a full load would mix with the source's
 * or a reset would empty; an empty or missing schema is adopted, one from an older cm only where the
 * control schema proves it the tenant's (provenTenants); and a schema whose history says it was upgraded past the tenant's data version, where
 * replication would put old-version rows into new-version tables. Nothing is claimed unless all pass.
 */
export async function claimTargetSchemas(pool: Pool, tenant: string, schemas: string[], dataVersion?: string): Promise<void> {
  const owners = qualified(CONTROL_SCHEMA, 'target_owner');
  const toClaim: string[] = [];
  for (const schema of schemas) {
    const holder = await ownerOf(pool, schema);
    if (holder !== undefined && holder !== tenant) {
      throw new TargetRefused(`target schema '${schema}' holds the data of tenant '${holder}': choose another target schema for this company (target in its mapping)`);
    }
    if (holder === undefined) {
      // An empty schema (or none yet) is adopted; tables in it must be provably the tenant's own.
      const tables = await schemaTables(pool, schema);
      if (tables.length > 0 && !(await provenTenants(pool, tenant, schema))) {
        throw new TargetRefused(
          `target schema '${schema}' already holds data that tenant '${tenant}' did not put there: ${describeTables(tables)}. ` +
          'A full load would mix it with the source\'s rows and Reset Cloud Data would empty it; choose another target schema for this company ' +
          `(target in its mapping), or empty it (DROP SCHEMA ${id(schema)}) if that data is not needed`,
        );
      }
      toClaim.push(schema);
    }
    if (dataVersion !== undefined) {
      const [history] = await pool.query<RowDataPacket[]>(
        `SELECT version FROM ${qualified(CONTROL_SCHEMA, 'schema_history')} WHERE target_schema = ? ORDER BY applied_at DESC, version DESC LIMIT 1`,
        [schema],
      );
      const at = history[0] ? upgradedTo(String(history[0].version)) : undefined;
      if (at !== undefined && at !== dataVersion) {
        throw new TargetRefused(
          `target schema '${schema}' was upgraded to data version ${at} (cm_control.schema_history: ${String(history[0].version)}), ` +
          `but tenant '${tenant}' replicates data version ${dataVersion}: old-version rows would land in new-version tables. ` +
          `Create the tenant with "dataVersion": "${at}" if its source is at ${at}; otherwise choose another target schema, or drop this one and its schema history`,
        );
      }
    }
  }
  for (const schema of toClaim) {
    await pool.query(`INSERT IGNORE INTO ${owners} (target_schema, tenant) VALUES (?, ?)`, [schema, tenant]);
    // Two setups racing for one schema: the one whose row is not there lost.
    const holder = await ownerOf(pool, schema);
    if (holder !== tenant) {
      throw new TargetRefused(`target schema '${schema}' was just claimed by tenant '${String(holder)}': choose another target schema for this company`);
    }
  }
}

/** The tenant recorded as the schema's owner, if any. */
async function ownerOf(pool: Pool, schema: string): Promise<string | undefined> {
  const [owner] = await pool.query<RowDataPacket[]>(`SELECT tenant FROM ${qualified(CONTROL_SCHEMA, 'target_owner')} WHERE target_schema = ?`, [schema]);
  return owner[0] ? String(owner[0].tenant) : undefined;
}

/** Control tables whose rows name a tenant and one of its target schemas. */
const PER_SCHEMA_CONTROL_ROWS: [table: string, column: string][] = [
  ['schema_history', 'target_schema'],
  ['hotfix_log', 'target_schema'],
  ['verify_cursor', 'target_schema'],
  ['restore_point_trigger', 'schema_name'],
];

/**
 * A schema with no recorded owner, set up by a cm that recorded none: the control schema proves it
 * is the tenant's when the tenant's own rows name it (an upgrade, a hotfix, a verification, a
 * restore point), or when the tenant was set up (its environment row) before any owner was recorded
 * for it at all. Limit: in that last case, every schema of the tenant's next setup is adopted.
 */
async function provenTenants(pool: Pool, tenant: string, schema: string): Promise<boolean> {
  for (const [table, column] of PER_SCHEMA_CONTROL_ROWS) {
    const [hit] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${qualified(CONTROL_SCHEMA, table)} WHERE tenant = ? AND ${id(column)} = ? LIMIT 1`, [tenant, schema]);
    if (hit.length > 0) return true;
  }
  const [env] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${qualified(CONTROL_SCHEMA, 'environment')} WHERE tenant = ?`, [tenant]);
  if (env.length === 0) return false;
  const [owned] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${qualified(CONTROL_SCHEMA, 'target_owner')} WHERE tenant = ? LIMIT 1`, [tenant]);
  return owned.length === 0;
}

/**
 * Reset Cloud Data's check: the schema is recorded as the tenant's, or provably its from before
 * owners were recorded (then it is recorded now). Anything else is refused, naming the cause.
 */
async function ensureOwnedBy(pool: Pool, tenant: string, schema: string): Promise<void> {
  const holder = await ownerOf(pool, schema);
  if (holder === tenant) return;
  if (holder !== undefined) {
    throw new TargetRefused(`Reset Cloud Data refused, nothing was emptied: target schema '${schema}' is not tenant '${tenant}'s, it holds the data of tenant '${holder}' (cm_control.target_owner)`);
  }
  if (!(await provenTenants(pool, tenant, schema))) {
    throw new TargetRefused(
      `Reset Cloud Data refused, nothing was emptied: target schema '${schema}' is not tenant '${tenant}'s: cm_control.target_owner records no owner for it, ` +
      'so cm did not create it for this tenant; empty it by hand if its data is really not needed',
    );
  }
  await pool.query(`INSERT IGNORE INTO ${qualified(CONTROL_SCHEMA, 'target_owner')} (target_schema, tenant) VALUES (?, ?)`, [schema, tenant]);
  if ((await ownerOf(pool, schema)) !== tenant) return ensureOwnedBy(pool, tenant, schema); // claimed meanwhile: say by whom
}

/** Tables and views of the schema, in name order. */
async function schemaTables(pool: Pool, schema: string): Promise<string[]> {
  const [tables] = await pool.query<RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [schema]);
  return tables.map((r) => String(r.t));
}

/** "6 tables (a, b, c, d, e and 1 more)". */
export function describeTables(tables: string[], shown = 5): string {
  const listed = tables.slice(0, shown).join(', ');
  const more = tables.length > shown ? ` and ${tables.length - shown} more` : '';
  return `${tables.length} table${tables.length === 1 ? '' : 's'} (${listed}${more})`;
}
