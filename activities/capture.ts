// Change capture on the source: AFTER triggers append the primary key of every changed row to a
// per-table log in the `cm_capture` schema.
//
// Why a log of keys and no high-water mark: a sequence value is assigned at insert time but becomes
// visible at commit time, so "everything above the last seq I saw" skips a slow transaction's
// smaller seq forever. Here nothing is ever skipped: a run applies every log row it can see and
// deletes exactly those rows (by seq). A row committed later stays in the log for the next run.
//
// Capture is per tenant (the registry's `consumer`): two tenants may migrate one source company, and
// each drains its own log, so neither takes the other's changes and disabling one leaves the other's
// triggers. Several triggers per event are allowed since MariaDB 10.2 and MySQL 5.7. A log is fed by
// triggers, not by a shared log that tenants subscribe to: CREATE TRIGGER waits for the table's
// metadata lock, so a writer's transaction in flight at install is either logged or in the copy.
//
// In binlog mode (binlog-capture.ts) the same registry and logs live on the *target* server: the
// binary log reader fills them, nothing is installed or written on the source, and everything
// downstream (deltas, verification, rejected rows) reads them the same way.
import { createHash } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { CAPTURE_SCHEMA, LOG_SQL_MODE } from '../lib/constants';
import type { CaptureMode } from '../lib/types';
import type { TableMeta } from './introspect';
import { id, isMissingObject, plainName, qualified } from './sql';

/** Where a tenant's capture lives: on the source (triggers), or on the target (binlog). */
export interface CaptureSite {
  mode: CaptureMode;
  /** The server with the registry and the logs. */
  store: Pool;
  /** The source server (triggers go on its tables). */
  source: Pool;
  /** Binlog mode: stages every change committed until now (called before a difference is judged). */
  catchUp?: () => Promise<void>;
}

export const triggerSite = (source: Pool): CaptureSite => ({ mode: 'triggers', store: source, source });

export interface CaptureRef {
  id: number;
  logTable: string;
}

/** A tenant's capture of one table, as registered. */
export interface CaptureEntry extends CaptureRef {
  /** The InnoDB table id when capture was installed: TRUNCATE and rebuilds give the table a new one. */
  tableId?: string;
  /** All three triggers were created (false only while an install is under way or died half-way). */
  complete: boolean;
  /** Why a full copy is owed: set when capture is (re)installed, cleared once the table was copied in full. */
  copyOwed?: string;
}

/** Set on every fresh install: a full load is owed, which is no news unless the table was loaded before. */
export const CAPTURE_INSTALLED = 'change capture was installed after the table was last copied: table copied again in full';
/** What a table's result says when its capture was lost and put back: the cause comes from captureLost. */
export const captureLostMessage = (cause: string): string => `change capture was lost (${cause}): reinstalled, table copied again in full`;

const registry = qualified(CAPTURE_SCHEMA, 'capture_table');
const logTableName = (id: number): string => `log_${id}`;
const TRIGGER_KINDS = ['ai', 'au', 'ad'] as const;
/** Tables registered, read back and marked complete by one statement each (installSchemaCaptures). */
const INSTALL_BATCH = 200;
const triggerName = (id: number, kind: (typeof TRIGGER_KINDS)[number]): string => `cm_capture_${id}_${kind}`;
const errno = (err: unknown): number | undefined => (err as { errno?: number } | null)?.errno;

