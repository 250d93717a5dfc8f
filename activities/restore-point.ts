// Point-in-time restore for a data upgrade.
//
// Taking the point parks every original table in a side schema (RENAME: instant) and puts a copy
// in its place for the upgrade to work on. Restoring is one atomic RENAME TABLE that swaps the
// originals back, so it costs the same at 10 rows or 10 million and returns the very tables that
// were there: CHECKSUM TABLE equals what was recorded when the point was taken. Success drops
// the parked originals. The tenant's rows in the control schema are snapshotted beside them.
//
// Every step is safe to repeat: a retried creation never parks a copy (it only parks a table
// that has no parked original yet), and a retried restore finds nothing left to swap. The
// control tables it uses exist since the fence was acquired (ensureControlSchema). Foreign keys
// follow RENAME TABLE: everything is parked before any copy is built (see createRestorePoint).
import { createHash } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import { TRIGGER_DDL_LOCK, withNamedLock } from './capture';
import { fenceHolder } from './fence';
import { columnList, forEachLimited, id, inLanes, inTransaction, qualified } from './sql';
import { RESTORED_CONTROL_TABLES, targetDdl } from './target-schema';
import { copyColumns, readTables } from './introspect';
import { fingerprint, type Fingerprint } from './verify';

export interface RestorePointTable extends Fingerprint {
  name: string;
}

export class RestoreVerificationError extends Error {}

export interface RestorePoint {
  tenant: string;
  takenAt: string;
  schemas: { schema: string; parking: string; tables: RestorePointTable[] }[];
  controlParking: string;
}

const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 20);
export const parkingSchema = (tenant: string, schema: string): string => `cm_rp_${hash(`${tenant}/${schema}`)}`;
const trashSchema = (tenant: string, schema: string): string => `cm_trash_${hash(`${tenant}/${schema}`)}`;
export const controlParkingSchema = (tenant: string): string => `cm_rpc_${hash(tenant)}`;
const triggerRecords = qualified(CONTROL_SCHEMA, 'restore_point_trigger');
/** Tables in flight at once while a point is taken, verified or restored; see inSessions. */
const RESTORE_SESSIONS = 4;
/** Tables parked by one RENAME TABLE statement; see parkTables. */
const PARK_BATCH = 500;
const pointRecords = qualified(CONTROL_SCHEMA, 'restore_point_table');

// Copies are exact: zero dates that exist stay, and an AUTO_INCREMENT value of 0 stays 0.
const COPY_SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';

async function baseTables(pool: Pool | PoolConnection, schema: string): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [schema],
  );
  return rows.map((r) => String(r.t));
}

/**
 * Triggers cannot move between schemas with their table: remember them, drop them, recreate them.
 * One read of the triggers per schema, whatever the number of tables (most have none).
 */
async function parkTriggers(conn: PoolConnection, tenant: string, tables: { schema: string; table: string }[]): Promise<void> {
  for (const schema of new Set(tables.map((t) => t.schema))) {
    const names = tables.filter((t) => t.schema === schema).map((t) => t.table);
    const [triggers] = await conn.query<RowDataPacket[]>(
      'SELECT TRIGGER_NAME AS n, EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE IN (?) ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER',
      [schema, names],
    );
    for (const t of triggers) {
      const [def] = await conn.query<RowDataPacket[]>(`SHOW CREATE TRIGGER ${qualified(schema, String(t.n))}`);
      await conn.query(`INSERT IGNORE INTO ${triggerRecords} (tenant, schema_name, trigger_name, table_name, create_sql) VALUES (?, ?, ?, ?, ?)`, [
        tenant, schema, t.n, t.t, def[0]['SQL Original Statement'],
      ]);
      await conn.query(`DROP TRIGGER IF EXISTS ${qualified(schema, String(t.n))}`);
    }
  }
}

async function dropTriggersOf(conn: PoolConnection, schema: string, tables: string[]): Promise<void> {
  if (tables.length === 0) return;
  const [triggers] = await conn.query<RowDataPacket[]>(
    'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE IN (?)',
    [schema, tables],
  );
  for (const t of triggers) await conn.query(`DROP TRIGGER IF EXISTS ${qualified(schema, String(t.n))}`);
}

