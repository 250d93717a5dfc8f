// The tenant's per-table state on the target (cm_control.table_state), written by the activities that
// produce it: the assessment's plan, each run's results, the schema changes it followed, each
// verification, a reset. One row per table, so it grows as far as the tenant does; the management
// workflow is to keep only counts and the problem tables (issue 12). The rules are the page's own
// (lib/table-rules.ts), applied row by row, so both say the same of every table.
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { FindingRow, PageRequest, SchemaFollowResult, TableFilter, TablePage, TablePlan, TableRunResult, TableState, TableSummary, TableVerification, TableWork } from '../lib/types';
import { matchesPattern } from '../lib/company-tables';
import { checklistOf, checklistPageOf, summarize, tablePageOf, toWork, type ChecklistPage } from '../lib/table-pages';
import { CONTROL_SCHEMA } from '../lib/constants';
import { applySchemaChanges, assessedTable, ranTable, resetTable, snapshotResetTable, verifiedTable } from '../lib/table-rules';
import { inTransaction, qualified } from './sql';

const TABLE = qualified(CONTROL_SCHEMA, 'table_state');
/** Rows per statement: a few hundred kilobytes, far below max_allowed_packet. */
const BATCH = 500;

export const TABLE_STATE_COLUMNS = `tenant VARCHAR(64) NOT NULL,
     table_id BINARY(20) NOT NULL,
     table_key TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
     company VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
     status VARCHAR(20) NOT NULL,
     last_run INT NOT NULL DEFAULT 0,
     body LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
     PRIMARY KEY (tenant, table_id),
     KEY by_company (tenant, company, status)`;

type Db = Pool | PoolConnection;

/** The rows of `keys` (all of the tenant's when absent), locked for update inside a transaction. */
export async function readTableStates(db: Db, tenant: string, keys?: string[], forUpdate = false): Promise<Map<string, TableState>> {
  const out = new Map<string, TableState>();
  const lock = forUpdate ? ' FOR UPDATE' : '';
  if (!keys) {
    const [rows] = await db.query<RowDataPacket[]>(`SELECT body FROM ${TABLE} WHERE tenant = ?${lock}`, [tenant]);
    for (const r of rows) {
      const t = JSON.parse(String(r.body)) as TableState;
      out.set(t.key, t);
    }
    return out;
  }
  for (let i = 0; i < keys.length; i += BATCH) {
    const part = keys.slice(i, i + BATCH);
    const [rows] = await db.query<RowDataPacket[]>(
      `SELECT body FROM ${TABLE} WHERE tenant = ? AND table_id IN (${part.map(() => 'UNHEX(SHA1(?))').join(', ')})${lock}`,
      [tenant, ...part],
    );
    for (const r of rows) {
      const t = JSON.parse(String(r.body)) as TableState;
      out.set(t.key, t);
    }
  }
  return out;
}

async function writeTableStates(db: Db, tenant: string, states: TableState[]): Promise<void> {
  for (let i = 0; i < states.length; i += BATCH) {
    const part = states.slice(i, i + BATCH);
    await db.query(
      `INSERT INTO ${TABLE} (tenant, table_id, table_key, company, status, last_run, body) VALUES
       ${part.map(() => '(?, UNHEX(SHA1(?)), ?, ?, ?, ?, ?)').join(', ')}
       ON DUPLICATE KEY UPDATE table_key = VALUES(table_key), company = VALUES(company), status = VALUES(status), last_run = VALUES(last_run), body = VALUES(body)`,
      part.flatMap((t) => [tenant, t.key, t.key, t.sourceSchema, t.status, t.lastRun ?? 0, JSON.stringify(t)]),
    );
  }
}

async function deleteTableStates(db: Db, tenant: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += BATCH) {
    const part = keys.slice(i, i + BATCH);
    await db.query(`DELETE FROM ${TABLE} WHERE tenant = ? AND table_id IN (${part.map(() => 'UNHEX(SHA1(?))').join(', ')})`, [tenant, ...part]);
  }
}

/** Reads, changes and writes back some rows in one transaction: every change is a rule applied to a row. */
async function changeTables(pool: Pool, tenant: string, keys: string[] | undefined, change: (tables: Map<string, TableState>) => TableState[]): Promise<number> {
  return inTransaction(pool, async (conn) => {
    const changed = change(await readTableStates(conn, tenant, keys, true));
    await writeTableStates(conn, tenant, changed);
    return changed.length;
  });
}

const PLAN = qualified(CONTROL_SCHEMA, 'table_plan');

