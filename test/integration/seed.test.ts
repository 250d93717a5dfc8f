import { createPool, escapeId, type Pool, type RowDataPacket } from 'mysql2/promise';
import { applySampleChanges } from '../../seed/changes';
import { SAMPLE_COMPANIES, seedSourceData, sourceIsEmpty, type SeedOptions } from '../../seed/generate';
import { SAMPLE_TABLE_DEFS, SAMPLE_TABLES, type TableDef } from '../../seed/schema';

const PREFIX = 'seedtest_';
const OPTS: SeedOptions = { scale: 0.05, seed: 20240607, schemaPrefix: PREFIX };
const SCHEMAS = SAMPLE_COMPANIES.map((c) => `${PREFIX}${c}`);
const TIMEOUT = 120_000;

const q = (schema: string, table: string) => `${escapeId(schema, true)}.${escapeId(table, true)}`;

let pool: Pool;

async function dropSchemas(): Promise<void> {
  for (const s of SCHEMAS) await pool.query(`DROP SCHEMA IF EXISTS ${escapeId(s, true)}`);
}

/** Engine-independent, order-independent digest of a table's full contents (incl. generated columns). */
async function contentDigest(schema: string, def: TableDef): Promise<string> {
  const cols = def.columns.map((c) => `QUOTE(${escapeId(c.name, true)})`).join(', ');
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('|', ${cols}))), 0) AS s FROM ${q(schema, def.name)}`,
  );
  return `${rows[0].n}:${rows[0].s}`;
}

/**
 * CHECKSUM TABLE per table, plus a content digest. MariaDB's CHECKSUM TABLE reads stale buffer bytes for
 * STORED generated columns (MDEV-22943), so for such tables (gl_entry) only the digest is meaningful.
 */
async function fingerprints(schemas: string[] = SCHEMAS): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const schema of schemas) {
    for (const def of SAMPLE_TABLE_DEFS) {
      const key = `${schema}.${def.name}`;
      out[`${key}#digest`] = await contentDigest(schema, def);
      if (def.columns.some((c) => c.generated)) continue;
      const [rows] = await pool.query<RowDataPacket[]>(`CHECKSUM TABLE ${q(schema, def.name)}`);
      expect(rows[0].Checksum).not.toBeNull(); // NULL would mean the table is missing
      out[`${key}#checksum`] = String(rows[0].Checksum);
    }
  }
  return out;
}

async function scalar(sql: string, params: (string | number)[] = []): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(sql, params);
  return Number(Object.values(rows[0])[0]);
}

beforeAll(async () => {
  pool = createPool({ uri: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306', multipleStatements: false });
  await dropSchemas();
});

afterAll(async () => {
  await dropSchemas();
  await pool.end();
});

describe('sample source data generator', () => {
  it('is a byte-identical reset when run twice with the same seed and scale', async () => {
    expect(await sourceIsEmpty(pool, { schemaPrefix: PREFIX })).toBe(true);
    const first = await seedSourceData(pool, OPTS);
    const before = await fingerprints();
    expect(await sourceIsEmpty(pool, { schemaPrefix: PREFIX })).toBe(false);

    const second = await seedSourceData(pool, OPTS);
    const after = await fingerprints();
    expect(second).toEqual(first);
    expect(Object.keys(after)).toHaveLength(Object.keys(before).length);
    expect(after).toEqual(before);

    // The summary reports what is really in the tables.
    for (const company of second.companies) {
      for (const t of company.tables) {
        expect(await scalar(`SELECT COUNT(*) FROM ${q(company.schema, t.name)}`)).toBe(t.rows);
      }
    }
  }, TIMEOUT);

  it('creates every table of SAMPLE_TABLES (and nothing else) in each company schema', async () => {
    for (const schema of SCHEMAS) {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT TABLE_NAME AS name, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
        [schema],
      );
      expect(rows.map((r) => String(r.name)).sort()).toEqual([...SAMPLE_TABLES].sort());
      expect(rows.find((r) => r.name === 'legacy_archive')?.engine).toBe('MyISAM');
      expect(await scalar(
        "SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'import_buffer' AND CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE')",
        [schema],
      )).toBe(0);
      expect(await scalar(`SELECT COUNT(DISTINCT YEAR(posting_date)) FROM ${q(schema, 'gl_entry')}`)).toBe(10);
    }
  }, TIMEOUT);

  it('holds exactly three zero-date rows per company that a strict target rejects', async () => {
    for (const schema of SCHEMAS) {
      expect(await scalar(
        `SELECT COUNT(*) FROM ${q(schema, 'cust_ledger_entry')} WHERE CAST(due_date AS CHAR) = '0000-00-00'`,
      )).toBe(3);
    }
  }, TIMEOUT);

  it('applies a deterministic day of changes with exact counts', async () => {
    const schema = `${PREFIX}cronus`;
    const before = await fingerprints([schema]);
    const changes = await applySampleChanges(pool, { schema, seed: 99 });

    expect(changes.inserts).toBeGreaterThan(0);
    expect(changes.updates).toBeGreaterThan(0);
    expect(changes.deletes).toBeGreaterThan(0);
    expect(Object.keys(changes.byTable).length).toBeGreaterThanOrEqual(4);
    const sum = (k: 'inserts' | 'updates' | 'deletes') =>
      Object.values(changes.byTable).reduce((acc, c) => acc + c[k], 0);
    expect([sum('inserts'), sum('updates'), sum('deletes')]).toEqual([changes.inserts, changes.updates, changes.deletes]);
    // The customer trigger logged one row per customer update.
    expect(changes.byTable.change_log_entry.inserts).toBe(changes.byTable.customer.updates);
    expect(await scalar(`SELECT COUNT(*) FROM ${q(schema, 'change_log_entry')}`)).toBe(changes.byTable.customer.updates);

    const after = await fingerprints([schema]);
    for (const table of Object.keys(changes.byTable)) {
      expect(after[`${schema}.${table}#digest`]).not.toBe(before[`${schema}.${table}#digest`]);
    }
    expect(after[`${schema}.vendor#digest`]).toBe(before[`${schema}.vendor#digest`]);

    // Same seed on the same starting state -> same changes, same data.
    await seedSourceData(pool, { ...OPTS, companies: ['cronus'] });
    expect(await applySampleChanges(pool, { schema, seed: 99 })).toEqual(changes);
    expect(await fingerprints([schema])).toEqual(after);
  }, TIMEOUT);
});