type TriggerRecord = { name: string; sql: string };

/** The recorded triggers of a schema's tables, by table. */
async function recordedTriggers(pool: Pool | PoolConnection, tenant: string, schema: string): Promise<Map<string, TriggerRecord[]>> {
  const [defs] = await pool.query<RowDataPacket[]>(
    `SELECT table_name AS t, trigger_name AS n, create_sql AS s FROM ${triggerRecords} WHERE tenant = ? AND schema_name = ?`,
    [tenant, schema],
  );
  const byTable = new Map<string, TriggerRecord[]>();
  for (const d of defs) byTable.set(String(d.t), [...(byTable.get(String(d.t)) ?? []), { name: String(d.n), sql: String(d.s) }]);
  return byTable;
}

async function recreateTriggers(conn: PoolConnection, schema: string, defs: TriggerRecord[]): Promise<void> {
  if (defs.length === 0) return;
  await conn.query(`USE ${id(schema)}`); // the recorded statements name their table unqualified
  for (const d of defs) {
    await conn.query(`DROP TRIGGER IF EXISTS ${qualified(schema, d.name)}`);
    await conn.query(d.sql);
  }
}

/**
 * Several sessions, each with `settings` (see withSession), working through `items` side by side.
 * The restore point's work is one table at a time (a copy, a checksum, metadata changes the server
 * makes one by one), so a 40,000-table tenant is only fast with several tables in flight. Tables
 * joined by a foreign key or a trigger can collide on the server's locks: such an item is done again
 * (`work` must be repeatable), alone, once the others are through.
 */
async function inSessions<T>(pool: Pool, settings: string, params: unknown[], items: T[], work: (conn: PoolConnection, item: T) => Promise<void>): Promise<void> {
  const collided: T[] = [];
  // A failure stops every session before this answers (inLanes): none goes on copying or dropping
  // while the upgrade, told of the failure, restores.
  await inLanes(items, Math.max(1, Math.min(RESTORE_SESSIONS, items.length)), (take) =>
    withSession(pool, settings, params, async (conn) => {
      for (let item = take(); item !== undefined; item = take()) {
        const { value } = item;
        await work(conn, value).catch((err: unknown) => (isLockConflict(err) ? void collided.push(value) : Promise.reject(err)));
      }
    }),
  );
  if (collided.length > 0) await withSession(pool, settings, params, async (conn) => { for (const item of collided) await work(conn, item); });
}

const isLockConflict = (err: unknown): boolean => ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'].includes((err as { code?: string }).code ?? '');

/**
 * Parks the originals by RENAME TABLE, a few hundred to a statement and several statements at once:
 * the server renames one table at a time with a log write each, so one statement for 40,000 tables
 * took 8 minutes. Each statement is atomic and a retry parks only what is still in place, so a
 * crash between them loses nothing. A statement that collides with another one's locks (tables
 * joined by foreign keys) is done again alone once the others are through (see inSessions).
 */
async function parkTables(pool: Pool, tables: { schema: string; parking: string; table: string }[], beat: () => void): Promise<void> {
  const statements: string[] = [];
  for (let i = 0; i < tables.length; i += PARK_BATCH) {
    statements.push(`RENAME TABLE ${tables.slice(i, i + PARK_BATCH).map((t) => `${qualified(t.schema, t.table)} TO ${qualified(t.parking, t.table)}`).join(', ')}`);
  }
  // Without foreign key checks, as every other RENAME here: a dangling reference must not stop the parking.
  await inSessions(pool, 'foreign_key_checks = 0', [], statements, async (conn, sql) => {
    await conn.query(sql);
    beat();
  });
}

/**
 * The working copy's CREATE TABLE, from its parked original's definition. SHOW CREATE TABLE prints a
 * reference within the parking schema unqualified (the copy's own schema resolves it: the working
 * table, or the table itself for a self-reference), and one into another schema qualified: a parking
 * schema of this restore point is put back to its working schema, any other schema stays.
 */
