// Seeds the sample "on-premises ERP" source: one schema per company, reset on every run, byte-identical per (seed, scale).
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { SAMPLE_TABLE_DEFS, id, type TableDef } from './schema';
import { rowsFor, sizesFor, type Ctx, type Row, type SqlValue } from './rows';

export const SAMPLE_COMPANIES = ['cronus', 'fabrikam', 'contoso'] as const;

export interface SeedOptions {
  scale: number;
  seed: number;
  schemaPrefix?: string;
  companies?: string[];
  onProgress?: (e: { company: string; table: string; rows: number }) => void;
}

export interface SeedSummary {
  companies: { schema: string; tables: { name: string; rows: number }[] }[];
}

// DDL (incl. the trigger, which keeps the sql_mode it was created with) runs strict; NO_ENGINE_SUBSTITUTION
// makes a disabled MyISAM fail loudly instead of silently becoming InnoDB.
const DDL_SQL_MODE = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
const MAX_ROWS_PER_INSERT = 1_000;
const MAX_PARAMS_PER_INSERT = 60_000; // prepared statements allow at most 65,535 placeholders
const MAX_BYTES_PER_INSERT = 4 * 1024 * 1024; // stay well below the smallest common max_allowed_packet

export function companySchemas(opts: { schemaPrefix?: string; companies?: readonly string[] }): string[] {
  const schemas = (opts.companies ?? SAMPLE_COMPANIES).map((c) => `${opts.schemaPrefix ?? ''}${c}`);
  for (const s of schemas) {
    if (s.length === 0 || s.length > 64) throw new Error(`invalid schema name '${s}' (1..64 characters)`);
  }
  return schemas;
}

export async function seedSourceData(pool: Pool, opts: SeedOptions): Promise<SeedSummary> {
  if (!Number.isInteger(opts.seed)) throw new Error(`seed must be an integer, got ${opts.seed}`);
  const sizes = sizesFor(opts.scale);
  const companies = opts.companies ?? [...SAMPLE_COMPANIES];
  const schemas = companySchemas(opts);
  const conn = await pool.getConnection();
  try {
    await prepareSession(conn);
    const summary: SeedSummary = { companies: [] };
    for (const [i, company] of companies.entries()) {
      const ctx: Ctx = { seed: opts.seed, company, sizes };
      summary.companies.push(await seedCompany(conn, schemas[i], ctx, opts.onProgress));
    }
    return summary;
  } finally {
    // sql_mode and the default schema were changed: never hand this session back to the pool.
    conn.destroy();
  }
}

/** True when none of the company schemas exist or they contain no tables. */
export async function sourceIsEmpty(pool: Pool, opts: { schemaPrefix?: string; companies?: string[] }): Promise<boolean> {
  const schemas = companySchemas(opts);
  const [rows] = await pool.execute<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${schemas.map(() => '?').join(', ')})`,
    schemas,
  );
  return Number(rows[0].n) === 0;
}

async function prepareSession(conn: PoolConnection): Promise<void> {
  await conn.query('SET SESSION foreign_key_checks = 1');
  // MySQL 8 only (absent on MariaDB): import_buffer deliberately has no primary key.
  const [vars] = await conn.query<RowDataPacket[]>("SHOW SESSION VARIABLES LIKE 'sql_require_primary_key'");
  if (vars.length > 0 && String(vars[0].Value).toUpperCase() === 'ON') {
    await conn.query('SET SESSION sql_require_primary_key = 0');
  }
}

async function seedCompany(
  conn: PoolConnection,
  schema: string,
  ctx: Ctx,
  onProgress: SeedOptions['onProgress'],
): Promise<SeedSummary['companies'][number]> {
  await conn.query('SET SESSION sql_mode = ?', [DDL_SQL_MODE]);
  await conn.query(`DROP SCHEMA IF EXISTS ${id(schema)}`);
  await conn.query(`CREATE SCHEMA ${id(schema)} DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await conn.query(`USE ${id(schema)}`); // the DDL in schema.ts is unqualified
  for (const def of SAMPLE_TABLE_DEFS) await conn.query(def.create);
  for (const def of SAMPLE_TABLE_DEFS) for (const trigger of def.triggers) await conn.query(trigger);

  // Lax mode lets the source hold rows (zero dates) that a strict target rejects.
  await conn.query("SET SESSION sql_mode = ''");
  const tables: { name: string; rows: number }[] = [];
  for (const def of SAMPLE_TABLE_DEFS) {
    const rows = await insertRows(conn, schema, def, rowsFor(def.name, ctx), (n) =>
      onProgress?.({ company: ctx.company, table: def.name, rows: n }),
    );
    tables.push({ name: def.name, rows });
  }
  return { schema, tables };
}

/** Multi-row parameterised INSERTs; returns the number of rows the server reports as inserted. */
async function insertRows(
  conn: PoolConnection,
  schema: string,
  def: TableDef,
  rows: Iterable<Row>,
  progress: (rowsSoFar: number) => void,
): Promise<number> {
  const columns = def.columns.filter((c) => !c.generated).map((c) => c.name);
  const maxRows = Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS_PER_INSERT / columns.length));
  // Qualified: a prepared statement must not depend on the session's default schema.
  const head = `INSERT INTO ${id(schema)}.${id(def.name)} (${columns.map(id).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const prepared = new Set<string>();
  let params: SqlValue[] = [];
  let batchRows = 0;
  let batchBytes = 0;
  let total = 0;

  const flush = async () => {
    if (batchRows === 0) return;
    const sql = head + Array(batchRows).fill(tuple).join(', ');
    prepared.add(sql);
    const [res] = await conn.execute<ResultSetHeader>(sql, params);
    if (res.warningStatus > 0) {
      // Lax mode turns truncation/conversion into warnings; fail so nothing is silently altered.
      const [warnings] = await conn.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 3');
      throw new Error(`seeding ${schema}.${def.name} produced warnings: ${JSON.stringify(warnings)}`);
    }
    total += res.affectedRows;
    params = [];
    batchRows = 0;
    batchBytes = 0;
    progress(total);
  };

  for (const row of rows) {
    for (const col of columns) {
      const v = row[col];
      if (v === undefined) throw new Error(`seed row for ${def.name} lacks column ${col}`);
      if (typeof v === 'string' || Buffer.isBuffer(v)) batchBytes += v.length * (typeof v === 'string' ? 4 : 1);
      params.push(v);
    }
    batchRows++;
    if (batchRows >= maxRows || batchBytes >= MAX_BYTES_PER_INSERT) await flush();
  }
  await flush();
  if (total === 0) progress(0);
  for (const sql of prepared) conn.unprepare(sql);
  return total;
}
