// Writes rows into a target table idempotently. REPLACE (rather than ON DUPLICATE KEY UPDATE) also
// clears a stale row that collides on a secondary unique key; that row's own pending change, which
// must exist for the source to be consistent, puts it back.
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import { TARGET_SQL_MODE } from '../lib/constants';
import { columnList, errorText, isDataError, keyIn, qualified, type KeyValue } from './sql';

export async function prepareTargetSession(conn: PoolConnection): Promise<void> {
  // The copy writes rows in key order, not dependency order, and target tables carry no triggers.
  await conn.query('SET SESSION sql_mode = ?, foreign_key_checks = 0', [TARGET_SQL_MODE]);
}

export interface WriteOutcome {
  written: number;
  rejected: number;
  firstError?: string;
  rejectedKeys: KeyValue[][];
}

export class TableWriter {
  private readonly insertSql: string;
  private readonly keyPositions: number[];

  constructor(
    private readonly conn: PoolConnection,
    private readonly schema: string,
    private readonly table: string,
    columns: string[],
    private readonly key: string[],
  ) {
    this.insertSql = `REPLACE INTO ${qualified(schema, table)} (${columnList(columns)}) VALUES ?`;
    this.keyPositions = key.map((k) => columns.indexOf(k));
  }

  /** Writes rows; rows the target rejects are counted and skipped, everything else is written. */
  async write(rows: unknown[][]): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { written: 0, rejected: 0, rejectedKeys: [] };
    if (rows.length === 0) return outcome;
    try {
      await this.conn.query(this.insertSql, [rows]);
      outcome.written = rows.length;
      return outcome;
    } catch (err) {
      if (!isDataError(err)) throw err;
    }
    // One bad row fails the whole statement: find the bad ones row by row.
    for (const row of rows) {
      try {
        await this.conn.query(this.insertSql, [[row]]);
        outcome.written++;
      } catch (err) {
        if (!isDataError(err)) throw err;
        outcome.rejected++;
        outcome.firstError ??= errorText(err);
        outcome.rejectedKeys.push(this.keyPositions.map((i) => row[i] as KeyValue));
      }
    }
    return outcome;
  }

  async deleteKeys(keys: KeyValue[][]): Promise<number> {
    if (keys.length === 0) return 0;
    const where = keyIn(this.key, keys);
    const [res] = await this.conn.query<ResultSetHeader>(`DELETE FROM ${qualified(this.schema, this.table)} WHERE ${where.sql}`, where.params);
    return res.affectedRows;
  }

  async truncate(): Promise<void> {
    // DELETE, not TRUNCATE: TRUNCATE is refused on a table referenced by a foreign key.
    await this.conn.query(`DELETE FROM ${qualified(this.schema, this.table)}`);
  }
}