export function workingCopyDdl(showCreate: string, schema: string, table: string, workingOf: ReadonlyMap<string, string>): string {
  const name = '`(?:[^`]|``)+`';
  const reference = new RegExp(`^(\\s*CONSTRAINT ${name} FOREIGN KEY \\((?:${name}(?:,\\s*)?)+\\) REFERENCES )\`((?:[^\`]|\`\`)+)\`\\.`, 'gm');
  const ddl = targetDdl(showCreate, schema, table).replace(reference, (whole, head: string, referenced: string) => {
    const working = workingOf.get(referenced.replace(/``/g, '`'));
    return working === undefined ? whole : `${head}${id(working)}.`;
  });
  // The copy's next AUTO_INCREMENT value is the original's (rows deleted at the end leave a gap the
  // copy must keep): set in the CREATE itself, not by an ALTER afterwards (one more DDL per table).
  const cut = showCreate.lastIndexOf('\n)');
  const quote = cut < 0 ? -1 : showCreate.indexOf("'", cut); // options before any quoted text (a COMMENT)
  const auto = cut < 0 ? null : /\sAUTO_INCREMENT=(\d+)/.exec(showCreate.slice(cut, quote >= 0 ? quote : undefined));
  const at = ddl.lastIndexOf('\n)');
  return auto && at >= 0 ? `${ddl.slice(0, at)}\n) AUTO_INCREMENT=${auto[1]}${ddl.slice(at + 2)}` : ddl;
}

/** A session of its own with the given settings, put back as it was before it returns to the pool. */
async function withSession<T>(pool: Pool, settings: string, params: unknown[], run: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  let clean = false;
  try {
    const [prior] = await conn.query<RowDataPacket[]>('SELECT @@SESSION.foreign_key_checks AS f, @@SESSION.sql_mode AS m');
    await conn.query(`SET SESSION ${settings}`, params);
    try {
      return await run(conn);
    } finally {
      // Pooled sessions are shared: nobody else may inherit unchecked foreign keys or this sql_mode.
      await conn.query('SET SESSION foreign_key_checks = ?, sql_mode = ?', [Number(prior[0].f), String(prior[0].m)]).then(() => (clean = true), () => undefined);
    }
  } finally {
    if (clean) conn.release();
    else conn.destroy();
  }
}

/**
 * Trigger DDL, one statement at a time on the whole server (the named lock capture.ts takes for its
 * triggers too): MariaDB 10.11 leaves stray .TRG- files when trigger DDL runs beside other DDL. On a
 * session of its own, closed after: recreating triggers leaves it in the schema (USE), where a
 * restore's sweep of the schema's sessions would find it.
 */
async function withTriggerSession<T>(pool: Pool, run: (conn: PoolConnection) => Promise<T>): Promise<T> {
  return withNamedLock(pool, TRIGGER_DDL_LOCK, undefined, async () => {
    const conn = await pool.getConnection();
    try {
      await conn.query('SET SESSION foreign_key_checks = 0');
      return await run(conn);
    } finally {
      conn.destroy();
    }
  });
}

/**
 * Parks every original table of every schema in one RENAME TABLE, then builds the working copies.
 * Foreign keys follow a renamed table; parking everything before building anything means that no
 * copy is ever built while a table it references is still to be parked (it would end up referencing
 * the parked original), whatever the table order and across the tenant's schemas: the parked
 * originals reference each other, the copies the working tables. Limit: a foreign key from a schema
 * that is not one of `schemas` into them follows the parked original (see README).
 */