export const TABLE_PLAN_COLUMNS = `tenant VARCHAR(64) NOT NULL,
     table_id BINARY(20) NOT NULL,
     body LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
     PRIMARY KEY (tenant, table_id)`;

/** Setup's plan, staged until setup has done everything else: a setup that fails leaves the rows as they were. */
export async function stagePlan(pool: Pool, tenant: string, plans: TablePlan[]): Promise<void> {
  await inTransaction(pool, async (conn) => {
    await conn.query(`DELETE FROM ${PLAN} WHERE tenant = ?`, [tenant]);
    for (let i = 0; i < plans.length; i += BATCH) {
      const part = plans.slice(i, i + BATCH);
      await conn.query(`INSERT INTO ${PLAN} (tenant, table_id, body) VALUES ${part.map(() => '(?, UNHEX(SHA1(?)), ?)').join(', ')}`, part.flatMap((p) => [tenant, p.key, JSON.stringify(p)]));
    }
  });
}

/** The staged plan (the rows of a setup in progress). */
export async function readStagedPlan(db: Db, tenant: string): Promise<TablePlan[]> {
  const [rows] = await db.query<RowDataPacket[]>(`SELECT body FROM ${PLAN} WHERE tenant = ?`, [tenant]);
  return rows.map((r) => JSON.parse(String(r.body)) as TablePlan);
}