export async function ensureCaptureSchema(pool: Pool): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${id(CAPTURE_SCHEMA)} DEFAULT CHARACTER SET utf8mb4`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${registry} (
       id INT AUTO_INCREMENT PRIMARY KEY,
       consumer VARCHAR(64) NOT NULL DEFAULT '',
       schema_name VARCHAR(64) NOT NULL,
       table_name VARCHAR(64) NOT NULL,
       table_id BIGINT UNSIGNED NULL,
       complete TINYINT NOT NULL DEFAULT 1,
       copy_owed VARCHAR(512) NULL,
       created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       UNIQUE KEY uq_consumer_table (consumer, schema_name, table_name)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  );
  await migrateRegistry(pool);
}

/**
 * A registry from before capture was per tenant: one row per table, shared. The columns are added in
 * place (its rows get consumer '' and are adopted by the first tenant that looks for the table).
 * Every step tolerates a concurrent worker having done it first.
 */
async function migrateRegistry(pool: Pool): Promise<void> {
  const [cols] = await pool.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [CAPTURE_SCHEMA, 'capture_table'],
  );
  const have = new Set(cols.map((r) => String(r.c)));
  const add: [string, string][] = [
    ['consumer', "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '' AFTER id"],
    ['table_id', 'BIGINT UNSIGNED NULL'],
    ['complete', 'TINYINT NOT NULL DEFAULT 1'],
    ['copy_owed', 'VARCHAR(512) NULL'],
  ];
  for (const [name, def] of add) {
    if (have.has(name)) continue;
    await tolerate(pool.query(`ALTER TABLE ${registry} ADD COLUMN ${id(name)} ${def}`), 1060); // duplicate column
  }
  const [keys] = await pool.query<RowDataPacket[]>(
    'SELECT DISTINCT INDEX_NAME AS k FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [CAPTURE_SCHEMA, 'capture_table'],
  );
  const indexes = new Set(keys.map((r) => String(r.k)));
  if (!indexes.has('uq_consumer_table')) {
    await tolerate(pool.query(`ALTER TABLE ${registry} ADD UNIQUE KEY uq_consumer_table (consumer, schema_name, table_name)`), 1061); // duplicate key name
  }
  if (indexes.has('uq_table')) await tolerate(pool.query(`ALTER TABLE ${registry} DROP INDEX uq_table`), 1091); // already dropped
}

async function tolerate(statement: Promise<unknown>, ...errnos: number[]): Promise<void> {
  try {
    await statement;
  } catch (err) {
    if (!errnos.includes(errno(err) ?? 0)) throw err;
  }
}

const entryOf = (r: RowDataPacket): CaptureEntry => ({
  id: Number(r.id),
  logTable: logTableName(Number(r.id)),
  tableId: r.table_id === null || r.table_id === undefined ? undefined : String(r.table_id),
  complete: Number(r.complete) === 1,
  copyOwed: r.copy_owed === null || r.copy_owed === undefined ? undefined : String(r.copy_owed),
});

async function selectEntry(pool: Pool, tenant: string, schema: string, table: string): Promise<CaptureEntry | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT id, table_id, complete, copy_owed FROM ${registry} WHERE consumer = ? AND schema_name = ? AND table_name = ?`, [tenant, schema, table],
  );
  return rows.length === 0 ? undefined : entryOf(rows[0]);
}

/** This tenant's capture of a table; a row from before capture was per tenant becomes this tenant's. */
export async function findCapture(pool: Pool, tenant: string, schema: string, table: string): Promise<CaptureEntry | undefined> {
  if (!tenant) throw new Error('change capture needs the tenant it belongs to');
  try {
    const own = await selectEntry(pool, tenant, schema, table);
    if (own) return own;
    try {
      await pool.query(`UPDATE ${registry} SET consumer = ? WHERE consumer = '' AND schema_name = ? AND table_name = ?`, [tenant, schema, table]);
    } catch (err) {
      if (errno(err) !== 1062) throw err; // this tenant registered the table meanwhile
    }
    return await selectEntry(pool, tenant, schema, table);
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    if (errno(err) === 1054) { // unknown column: a registry from before capture was per tenant
      await ensureCaptureSchema(pool);
      return findCapture(pool, tenant, schema, table);
    }
    throw err;
  }
}

/**
 * InnoDB table ids, keyed `schema.table`: a TRUNCATE fires no trigger but gives the table a new id.
 * Reading them needs the PROCESS privilege; without it (or for a name InnoDB stores encoded, or a
 * table of another engine) a table is simply absent. One read for many tables: the view scans the
 * whole dictionary whatever the filter.
 */