export async function createRestorePoint(
  pool: Pool,
  input: { tenant: string; schemas: string[] },
  beat: (table: string) => void,
): Promise<RestorePoint> {
  const point: RestorePoint = { tenant: input.tenant, takenAt: new Date().toISOString(), schemas: [], controlParking: controlParkingSchema(input.tenant) };
  const workingOf = new Map(input.schemas.map((schema) => [parkingSchema(input.tenant, schema), schema]));
  const plan: { schema: string; parking: string; tables: string[] }[] = [];
  const toPark: { schema: string; parking: string; table: string }[] = [];
  for (const schema of input.schemas) {
    const parking = parkingSchema(input.tenant, schema);
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${id(parking)}`);
    // A retry never parks a copy: only a table that has no parked original yet is an original.
    const parked = new Set(await baseTables(pool, parking));
    const current = await baseTables(pool, schema);
    for (const table of current) if (!parked.has(table)) toPark.push({ schema, parking, table });
    plan.push({ schema, parking, tables: [...new Set([...current, ...parked])].sort() });
  }
  beat('parking');
  await withTriggerSession(pool, async (conn) => {
    await parkTriggers(conn, input.tenant, toPark);
    // The copies of an earlier attempt are dropped side by side below: their triggers go first, here,
    // since trigger DDL never runs beside other DDL (stray .TRG- files, see capture.ts).
    for (const { schema, parking } of plan) await dropTriggersOf(conn, schema, await baseTables(conn, parking));
  });
  await parkTables(pool, toPark, () => beat('parking'));

  for (const { schema, parking, tables } of plan) {
    const metas = await readTables(pool, [parking]);
    const triggers = await recordedTriggers(pool, input.tenant, schema);
    const taken: RestorePointTable[] = [];
    await inSessions(pool, 'foreign_key_checks = 0, sql_mode = ?', [COPY_SQL_MODE], tables, async (conn, table) => {
      beat(`${schema}.${table}`); // stops here if the upgrade is gone: a restore may already have put the original back
      // Whatever stands in the schema now is a copy from an earlier attempt at most: rebuild it.
      await conn.query(`DROP TABLE IF EXISTS ${qualified(schema, table)}`);
      const [ddl] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${qualified(parking, table)}`);
      await conn.query(workingCopyDdl(String(ddl[0]['Create Table']), schema, table, workingOf));
      const cols = columnList(copyColumns(metas.get(`${parking}.${table}`)!).map((c) => c.name));
      await conn.query(`INSERT INTO ${qualified(schema, table)} (${cols}) SELECT ${cols} FROM ${qualified(parking, table)}`);
      beat(`${schema}.${table}`);
    });
    // Read once no session is held (a read takes a pool connection of its own).
    await forEachLimited(tables, RESTORE_SESSIONS, async (table) => {
      taken.push({ name: table, ...(await fingerprint(pool, parking, table)) });
    });
    const inPoint = new Set(tables);
    await withTriggerSession(pool, async (conn) => {
      for (const [table, defs] of triggers) if (inPoint.has(table)) await recreateTriggers(conn, schema, defs);
    });
    point.schemas.push({ schema, parking, tables: taken.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) });
  }

  // The tenant's control rows (environment, job queue, schema history, hotfix log), in one
  // transaction: a snapshot cut short would delete those rows when restored.
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${id(point.controlParking)}`);
  for (const table of RESTORED_CONTROL_TABLES) {
    await pool.query(`CREATE TABLE IF NOT EXISTS ${qualified(point.controlParking, table)} LIKE ${qualified(CONTROL_SCHEMA, table)}`);
  }
  await inTransaction(pool, async (conn) => {
    for (const table of RESTORED_CONTROL_TABLES) {
      await conn.query(`DELETE FROM ${qualified(point.controlParking, table)}`);
      await conn.query(`INSERT INTO ${qualified(point.controlParking, table)} SELECT * FROM ${qualified(CONTROL_SCHEMA, table)} WHERE tenant = ?`, [input.tenant]);
    }
  });
  // Last: a recorded point is a complete one.
  await recordPoint(pool, point);
  return point;
}

/**
 * The point's fingerprints, kept where any worker finds them. Written in one transaction once every
 * schema is parked and copied, with a row named '' per schema: a point is recorded whole or not at
 * all, so a restore never takes a half-taken point for a complete one (and discards unparked tables).
 */
async function recordPoint(on: Pool | PoolConnection, point: RestorePoint): Promise<void> {
  await inTransaction(on, async (conn) => {
    await conn.query(`DELETE FROM ${pointRecords} WHERE tenant = ?`, [point.tenant]);
    const rows = point.schemas.flatMap((s) => [[point.tenant, s.schema, '', null, null], ...s.tables.map((t) => [point.tenant, s.schema, t.name, t.checksum, t.digest])]);
    if (rows.length > 0) await conn.query(`INSERT INTO ${pointRecords} (tenant, schema_name, table_name, checksum, digest) VALUES ?`, [rows]);
  });
}

/** The recorded point of `schemas`, or undefined when none was completed (or it was dropped). */
export async function recordedPoint(pool: Pool, tenant: string, schemas: string[]): Promise<RestorePoint | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT schema_name AS s, table_name AS t, checksum, digest FROM ${pointRecords} WHERE tenant = ? ORDER BY schema_name, table_name`,
    [tenant],
  );
  if (rows.length === 0) return undefined;
  const point: RestorePoint = { tenant, takenAt: '', schemas: [], controlParking: controlParkingSchema(tenant) };
  for (const schema of schemas) {
    if (!rows.some((r) => r.s === schema && r.t === '')) return undefined; // not this point's schemas
    const tables = rows.filter((r) => r.s === schema && r.t !== '').map((r) => ({ name: String(r.t), checksum: r.checksum === null ? null : String(r.checksum), digest: r.digest === null ? null : String(r.digest) }));
    point.schemas.push({ schema, parking: parkingSchema(tenant, schema), tables });
  }
  return point;
}

