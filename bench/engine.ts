// The copy engine alone, outside the workflow, in both write modes on the same data: shows what
// LOAD DATA buys over the previous multi-row REPLACE, with the same 2 key ranges in parallel.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { copyRows } from '../activities/copy';
import { splitKeyRange } from '../activities';
import { id, qualified } from '../activities/sql';
import { prepareTargetSession } from '../activities/writer';
import { DEFAULT_COPY } from '../lib/constants';
import type { WriteMode } from '../lib/types';
import { timed } from './harness';

export async function engineCopyMs(pool: Pool, source: string, table: string, columns: string[], mode: WriteMode): Promise<number> {
  const target = `bench_engine_${mode}`;
  await pool.query(`DROP SCHEMA IF EXISTS ${id(target)}`);
  await pool.query(`CREATE SCHEMA ${id(target)}`);
  try {
    await pool.query(`CREATE TABLE ${qualified(target, table)} LIKE ${qualified(source, table)}`);
    const [bounds] = await pool.query<RowDataPacket[]>(`SELECT MIN(${id(columns[0])}) lo, MAX(${id(columns[0])}) hi FROM ${qualified(source, table)}`);
    const ranges = splitKeyRange(bounds[0].lo, bounds[0].hi, DEFAULT_COPY.rangesPerTable);
    const { ms } = await timed(() =>
      Promise.all(
        ranges.map(async (r) => {
          const conn = await pool.getConnection();
          try {
            await prepareTargetSession(conn);
            await copyRows({
              sourcePool: pool, sourceSchema: source, targetConn: conn, targetSchema: target, table, columns, key: [columns[0]],
              after: r.after !== undefined ? [r.after] : undefined, upTo: r.upTo,
              batchRows: DEFAULT_COPY.writeBatchRows, batchBytes: DEFAULT_COPY.writeBatchBytes, writeMode: mode,
            });
          } finally {
            conn.release();
          }
        }),
      ),
    );
    return ms;
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${id(target)}`);
  }
}