export async function readTableIds(pool: Pool, tables: { schema: string; table: string }[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const names = [...new Set(tables.map((t) => `${t.schema}/${t.table}`))];
  for (const view of ['INNODB_SYS_TABLES', 'INNODB_TABLES']) { // MariaDB and MySQL 5.7; MySQL 8
    try {
      for (let i = 0; i < names.length; i += 5000) {
        const [rows] = await pool.query<RowDataPacket[]>(
          `SELECT NAME AS n, TABLE_ID AS id FROM information_schema.${view} WHERE NAME IN (?)`, [names.slice(i, i + 5000)],
        );
        for (const r of rows) ids.set(String(r.n).replace('/', '.'), String(r.id));
      }
      return ids;
    } catch (err) {
      if (errno(err) === 1109) continue; // no such view on this server
      if ([1227, 1142, 1044].includes(errno(err) ?? 0)) return ids; // no PROCESS privilege
      throw err;
    }
  }
  return ids;
}

/** The InnoDB ids a triggers capture checks tables against; binlog mode reads TRUNCATE from the log instead. */
export async function captureTableIds(site: CaptureSite, tables: { schema: string; table: string }[]): Promise<Map<string, string>> {
  return site.mode === 'triggers' && tables.length > 0 ? readTableIds(site.source, tables) : new Map();
}

// The table name matters for speed: with it, MariaDB reads one table's triggers; without it, every
// table's in the schema, which made installing capture quadratic in the number of tables.
async function existingTriggers(pool: Pool, schema: string, table: string): Promise<Set<string>> {
  return schemaTriggers(pool, schema, [table]);
}

/** The triggers on some tables of a schema: one read for all of them. */
async function schemaTriggers(pool: Pool, schema: string, tables: string[]): Promise<Set<string>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE IN (?)',
    [schema, tables],
  );
  return new Set(rows.map((r) => String(r.n)));
}

async function createTriggerOnce(pool: Pool, existing: Set<string>, name: string, sql: string): Promise<void> {
  if (existing.has(name)) return;
  await tolerate(pool.query(sql), 1359); // created meanwhile: fine
}

/** What checking a capture may use besides the source. */
export interface CaptureCheck {
  /** The table's InnoDB id now (readTableIds), when it could be read. */
  tableId?: string;
  /** Whether the tenant's target table has rows: the check for a TRUNCATE when ids cannot be compared. */
  targetHasRows?: () => Promise<boolean>;
  /** Called while waiting for another session's capture DDL on the schema (to heartbeat). */
  onWait?: () => void;
}

/**
 * Why this capture no longer sees every change of the table (the cause, in a few words), or
 * undefined when it is intact: its
 * three triggers must be on this very table (a rebuild by rename leaves them on the old one), its
 * log must exist, and the table must be the one capture was installed on.
 */
export async function captureLost(site: CaptureSite, ref: CaptureEntry, meta: TableMeta, check: CaptureCheck = {}): Promise<string | undefined> {
  const pool = site.store;
  if (site.mode === 'triggers') {
    const triggers = await existingTriggers(site.source, meta.schema, meta.name);
    if (!TRIGGER_KINDS.every((k) => triggers.has(triggerName(ref.id, k)))) {
      return 'table re-created or renamed on the source, or its capture triggers dropped';
    }
  }
  const logEmpty = async (): Promise<boolean> => {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${qualified(CAPTURE_SCHEMA, ref.logTable)} LIMIT 1`);
    return rows.length === 0;
  };
  try {
    await logEmpty();
  } catch (err) {
    if (isMissingObject(err)) return `its change log on the ${site.mode === 'binlog' ? 'target' : 'source'} was dropped`;
    throw err;
  }
  // Binlog mode: the reader sees TRUNCATE, DROP, RENAME and ALTER itself and marks the copy owed.
  if (site.mode === 'binlog') return undefined;
  if (ref.tableId !== undefined && check.tableId !== undefined) {
    // TRUNCATE fires no trigger; OPTIMIZE or an ALTER that rebuilds the table changes its id too
    // and loses nothing, but the two cannot be told apart from here: both get a full copy.
    return ref.tableId === check.tableId ? undefined : 'the table was truncated or rebuilt on the source (TRUNCATE, OPTIMIZE or a rebuilding ALTER)';
  }
  // Without ids: a table emptied with nothing logged while the target still has rows was truncated.
  // Source first, then the log: a row written in between is in the log, and the answer is "intact".
  if (check.targetHasRows) {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${qualified(meta.schema, meta.name)} LIMIT 1`);
    if (rows.length === 0 && (await logEmpty()) && (await check.targetHasRows())) return 'table truncated on the source';
  }
  // Learned now, so later truncations are noticed (a row registered without one, or PROCESS granted since).
  if (ref.tableId === undefined && check.tableId !== undefined) {
    await pool.query(`UPDATE ${registry} SET table_id = ? WHERE id = ? AND table_id IS NULL`, [check.tableId, ref.id]);
  }
  return undefined;
}