/**
 * What differs from the restore point, read only: the parked originals where they are still
 * parked, the tables in place where the swap already happened.
 */
export async function pointDifferences(pool: Pool, point: RestorePoint): Promise<string[]> {
  const wrong: string[] = [];
  for (const s of point.schemas) {
    const parked = new Set(await baseTables(pool, s.parking));
    await forEachLimited(s.tables, RESTORE_SESSIONS, async (t) => {
      const where = parked.has(t.name) ? s.parking : s.schema;
      const now = await fingerprint(pool, where, t.name).catch(() => ({ checksum: 'missing', digest: 'missing' }));
      if (now.digest !== t.digest || now.checksum !== t.checksum) wrong.push(`${s.schema}.${t.name}${parked.has(t.name) ? ' (parked original)' : ''}`);
    });
  }
  return wrong.sort();
}

export interface RestoreOutcome {
  /** Nothing restored: the upgrade had already released its fence (completed); its leftover point was dropped. */
  fenceReleased?: boolean;
  swapped: number;
  discarded: number;
  killedSessions: number;
  verified: number;
  /** Time of the swap itself (flat in the data size) and of the verification (a read of every row). */
  swapMs: number;
  verifyMs: number;
}

/**
 * Puts the originals back. `complete` says the point was fully taken: then every table now in a
 * schema is an upgrade's copy or creation and is discarded; otherwise only tables with a parked
 * original are swapped (the others were never touched).
 */
