// Change capture on the source: AFTER triggers append the primary key of every changed row to a
// per-table log in the `cm_capture` schema.
//
// Why a log of keys and no high-water mark: a sequence value is assigned at insert time but becomes
// visible at commit time, so "everything above the last seq I saw" skips a slow transaction's
// smaller seq forever. Here nothing is ever skipped: a run applies every log row it can see and
// deletes exactly those rows (by seq). A row committed later stays in the log for the next run.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { CAPTURE_SCHEMA } from '../lib/constants';
import type { TableMeta } from './introspect';
import { id, isMissingObject, plainName, qualified } from './sql';

export interface CaptureRef {
  id: number;
  logTable: string;
}

const registry = qualified(CAPTURE_SCHEMA, 'capture_table');
const logTableName = (id: number): string => `log_${id}`;
const triggerName = (id: number, kind: 'ai' | 'au' | 'ad'): string => `cm_capture_${id}_${kind}`;

export async function ensureCaptureSchema(pool: Pool): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${id(CAPTURE_SCHEMA)} DEFAULT CHARACTER SET utf8mb4`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${registry} (
       id INT AUTO_INCREMENT PRIMARY KEY,
       schema_name VARCHAR(64) NOT NULL,
       table_name VARCHAR(64) NOT NULL,
       created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
       UNIQUE KEY uq_table (schema_name, table_name)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  );
}

export async function findCapture(pool: Pool, schema: string, table: string): Promise<CaptureRef | undefined> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT id FROM ${registry} WHERE schema_name = ? AND table_name = ?`, [schema, table]);
    if (rows.length === 0) return undefined;
    const id = Number(rows[0].id);
    return { id, logTable: logTableName(id) };
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    throw err;
  }
}

// The table name matters for speed: with it, MariaDB reads one table's triggers; without it, every
// table's in the schema, which made installing capture quadratic in the number of tables.
async function existingTriggers(pool: Pool, schema: string, table: string): Promise<Set<string>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?',
    [schema, table],
  );
  return new Set(rows.map((r) => String(r.n)));
}

async function createTriggerOnce(pool: Pool, existing: Set<string>, name: string, sql: string): Promise<void> {
  if (existing.has(name)) return;
  try {
    await pool.query(sql);
  } catch (err) {
    if ((err as { errno?: number }).errno !== 1359) throw err; // created meanwhile: fine
  }
}

/** Installs capture for one table; safe to run any number of times. */
export async function installCapture(
  pool: Pool, meta: TableMeta, keyColumns: { name: string; columnType: string; collation?: string }[], opts: { schemaReady?: boolean } = {},
): Promise<CaptureRef> {
  if (!opts.schemaReady) await ensureCaptureSchema(pool);
  await pool.query(`INSERT IGNORE INTO ${registry} (schema_name, table_name) VALUES (?, ?)`, [meta.schema, meta.name]);
  const ref = await findCapture(pool, meta.schema, meta.name);
  if (!ref) throw new Error(`capture registry has no row for ${meta.schema}.${meta.name}`);

  const log = qualified(CAPTURE_SCHEMA, ref.logTable);
  const keyDefs = keyColumns
    .map((c) => `${id(c.name)} ${c.columnType}${c.collation ? ` COLLATE ${plainName(c.collation)}` : ''} NULL`)
    .join(', ');
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${log} (
       seq BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       op CHAR(1) NOT NULL,
       ${keyDefs},
       changed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  );

  const cols = keyColumns.map((c) => id(c.name)).join(', ');
  const values = (prefix: 'NEW' | 'OLD'): string => keyColumns.map((c) => `${prefix}.${id(c.name)}`).join(', ');
  const source = qualified(meta.schema, meta.name);
  const keyChanged = keyColumns.map((c) => `NOT (OLD.${id(c.name)} <=> NEW.${id(c.name)})`).join(' OR ');
  const existing = await existingTriggers(pool, meta.schema, meta.name);

  await createTriggerOnce(pool, existing, triggerName(ref.id, 'ai'),
    `CREATE TRIGGER ${qualified(meta.schema, triggerName(ref.id, 'ai'))} AFTER INSERT ON ${source} FOR EACH ROW
       INSERT INTO ${log} (op, ${cols}) VALUES ('I', ${values('NEW')})`);
  await createTriggerOnce(pool, existing, triggerName(ref.id, 'au'),
    `CREATE TRIGGER ${qualified(meta.schema, triggerName(ref.id, 'au'))} AFTER UPDATE ON ${source} FOR EACH ROW
     BEGIN
       IF ${keyChanged} THEN INSERT INTO ${log} (op, ${cols}) VALUES ('D', ${values('OLD')}); END IF;
       INSERT INTO ${log} (op, ${cols}) VALUES ('U', ${values('NEW')});
     END`);
  await createTriggerOnce(pool, existing, triggerName(ref.id, 'ad'),
    `CREATE TRIGGER ${qualified(meta.schema, triggerName(ref.id, 'ad'))} AFTER DELETE ON ${source} FOR EACH ROW
       INSERT INTO ${log} (op, ${cols}) VALUES ('D', ${values('OLD')})`);
  return ref;
}

/** Removes capture for one table (triggers first, so no write fails on a missing log). */
export async function removeCapture(pool: Pool, schema: string, table: string): Promise<boolean> {
  const ref = await findCapture(pool, schema, table);
  if (!ref) return false;
  for (const kind of ['ai', 'au', 'ad'] as const) {
    await pool.query(`DROP TRIGGER IF EXISTS ${qualified(schema, triggerName(ref.id, kind))}`);
  }
  await pool.query(`DROP TABLE IF EXISTS ${qualified(CAPTURE_SCHEMA, ref.logTable)}`);
  await pool.query(`DELETE FROM ${registry} WHERE id = ?`, [ref.id]);
  return true;
}

/** Puts keys back in the log, e.g. rows the target rejected, so every later run retries them. */
export async function requeueKeys(pool: Pool, ref: CaptureRef, key: string[], keys: unknown[][]): Promise<void> {
  if (keys.length === 0) return;
  await pool.query(
    `INSERT INTO ${qualified(CAPTURE_SCHEMA, ref.logTable)} (op, ${key.map(id).join(', ')}) VALUES ?`,
    [keys.map((k) => ['R', ...k])],
  );
}