/** The named lock (GET_LOCK) every trigger DDL of cm holds on its server: capture's and the restore point's. */
export const TRIGGER_DDL_LOCK = 'cm_capture:triggers';

/**
 * Trigger DDL on the source from one session at a time, across workers, tenants and schemas: MariaDB
 * 10.11 creating triggers from several sessions at once leaves stray .TRG- files (seen here, within
 * one schema and across schemas while other DDL ran), which then block DROP DATABASE on the
 * customer's server. A named lock on the source server itself.
 */
async function withCaptureLock<T>(site: CaptureSite, schema: string, table: string, onWait: (() => void) | undefined, fn: () => Promise<T>): Promise<T> {
  // Binlog mode creates no trigger: one table's capture at a time is enough, so tables go side by side.
  const name = site.mode === 'binlog' ? `cm_capture:${createHash('sha1').update(`${schema}.${table}`).digest('hex')}` : TRIGGER_DDL_LOCK;
  return withNamedLock(site.store, name, onWait, fn); // GET_LOCK names: at most 64 characters
}

/** Runs `fn` while one session of `pool` holds a named lock (GET_LOCK), waiting as long as it takes. */
export async function withNamedLock<T>(pool: Pool, name: string, onWait: (() => void) | undefined, fn: () => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  let held = false;
  try {
    for (;;) {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 2) AS got', [name]);
      if (Number(rows[0].got) === 1) break;
      onWait?.();
    }
    held = true;
    return await fn();
  } finally {
    let released = !held;
    if (held) released = await conn.query('SELECT RELEASE_LOCK(?)', [name]).then(() => true, () => false);
    // A session that may still hold the lock must not go back to the pool.
    if (released) conn.release();
    else conn.destroy();
  }
}

type KeyColumn = { name: string; columnType: string; collation?: string };

/** Registers (if needed) and completes a capture; the caller holds the schema lock. */
async function install(site: CaptureSite, tenant: string, meta: TableMeta, keyColumns: KeyColumn[], tableId: string | undefined, copyOwed: string): Promise<CaptureEntry> {
  const pool = site.store;
  await pool.query(
    `INSERT IGNORE INTO ${registry} (consumer, schema_name, table_name, table_id, complete, copy_owed) VALUES (?, ?, ?, ?, 0, ?)`,
    [tenant, meta.schema, meta.name, tableId ?? null, copyOwed],
  );
  const ref = await findCapture(pool, tenant, meta.schema, meta.name);
  if (!ref) throw new Error(`capture registry has no row for ${meta.schema}.${meta.name}`);
  if (ref.complete) return ref;

  await pool.query(logTableDdl(ref, keyColumns));
  if (site.mode === 'binlog') { // the binary log reader fills the log: nothing on the source
    await pool.query(`UPDATE ${registry} SET complete = 1 WHERE id = ?`, [ref.id]);
    return { ...ref, complete: true };
  }
  const existing = await existingTriggers(pool, meta.schema, meta.name);
  for (const [name, sql] of triggerStatements(ref, meta, keyColumns)) await createTriggerOnce(pool, existing, name, sql);
  await pool.query(`UPDATE ${registry} SET complete = 1 WHERE id = ?`, [ref.id]);
  return { ...ref, complete: true };
}