/** Tables the target could not create: not migrated, with the target's reason, in the staged plan. */
export async function stageNotMigrated(pool: Pool, tenant: string, failed: { key: string; error: string }[]): Promise<void> {
  for (const f of failed) {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT body FROM ${PLAN} WHERE tenant = ? AND table_id = UNHEX(SHA1(?))`, [tenant, f.key]);
    if (!rows[0]) continue;
    const plan = { ...(JSON.parse(String(rows[0].body)) as TablePlan), notMigratedReason: `the target cannot create this table: ${f.error}` };
    await pool.query(`UPDATE ${PLAN} SET body = ? WHERE tenant = ? AND table_id = UNHEX(SHA1(?))`, [JSON.stringify(plan), tenant, f.key]);
  }
}

/**
 * The staged plan taken into the rows: each planned table keeps what earlier runs recorded of it (a
 * table remapped starts over), tables no longer planned go. `fresh`: a tenant set up for the first
 * time starts from nothing, whatever an earlier tenant of the same name left. Nothing staged (a retry
 * after it was applied): nothing changes.
 */
export async function applyStagedPlan(pool: Pool, tenant: string, fresh: boolean, more: FindingRow[] = []): Promise<void> {
  await inTransaction(pool, async (conn) => {
    const [staged] = await conn.query<RowDataPacket[]>(`SELECT body FROM ${PLAN} WHERE tenant = ? FOR UPDATE`, [tenant]);
    if (staged.length === 0) return;
    const plans = staged.map((r) => JSON.parse(String(r.body)) as TablePlan);
    const known = fresh ? new Map<string, TableState>() : await readTableStates(conn, tenant, undefined, true);
    if (fresh) await conn.query(`DELETE FROM ${TABLE} WHERE tenant = ?`, [tenant]);
    const planned = new Set(plans.map((p) => p.key));
    await deleteTableStates(conn, tenant, [...known.keys()].filter((k) => !planned.has(k)));
    await writeTableStates(conn, tenant, plans.map((p) => assessedTable(known.get(p.key), p)));
    await conn.query(`DELETE FROM ${PLAN} WHERE tenant = ?`, [tenant]);
    await conn.query(`DELETE FROM ${FINDING} WHERE tenant = ? AND staged = 0`, [tenant]);
    await conn.query(`UPDATE ${FINDING} SET staged = 0 WHERE tenant = ? AND staged = 1`, [tenant]);
    // Findings of the steps after the assessment (the capture chosen, tables the target refused).
    const [last] = await conn.query<RowDataPacket[]>(`SELECT COALESCE(MAX(seq), -1) AS n FROM ${FINDING} WHERE tenant = ? AND staged = 0`, [tenant]);
    for (const [k, f] of more.entries()) {
      await conn.query(`INSERT INTO ${FINDING} (tenant, staged, seq, body) VALUES (?, 0, ?, ?)`, [tenant, Number(last[0].n) + 1 + k, JSON.stringify(f)]);
    }
  });
}

/** The schema changes run `run` followed: tables dropped, renamed, added, replanned, rebuilt. */
export async function storeSchemaChanges(pool: Pool, tenant: string, run: number, schema: SchemaFollowResult): Promise<void> {
  const renamedTo = (schema.renamed ?? []).map((r) => r.plan.key);
  const keys = [
    ...schema.dropped, ...(schema.renamed ?? []).map((r) => r.from), ...renamedTo, ...schema.added.map((p) => p.key),
    ...schema.replanned.map((p) => p.key), ...(schema.rebuilt ?? []), ...schema.changes.map((c) => c.key),
  ];
  await inTransaction(pool, async (conn) => {
    const page = { tables: Object.fromEntries(await readTableStates(conn, tenant, [...new Set(keys)], true)) };
    const before = new Set(Object.keys(page.tables));
    applySchemaChanges(page, run, schema);
    await deleteTableStates(conn, tenant, [...before].filter((k) => !page.tables[k]));
    await writeTableStates(conn, tenant, Object.values(page.tables));
  });
}

/**
 * A run's results, folded once: a retried activity's second answer for the same run is not counted
 * again. `failed`: the run's own verdict on tables whose activity gave up, which stands over an
 * answer an earlier attempt recorded.
 */
export async function storeRunResults(pool: Pool, tenant: string, run: number, results: TableRunResult[], failed = false): Promise<void> {
  if (results.length === 0) return;
  await changeTables(pool, tenant, results.map((r) => r.key), (tables) =>
    results.flatMap((r) => {
      const t = tables.get(r.key);
      return t && (failed || (t.lastRun ?? 0) < run) ? [ranTable(t, r, run)] : [];
    }));
}

/** `cm resync`: who asked, and why, on each table's row until a run has rebuilt it. */
export async function storeResync(pool: Pool, tenant: string, keys: string[], requestedBy: string): Promise<void> {
  await changeTables(pool, tenant, keys, (tables) => [...tables.values()].map((t) => ({ ...t, resyncRequested: requestedBy })));
}

/** A verification's results folded into the rows (the run's rolling ones come with the run's results). */
export async function storeVerification(pool: Pool, tenant: string, results: TableVerification[]): Promise<void> {
  if (results.length === 0) return;
  await changeTables(pool, tenant, results.map((r) => r.key), (tables) =>
    results.flatMap((r) => {
      const t = tables.get(r.key);
      if (!t) return [];
      verifiedTable(t, r);
      return [t];
    }));
}

/** Reset Cloud Data (every table) or Rerun Detail Snapshot (`snapshot`: the historical tables emptied). */
export async function storeEmptied(pool: Pool, tenant: string, keys: string[], snapshot: boolean): Promise<void> {
  await changeTables(pool, tenant, keys, (tables) =>
    [...tables.values()].map((t) => {
      if (snapshot) snapshotResetTable(t);
      else resetTable(t);
      return t;
    }));
}

// --- reading the rows: the page's summary, its pages, a run's or a verification's work -----------

const FINDING = qualified(CONTROL_SCHEMA, 'table_finding');

export const TABLE_FINDING_COLUMNS = `tenant VARCHAR(64) NOT NULL,
     staged TINYINT NOT NULL,
     seq INT NOT NULL,
     body TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
     PRIMARY KEY (tenant, staged, seq)`;

/** Setup's findings, staged with its plan (and taken in with it by applyStagedPlan). */
export async function stageFindings(pool: Pool, tenant: string, findings: FindingRow[]): Promise<void> {
  await inTransaction(pool, async (conn) => {
    await conn.query(`DELETE FROM ${FINDING} WHERE tenant = ? AND staged = 1`, [tenant]);
    for (let i = 0; i < findings.length; i += BATCH) {
      const part = findings.slice(i, i + BATCH);
      await conn.query(`INSERT INTO ${FINDING} (tenant, staged, seq, body) VALUES ${part.map(() => '(?, 1, ?, ?)').join(', ')}`, part.flatMap((f, k) => [tenant, i + k, JSON.stringify(f)]));
    }
  });
}

async function readFindings(db: Db, tenant: string): Promise<FindingRow[]> {
  const [rows] = await db.query<RowDataPacket[]>(`SELECT body FROM ${FINDING} WHERE tenant = ? AND staged = 0 ORDER BY seq`, [tenant]);
  return rows.map((r) => JSON.parse(String(r.body)) as FindingRow);
}

/** The rows of one company, or of all, narrowed by status in SQL (the name pattern is matched by the page). */
async function readFiltered(db: Db, tenant: string, filter: TableFilter): Promise<TableState[]> {
  const where = ['tenant = ?'];
  const params: unknown[] = [tenant];
  if (filter.company) {
    where.push('company = ?');
    params.push(filter.company);
  }
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  }
  const [rows] = await db.query<RowDataPacket[]>(`SELECT body FROM ${TABLE} WHERE ${where.join(' AND ')}`, params);
  return rows.map((r) => JSON.parse(String(r.body)) as TableState);
}

/** What the management workflow keeps of its tables. */
export async function summarizeRows(pool: Pool, tenant: string): Promise<TableSummary> {
  return summarize((await readTableStates(pool, tenant)).values());
}

/** One page of the tables that match, problems first: `cm status --all` and the like. */
export async function readRowsPage(pool: Pool, tenant: string, req: TableFilter & PageRequest): Promise<TablePage> {
  return tablePageOf(await readFiltered(pool, tenant, req), req);
}

/** One page of the Setup Checklist. */
export async function readChecklistPage(pool: Pool, tenant: string, req: PageRequest): Promise<ChecklistPage> {
  return checklistPageOf(checklistOf((await readTableStates(pool, tenant)).values(), await readFindings(pool, tenant)), req);
}

/** Which rows a run or a verification takes: migrated ones; `loaded`: only those with a full load behind them. */
export interface WorkFilter extends TableFilter {
  loaded?: boolean;
}

/**
 * One page of a run's or a verification's work, in a stable order (by the row's id), after `after`
 * (the previous page's `next`). Bounded: a tenant of any size is read a few hundred tables at a time.
 */
export async function readWork(pool: Pool, tenant: string, filter: WorkFilter, after: string | undefined, limit: number): Promise<{ work: TableWork[]; next?: string }> {
  const where = ['tenant = ?'];
  const params: unknown[] = [tenant];
  if (filter.company) {
    where.push('company = ?');
    params.push(filter.company);
  }
  if (after) {
    where.push('table_id > UNHEX(?)');
    params.push(after);
  }
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT HEX(table_id) AS id, body FROM ${TABLE} WHERE ${where.join(' AND ')} ORDER BY table_id LIMIT ?`, [...params, limit],
  );
  const work = rows
    .map((r) => JSON.parse(String(r.body)) as TableState)
    .filter((t) => !t.notMigratedReason && (!filter.loaded || t.fullLoadDone) && (!filter.table || matchesPattern(filter.table.includes('.') ? t.key : t.table, filter.table)))
    .map(toWork);
  return { work, next: rows.length === limit ? String(rows[rows.length - 1].id) : undefined };
}