export async function restoreToPoint(
  pool: Pool,
  input: { tenant: string; schemas: string[]; point?: RestorePoint; holder?: string },
  beat: () => void,
): Promise<RestoreOutcome> {
  const outcome: RestoreOutcome = { swapped: 0, discarded: 0, killedSessions: 0, verified: 0, swapMs: 0, verifyMs: 0 };
  if (input.holder !== undefined) {
    const current = await fenceHolder(pool, input.tenant);
    // The fence is down: the upgrade completed and released it (it was stopped only while dropping its
    // point). Applications have written since; restoring would throw their work and the upgrade away.
    if (current === undefined) {
      await dropRestorePoint(pool, input);
      outcome.fenceReleased = true;
      return outcome;
    }
    // Another upgrade holds the fence: this one never raised it, so it parked nothing, and the parked
    // tables are the holder's restore point. Nothing to do here.
    if (current !== input.holder) return outcome;
  }
  // Without the point in hand (an upgrade lost before it returned it, or an operator's retry), the
  // recorded one: it exists only once the point was completely taken.
  const point = input.point ?? (await recordedPoint(pool, input.tenant, input.schemas));
  // Verified before the swap, where nothing but the fence's holder can reach: the originals are what
  // was recorded. The swap is one atomic RENAME, so no write can land between verifying and putting
  // them back. A table differs: nothing is swapped, the fence stays, and the operator decides.
  const verifyStarted = Date.now();
  if (point) {
    const wrong = await pointDifferences(pool, point);
    if (wrong.length > 0) {
      throw new RestoreVerificationError(`restore verification failed: ${wrong.slice(0, 20).join(', ')}${wrong.length > 20 ? ` and ${wrong.length - 20} more` : ''} differ from the restore point; nothing was swapped back`);
    }
    outcome.verified = point.schemas.reduce((n, s) => n + s.tables.length, 0);
  }
  outcome.verifyMs = Date.now() - verifyStarted;
  await withSession(pool, 'foreign_key_checks = 0', [], async (conn) => {
    // A step that was running when its worker died may still hold the tables: stop it first. With
    // nothing parked there is nothing to restore (an upgrade stopped before its point): nobody is killed.
    let parkedAny = false;
    for (const schema of input.schemas) parkedAny ||= (await baseTables(conn, parkingSchema(input.tenant, schema))).length > 0;
    const [leftovers] = parkedAny
      ? await conn.query<RowDataPacket[]>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB IN (?) AND ID <> CONNECTION_ID()', [input.schemas])
      : [[] as RowDataPacket[]];
    for (const l of leftovers) {
      await conn.query('KILL CONNECTION ?', [Number(l.id)]).catch(() => undefined);
      outcome.killedSessions++;
    }
  });
  // What is discarded: with a complete point every table now in a schema is an upgrade's copy or
  // creation; otherwise only tables with a parked original are swapped (the others were never touched).
  const discarded = async (conn: PoolConnection, schema: string, parked: string[]): Promise<string[]> => {
    const current = await baseTables(conn, schema);
    const isParked = new Set(parked);
    return point ? current : current.filter((t) => isParked.has(t));
  };
  // Triggers cannot move with their tables, and trigger DDL never runs beside other DDL (stray .TRG-
  // files, see capture.ts): the discarded tables' triggers are dropped before the swaps, from one session.
  await withTriggerSession(pool, async (conn) => {
    for (const schema of input.schemas) {
      const parked = await baseTables(conn, parkingSchema(input.tenant, schema));
      if (parked.length > 0) await dropTriggersOf(conn, schema, await discarded(conn, schema, parked));
    }
  });
  // Schema by schema, several at once: each schema's swap is one atomic RENAME of its own. A swap that
  // collides with another's locks (foreign keys across schemas) is done again alone after the others.
  const swapBack = (schema: string): Promise<void> =>
    withSession(pool, 'foreign_key_checks = 0', [], async (conn) => {
      const parking = parkingSchema(input.tenant, schema);
      const trash = trashSchema(input.tenant, schema);
      const parked = await baseTables(conn, parking);
      if (parked.length > 0) {
        const discard = await discarded(conn, schema, parked);
        await conn.query(`DROP SCHEMA IF EXISTS ${id(trash)}`);
        await conn.query(`CREATE SCHEMA ${id(trash)}`);
        const renames = [
          ...discard.map((t) => `${qualified(schema, t)} TO ${qualified(trash, t)}`),
          ...parked.map((t) => `${qualified(parking, t)} TO ${qualified(schema, t)}`),
        ];
        const swapStarted = Date.now();
        await conn.query(`RENAME TABLE ${renames.join(', ')}`); // one atomic swap
        outcome.swapMs += Date.now() - swapStarted;
        outcome.swapped += parked.length;
        outcome.discarded += discard.length;
        beat();
      }
      await conn.query(`DROP SCHEMA IF EXISTS ${id(trash)}`);
      await conn.query(`DROP SCHEMA IF EXISTS ${id(parking)}`);
    });
  const collided: string[] = [];
  await forEachLimited(input.schemas, RESTORE_SESSIONS, (schema) => swapBack(schema).catch((err: unknown) => (isLockConflict(err) ? void collided.push(schema) : Promise.reject(err))));
  for (const schema of collided) await swapBack(schema);
  // The originals' triggers, back on them, from one session once no other DDL runs. Recreating is
  // idempotent (drop if exists, create), so a retry after a crash here puts them all back.
  await withTriggerSession(pool, async (conn) => {
    for (const schema of input.schemas) for (const defs of (await recordedTriggers(conn, input.tenant, schema)).values()) await recreateTriggers(conn, schema, defs);
  });

  await withSession(pool, 'foreign_key_checks = 0', [], async (conn) => {
    const control = controlParkingSchema(input.tenant);
    const [exists] = await conn.query<RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [control]);
    if (exists.length > 0) {
      await conn.query('START TRANSACTION');
      for (const table of RESTORED_CONTROL_TABLES) {
        await conn.query(`DELETE FROM ${qualified(CONTROL_SCHEMA, table)} WHERE tenant = ?`, [input.tenant]);
        await conn.query(`INSERT INTO ${qualified(CONTROL_SCHEMA, table)} SELECT * FROM ${qualified(control, table)}`);
      }
      await conn.query('COMMIT');
      await conn.query(`DROP SCHEMA IF EXISTS ${id(control)}`);
    }
    await conn.query(`DELETE FROM ${triggerRecords} WHERE tenant = ?`, [input.tenant]);
    await conn.query(`DELETE FROM ${pointRecords} WHERE tenant = ?`, [input.tenant]);
  });
  return outcome;
}

