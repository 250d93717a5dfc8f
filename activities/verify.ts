// Content comparison of tables, independent of storage details: one place for the rule of which
// fingerprint to trust, used by the restore point's verification, the demo and the tests.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { id, qualified } from './sql';

/**
 * Order-independent digest: row count plus the sum of a CRC per row over every column. Needed
 * beside CHECKSUM TABLE, which MariaDB computes wrongly for tables with STORED generated columns
 * (MDEV-22943: it changes between identical copies, even between two reads of one table).
 * `where` (trusted SQL, never user input) restricts it to some rows.
 */
export async function tableDigest(pool: Pool, schema: string, table: string, where = '1 = 1'): Promise<string> {
  const [cols] = await pool.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [schema, table],
  );
  // A FLOAT prints with 6 significant digits: through DOUBLE it prints exactly (see sql.ts).
  const row = cols.map((c) => (String(c.t).toLowerCase() === 'float' ? `QUOTE(CAST(${id(String(c.c))} AS DOUBLE))` : `QUOTE(${id(String(c.c))})`)).join(', ');
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('|', ${row}))), 0) AS crc FROM ${qualified(schema, table)} WHERE ${where}`,
  );
  return `${rows[0].n}:${rows[0].crc}`;
}

export async function checksumTable(pool: Pool, schema: string, table: string): Promise<string | null> {
  const [rows] = await pool.query<RowDataPacket[]>(`CHECKSUM TABLE ${qualified(schema, table)} EXTENDED`);
  return rows[0].Checksum === null ? null : String(rows[0].Checksum);
}

/** True where CHECKSUM TABLE cannot be trusted (see tableDigest). */
export async function hasStoredGenerated(pool: Pool, schema: string, table: string): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND (EXTRA LIKE '%STORED%' OR EXTRA LIKE '%PERSISTENT%') LIMIT 1",
    [schema, table],
  );
  return rows.length > 0;
}

export interface Fingerprint {
  /** CHECKSUM TABLE (the contract's measure), null where it cannot be trusted. */
  checksum: string | null;
  /** The content digest, taken only where CHECKSUM TABLE cannot be trusted: one full read per table. */
  digest: string | null;
}

export async function fingerprint(pool: Pool, schema: string, table: string): Promise<Fingerprint> {
  return (await hasStoredGenerated(pool, schema, table))
    ? { checksum: null, digest: await tableDigest(pool, schema, table) }
    : { checksum: await checksumTable(pool, schema, table), digest: null };
}

export async function rowCount(pool: Pool, schema: string, table: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${qualified(schema, table)}`);
  return Number(rows[0].n);
}