/** The log of one capture: the key of every changed row, in the order the changes were logged. */
function logTableDdl(ref: CaptureRef, keyColumns: KeyColumn[]): string {
  const keyDefs = keyColumns
    .map((c) => `${id(c.name)} ${c.columnType}${c.collation ? ` COLLATE ${plainName(c.collation)}` : ''} NULL`)
    .join(', ');
  return `CREATE TABLE IF NOT EXISTS ${qualified(CAPTURE_SCHEMA, ref.logTable)} (
       seq BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       op CHAR(1) NOT NULL,
       ${keyDefs},
       changed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

/** The three triggers of one capture (name, CREATE TRIGGER), in the order they are created. */
function triggerStatements(ref: CaptureRef, meta: TableMeta, keyColumns: KeyColumn[]): [string, string][] {
  const log = qualified(CAPTURE_SCHEMA, ref.logTable);
  const cols = keyColumns.map((c) => id(c.name)).join(', ');
  const values = (prefix: 'NEW' | 'OLD'): string => keyColumns.map((c) => `${prefix}.${id(c.name)}`).join(', ');
  const source = qualified(meta.schema, meta.name);
  const keyChanged = keyColumns.map((c) => `NOT (OLD.${id(c.name)} <=> NEW.${id(c.name)})`).join(' OR ');
  const create = (kind: (typeof TRIGGER_KINDS)[number], event: string, body: string): [string, string] =>
    [triggerName(ref.id, kind), `CREATE TRIGGER ${qualified(meta.schema, triggerName(ref.id, kind))} AFTER ${event} ON ${source} FOR EACH ROW\n${body}`];
  return [
    create('ai', 'INSERT', `       INSERT INTO ${log} (op, ${cols}) VALUES ('I', ${values('NEW')})`),
    create('au', 'UPDATE', `     BEGIN
       IF ${keyChanged} THEN INSERT INTO ${log} (op, ${cols}) VALUES ('D', ${values('OLD')}); END IF;
       INSERT INTO ${log} (op, ${cols}) VALUES ('U', ${values('NEW')});
     END`),
    create('ad', 'DELETE', `       INSERT INTO ${log} (op, ${cols}) VALUES ('D', ${values('OLD')})`),
  ];
}

/**
 * Setup's install in triggers mode of many tables of one source schema: the steps of install(), in
 * the same order, for 200 tables at a time under one hold of the capture lock: registry rows
 * (incomplete), their logs, the triggers table by table, then the rows marked complete. Table by
 * table with a lock each took 15–21 ms a table, over 15 minutes for 40,000; this takes about half.
 * One statement at a time: see withCaptureLock. Safe to run again: every step skips what is
 * done. Answers the tables whose capture was already complete: their check (checkedCapture, which
 * may put a lost one back) is the caller's, after the lock is released.
 */
export async function installSchemaCaptures(
  site: CaptureSite, tenant: string, schema: string, tables: { meta: TableMeta; keyColumns: KeyColumn[]; tableId?: string }[],
  progress: { onInstalled: () => void; onWait: () => void },
): Promise<TableMeta[]> {
  if (site.mode !== 'triggers') throw new Error('installSchemaCaptures is for triggers mode');
  const pool = site.store;
  const names = tables.map((t) => t.meta.name);
  const complete: TableMeta[] = [];
  for (let i = 0; i < tables.length; i += INSTALL_BATCH) {
    await withCaptureLock(site, schema, '', progress.onWait, async () => {
      const batch = tables.slice(i, i + INSTALL_BATCH);
      const batchNames = names.slice(i, i + INSTALL_BATCH);
      // A row from before capture was per tenant becomes this tenant's (as findCapture does); if this
      // tenant has some of them already, the batch's update is refused whole: then table by table.
      try {
        await pool.query(`UPDATE ${registry} SET consumer = ? WHERE consumer = '' AND schema_name = ? AND table_name IN (?)`, [tenant, schema, batchNames]);
      } catch (err) {
        if (errno(err) !== 1062) throw err;
        for (const name of batchNames) await findCapture(pool, tenant, schema, name);
      }
      await pool.query(
        `INSERT IGNORE INTO ${registry} (consumer, schema_name, table_name, table_id, complete, copy_owed) VALUES ?`,
        [batch.map((t) => [tenant, schema, t.meta.name, t.tableId ?? null, 0, CAPTURE_INSTALLED])],
      );
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT id, table_name, table_id, complete, copy_owed FROM ${registry} WHERE consumer = ? AND schema_name = ? AND table_name IN (?)`, [tenant, schema, batchNames],
      );
      const entries = new Map(rows.map((r) => [String(r.table_name), entryOf(r)]));
      const existing = await schemaTriggers(site.source, schema, batchNames);
      const todo: { t: (typeof batch)[number]; ref: CaptureEntry }[] = [];
      for (const t of batch) {
        const ref = entries.get(t.meta.name);
        if (!ref) throw new Error(`capture registry has no row for ${schema}.${t.meta.name}`);
        if (ref.complete) complete.push(t.meta);
        else todo.push({ t, ref });
      }
      const done: number[] = [];
      for (const { t, ref } of todo) {
        await pool.query(logTableDdl(ref, t.keyColumns));
        for (const [name, sql] of triggerStatements(ref, t.meta, t.keyColumns)) await createTriggerOnce(pool, existing, name, sql);
        done.push(ref.id);
        progress.onInstalled();
      }
      if (done.length > 0) await pool.query(`UPDATE ${registry} SET complete = 1 WHERE id IN (?)`, [done]);
    });
  }
  return complete;
}

