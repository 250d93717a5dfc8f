// The binlog scenarios' source: a second MariaDB server on this machine (test/source-server.ts: the
// machine's own binaries, a temp folder, a free port; the binary log on in ROW format with full
// images and metadata, unless asked otherwise), standing in for the on-premises server. Workers find
// it under a connection name of its own (CM_CONN_<NAME>_URL, set before they are spawned: they
// inherit the bench process's environment).
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { connectionEnvVar, createMysqlPool } from '../activities/connections';
import { qualified } from '../activities/sql';
import { tableDigest } from '../activities/verify';
import { startSourceServer, type SourceServer } from '../test/source-server';
import { settle } from './harness';

export interface BenchSource {
  server: SourceServer;
  pool: Pool;
  /** The connection name a tenant's `sourceConnection` gives to reach this server. */
  connection: string;
}

/** Starts a source server, runs `fn` with it, and always stops it (and forgets its connection name). */
export async function withSourceServer<T>(
  connection: string,
  log: (s: string) => void,
  fn: (source: BenchSource) => Promise<T>,
  opts: { binlog?: boolean } = {},
): Promise<T> {
  const t0 = Date.now();
  const server = await startSourceServer({ binlog: opts.binlog });
  const variable = connectionEnvVar(connection);
  process.env[variable] = server.url;
  const pool = createMysqlPool(server.url, { connectionLimit: 4 });
  try {
    log(`  source server on port ${server.port} (binary log ${opts.binlog === false ? 'off' : 'on'}), started in ${Date.now() - t0} ms`);
    return await fn({ server, pool, connection });
  } finally {
    delete process.env[variable];
    await pool.end().catch(() => undefined);
    await server.stop();
  }
}

/**
 * settle() for a bench source server: a fresh MariaDB 10.11 with innodb_max_dirty_pages_pct_lwm 0
 * flushes nothing in the background until 90 % of the pool is dirty, so settle() would wait its full
 * minute; with the limit at 0 for the moment it writes out what is dirty in a second or two. Only
 * on the bench's own servers: the machine's server keeps its settings.
 */
export async function settleSource(source: BenchSource, log: (s: string) => void = () => undefined): Promise<void> {
  const [rows] = await source.pool.query<RowDataPacket[]>('SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS pct');
  await source.pool.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
  try {
    await settle(source.pool, log);
  } finally {
    await source.pool.query('SET GLOBAL innodb_max_dirty_pages_pct = ?', [Number(rows[0].pct)]);
  }
}

export interface AcrossCheck {
  tables: number;
  equal: boolean;
  /** Tables that differ (at most 10 named). */
  differing: string[];
}

/**
 * Each table on the source server against its copy on the target server: CHECKSUM TABLE on each
 * server (same MariaDB build, same definitions), and the row-content digest (activities/verify.ts
 * tableDigest: COUNT and a sum of CRC32 over every column, QUOTEd) where `digest` is asked for.
 */
export async function sameAcross(source: Pool, sourceSchema: string, target: Pool, targetSchema: string, tables: string[], digest = false): Promise<AcrossCheck> {
  const differing: string[] = [];
  const checksums = async (pool: Pool, schema: string, chunk: string[]): Promise<Map<string, string>> => {
    const [rows] = await pool.query<RowDataPacket[]>(`CHECKSUM TABLE ${chunk.map((t) => qualified(schema, t)).join(', ')}`);
    // Rows name each table `schema.table`.
    return new Map(rows.map((r) => [String(r.Table).slice(schema.length + 1), r.Checksum === null ? 'null' : String(r.Checksum)]));
  };
  for (let i = 0; i < tables.length; i += 100) {
    const chunk = tables.slice(i, i + 100);
    const [a, b] = await Promise.all([checksums(source, sourceSchema, chunk), checksums(target, targetSchema, chunk)]);
    for (const t of chunk) if (a.get(t) === 'null' || a.get(t) !== b.get(t)) differing.push(t);
  }
  if (digest) {
    for (const t of tables) {
      const [a, b] = await Promise.all([tableDigest(source, sourceSchema, t), tableDigest(target, targetSchema, t)]);
      if (a !== b && !differing.includes(t)) differing.push(t);
    }
  }
  return { tables: tables.length, equal: differing.length === 0, differing: differing.slice(0, 10) };
}