/**
 * An operator released the fence of an upgrade whose restore could not be verified, keeping the
 * target as it is: the parked originals are not dropped (nobody has decided they are worthless) but
 * moved to `cm_kept_…` schemas, named in the answer, so a later restore point starts clean.
 */
export async function setAsideRestorePoint(pool: Pool, input: { tenant: string; schemas: string[]; holder: string }): Promise<string[]> {
  const kept: string[] = [];
  await withSession(pool, 'foreign_key_checks = 0', [], async (conn) => {
    for (const schema of input.schemas) {
      const parking = parkingSchema(input.tenant, schema);
      const parked = await baseTables(conn, parking);
      if (parked.length > 0) {
        const keep = `cm_kept_${hash(`${input.tenant}/${schema}/${input.holder}`)}`;
        await conn.query(`CREATE SCHEMA IF NOT EXISTS ${id(keep)}`);
        await conn.query(`RENAME TABLE ${parked.map((t) => `${qualified(parking, t)} TO ${qualified(keep, t)}`).join(', ')}`);
        kept.push(`${keep} (${parked.length} original tables of ${schema})`);
      }
      await conn.query(`DROP SCHEMA IF EXISTS ${id(parking)}`);
    }
  });
  await pool.query(`DROP SCHEMA IF EXISTS ${id(controlParkingSchema(input.tenant))}`);
  await pool.query(`DELETE FROM ${triggerRecords} WHERE tenant = ?`, [input.tenant]);
  await pool.query(`DELETE FROM ${pointRecords} WHERE tenant = ?`, [input.tenant]);
  return kept;
}

/**
 * After a successful upgrade: the parked originals are no longer needed. They reference only each
 * other (the working copies reference the working tables), possibly across the tenant's schemas, so
 * they are dropped without checking foreign keys: no drop order is needed.
 */
export async function dropRestorePoint(pool: Pool, input: { tenant: string; schemas: string[] }): Promise<void> {
  await forEachLimited(input.schemas, RESTORE_SESSIONS, (schema) =>
    withSession(pool, 'foreign_key_checks = 0', [], async (conn) => {
      await conn.query(`DROP SCHEMA IF EXISTS ${id(parkingSchema(input.tenant, schema))}`);
    }),
  );
  await pool.query(`DROP SCHEMA IF EXISTS ${id(controlParkingSchema(input.tenant))}`);
  await pool.query(`DELETE FROM ${triggerRecords} WHERE tenant = ?`, [input.tenant]);
  await pool.query(`DELETE FROM ${pointRecords} WHERE tenant = ?`, [input.tenant]);
}