/** Drops one capture: triggers first (by name, wherever they are now), so no write fails on a missing log. */
async function drop(site: CaptureSite, schema: string, ref: CaptureRef): Promise<void> {
  const pool = site.store;
  if (site.mode === 'triggers') {
    for (const kind of TRIGGER_KINDS) await site.source.query(`DROP TRIGGER IF EXISTS ${qualified(schema, triggerName(ref.id, kind))}`);
  }
  await pool.query(`DROP TABLE IF EXISTS ${qualified(CAPTURE_SCHEMA, ref.logTable)}`);
  await pool.query(`DELETE FROM ${registry} WHERE id = ?`, [ref.id]);
}

/** Installs (or completes) a tenant's capture of one table; safe to run any number of times. */
export async function installCapture(
  site: CaptureSite, tenant: string, meta: TableMeta, keyColumns: KeyColumn[], opts: { schemaReady?: boolean; tableId?: string; onWait?: () => void; reason?: string } = {},
): Promise<CaptureEntry> {
  if (!opts.schemaReady) await ensureCaptureSchema(site.store);
  return withCaptureLock(site, meta.schema, meta.name, opts.onWait, () => install(site, tenant, meta, keyColumns, opts.tableId, opts.reason ?? CAPTURE_INSTALLED));
}

/**
 * A tenant's capture of one table, in place and intact when this returns: installed when missing,
 * completed when half-installed, and put back from scratch when it was lost (then `copyOwed` says
 * why, and the table must be copied in full before its log can be trusted).
 */
export async function checkedCapture(
  site: CaptureSite, tenant: string, meta: TableMeta, keyColumns: KeyColumn[], check: CaptureCheck & { schemaReady?: boolean } = {},
): Promise<CaptureEntry> {
  const pool = site.store;
  const found = await findCapture(pool, tenant, meta.schema, meta.name);
  if (!found || !found.complete) return installCapture(site, tenant, meta, keyColumns, check);
  const cause = await captureLost(site, found, meta, check);
  if (!cause) return found;
  return replaceCapture(site, tenant, meta, keyColumns, found.id, captureLostMessage(cause), check);
}

