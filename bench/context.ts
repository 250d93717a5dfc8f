// What every scenario gets: the MySQL pool and URL, a log line writer, and the workflow harness
// (started on first use: the fence/restore scenario does not need Temporal).
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { qualified } from '../activities/sql';
import { startHarness, type Harness } from './harness';

export interface BenchContext {
  pool: Pool;
  url: string;
  log(line: string): void;
  harness(): Promise<Harness>;
}

export function benchContext(pool: Pool, url: string, log: (line: string) => void): BenchContext & { close(): Promise<void> } {
  let harness: Promise<Harness> | undefined;
  return {
    pool,
    url,
    log,
    harness: () => (harness ??= startHarness(url)),
    close: async () => {
      if (harness) await (await harness).close();
    },
  };
}

/** CHECKSUM TABLE of both copies: the bench checks what it measured arrived intact. */
export async function sameChecksum(pool: Pool, a: [string, string], b: [string, string]): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(`CHECKSUM TABLE ${qualified(...a)}, ${qualified(...b)}`);
  return rows.length === 2 && rows[0].Checksum !== null && String(rows[0].Checksum) === String(rows[1].Checksum);
}