/** What a run's schema follow needs of the rows: the migrated tables, those not migrated, those asked to be rebuilt. */
export async function readSchemaInput(pool: Pool, tenant: string): Promise<{ migrated: TableWork[]; notMigrated: string[]; resync: string[] }> {
  const all = [...(await readTableStates(pool, tenant)).values()];
  return {
    migrated: all.filter((t) => !t.notMigratedReason).map(toWork),
    notMigrated: all.filter((t) => t.notMigratedReason).map((t) => t.key),
    resync: all.filter((t) => t.resyncRequested).map((t) => t.key),
  };
}

/** The migrated tables (`history`: only the historical ones), for a reset, a snapshot or disable. */
export async function readRefs(pool: Pool, tenant: string, which: 'migrated' | 'history' | 'all'): Promise<TableState[]> {
  return [...(await readTableStates(pool, tenant)).values()].filter((t) => which === 'all' || (!t.notMigratedReason && (which === 'migrated' || t.history)));
}

/** A page carried from a workflow that kept its rows itself: taken in as they are. */
export async function importRows(pool: Pool, tenant: string, rows: TableState[], findings?: FindingRow[]): Promise<void> {
  await inTransaction(pool, async (conn) => {
    await writeTableStates(conn, tenant, rows);
    if (findings) {
      await conn.query(`DELETE FROM ${FINDING} WHERE tenant = ? AND staged = 0`, [tenant]);
      for (let i = 0; i < findings.length; i += BATCH) {
        const part = findings.slice(i, i + BATCH);
        await conn.query(`INSERT INTO ${FINDING} (tenant, staged, seq, body) VALUES ${part.map(() => '(?, 0, ?, ?)').join(', ')}`, part.flatMap((f, k) => [tenant, i + k, JSON.stringify(f)]));
      }
    }
  });
}

/** `cm resync`: the migrated tables each pattern names (a pattern with a dot names schema.table). */
export async function matchResync(pool: Pool, tenant: string, patterns: string[]): Promise<{ keys: string[]; unmatched: string[] }> {
  const migrated = await readRefs(pool, tenant, 'migrated');
  const hits = (p: string): TableState[] => migrated.filter((t) => matchesPattern(p.includes('.') ? t.key : t.table, p));
  return { keys: [...new Set(patterns.flatMap((p) => hits(p).map((t) => t.key)))], unmatched: patterns.filter((p) => hits(p).length === 0) };
}
