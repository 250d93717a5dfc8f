// Content comparison of a source and a target table, independent of storage details.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { id, qualified } from './sql';

/**
 * Order-independent digest: row count plus the sum of a CRC per row over every stored column.
 * Preferred to CHECKSUM TABLE, which MariaDB computes wrongly for tables with STORED generated
 * columns (MDEV-22943) and which differs between MariaDB and MySQL for JSON.
 */
export async function tableDigest(pool: Pool, schema: string, table: string, where = '1 = 1'): Promise<string> {
  const [cols] = await pool.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NOT (EXTRA LIKE '%VIRTUAL%' OR EXTRA LIKE '%STORED%' OR EXTRA LIKE '%PERSISTENT%')
      ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  const row = cols.map((c) => `QUOTE(${id(String(c.c))})`).join(', ');
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('|', ${row}))), 0) AS crc FROM ${qualified(schema, table)} WHERE ${where}`,
  );
  return `${rows[0].n}:${rows[0].crc}`;
}

export async function rowCount(pool: Pool, schema: string, table: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${qualified(schema, table)}`);
  return Number(rows[0].n);
}