/** Puts a new capture in place of a lost one: the new one owes a full copy, and says why. */
async function replaceCapture(
  site: CaptureSite, tenant: string, meta: TableMeta, keyColumns: KeyColumn[], replacedId: number, reason: string, check: CaptureCheck = {},
): Promise<CaptureEntry> {
  const pool = site.store;
  return withCaptureLock(site, meta.schema, meta.name, check.onWait, async () => {
    const now = await findCapture(pool, tenant, meta.schema, meta.name);
    // Another session (a parallel key range) put it back while this one waited.
    if (now && now.id !== replacedId) return install(site, tenant, meta, keyColumns, check.tableId, now.copyOwed ?? CAPTURE_INSTALLED);
    if (now) await drop(site, meta.schema, now);
    return install(site, tenant, meta, keyColumns, check.tableId, reason);
  });
}

/** A full copy of the table was made under this capture: its log alone keeps the table in step now. */
export async function captureCopied(pool: Pool, ref: CaptureEntry): Promise<void> {
  // Only the reason the copy started under: one set meanwhile (a TRUNCATE the binary log reader saw
  // while this copy ran) is owed a copy of its own.
  await pool.query(`UPDATE ${registry} SET copy_owed = NULL WHERE id = ? AND copy_owed <=> ?`, [ref.id, ref.copyOwed ?? null]);
}

/** Removes a tenant's capture of one table; other tenants' captures of it stay. */
export async function removeCapture(site: CaptureSite, tenant: string, schema: string, table: string): Promise<boolean> {
  const ref = await findCapture(site.store, tenant, schema, table);
  if (!ref) return false;
  await withCaptureLock(site, schema, table, undefined, () => drop(site, schema, ref));
  return true;
}

/** The source table was renamed: its capture (and, in triggers mode, its triggers, which moved with it) follows the name. */
export async function renameCapture(pool: Pool, id: number, table: string): Promise<void> {
  await pool.query(`UPDATE ${registry} SET table_name = ? WHERE id = ?`, [table, id]);
}

/** Binlog mode: a change the reader saw that no row event carries (TRUNCATE, DROP, RENAME): a full copy is owed. */
export async function markCopyOwed(pool: Pool | PoolConnection, ids: number[], reason: string): Promise<void> {
  if (ids.length === 0) return;
  await pool.query(`UPDATE ${registry} SET copy_owed = ? WHERE id IN (?)`, [reason.slice(0, 512), ids]);
}

/** A tenant's registered captures (binlog mode: what the reader stages changes for). */
export async function tenantCaptures(pool: Pool, tenant: string): Promise<(CaptureEntry & { schema: string; table: string })[]> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT id, schema_name, table_name, table_id, complete, copy_owed FROM ${registry} WHERE consumer = ?`, [tenant],
    );
    return rows.map((r) => ({ ...entryOf(r), schema: String(r.schema_name), table: String(r.table_name) }));
  } catch (err) {
    if (isMissingObject(err)) return [];
    throw err;
  }
}

/** Puts keys back in the log, e.g. rows the target rejected, so every later run retries them. */
export async function requeueKeys(pool: Pool, ref: CaptureRef, key: string[], keys: unknown[][]): Promise<void> {
  if (keys.length === 0) return;
  await withLogSession(pool, (conn) => conn.query(
    `INSERT INTO ${qualified(CAPTURE_SCHEMA, ref.logTable)} (op, ${key.map(id).join(', ')}) VALUES ?`,
    [keys.map((k) => ['R', ...k])],
  ));
}

/**
 * A session of `pool` that writes change logs: in LOG_SQL_MODE, which takes every key a source can
 * hold ('0000-00-00' in a key, which a strict target refuses), so such a row fails its own table when
 * applied, not the log write of a whole run. The session goes back to the pool in its own mode.
 */
export async function withLogSession<T>(pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  let restored = false;
  try {
    const [[{ mode }]] = await conn.query<RowDataPacket[]>('SELECT @@SESSION.sql_mode AS mode');
    await conn.query('SET SESSION sql_mode = ?', [LOG_SQL_MODE]);
    try {
      return await fn(conn);
    } finally {
      // A failure here must not hide the write's own error: the session is dropped instead.
      restored = await conn.query('SET SESSION sql_mode = ?', [mode]).then(() => true, () => false);
    }
  } finally {
    if (restored) conn.release();
    else conn.destroy(); // other writers count on the pool's strict mode
  }
}
