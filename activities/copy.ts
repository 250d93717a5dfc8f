// The full-load engine: streams rows from the source in key order and writes them to the target in
// bounded batches (LOAD DATA LOCAL by default, see writer.ts), reading the next batch while the
// previous one is written. Memory stays bounded in bytes whatever the table and its row width, and
// progress (the last written key) is reported after every batch so a retried activity resumes
// where the killed one stopped.
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Connection as CoreConnection } from 'mysql2';
import type { WriteMode } from '../lib/types';
import { typedColumns, type RawCodec, type RawRow } from './raw-rows';
import { readRows } from './row-reader';
import { columnList, keyAfter, qualified, selectList, type Approximate, type KeyValue } from './sql';
import { TableWriter, type WriteOutcome } from './writer';
import type { LossyColumn } from './definition-drift';
import type { KeepFrom } from '../lib/types';

/** One table on both sides: what both the full load and the change applier work on. */
export interface TablePair {
  sourcePool: Pool;
  sourceSchema: string;
  targetConn: PoolConnection;
  targetSchema: string;
  table: string;
  /** Columns written (generated columns excluded). */
  columns: string[];
  /** Primary key columns; empty for a table without one (then it is read unordered, no resume). */
  key: string[];
  /** Columns of approximate type: read and compared exactly (see sql.ts). */
  approx?: Approximate;
  /** Target columns that may store a value changed without an error: each value is checked first. */
  lossy?: LossyColumn[];
  signal?: AbortSignal;
}

export interface CopySpec extends TablePair {
  /** Exclusive lower bound (resume point or range start); undefined = from the first row. */
  after?: KeyValue[];
  /** Inclusive upper bound on a single-column key; undefined = to the last row. */
  upTo?: KeyValue;
  /** A historical table's oldest-year filter (company configuration). */
  keepFrom?: KeepFrom;
  batchRows: number;
  batchBytes: number;
  /** Default `replace`; the full loads pass the tenant's setting (`load` unless configured). */
  writeMode?: WriteMode;
  onProgress?: (p: CopyProgress) => void;
  /** Called (and awaited) after each batch is committed, before the next is written: a durable checkpoint. */
  onCommitted?: (p: CopyProgress) => Promise<void>;
  /** Called (and awaited) with the keys of rows the target rejected, before progress moves past them. */
  onRejected?: (keys: KeyValue[][]) => Promise<void>;
}

export interface CopyProgress {
  rows: number;
  rejected: number;
  lastKey?: KeyValue[];
  firstError?: string;
}

export function buildSelect(spec: Pick<CopySpec, 'sourceSchema' | 'table' | 'columns' | 'key' | 'after' | 'upTo' | 'keepFrom' | 'approx'>): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (spec.after && spec.key.length > 0) {
    const f = keyAfter(spec.key, spec.after, spec.approx);
    where.push(f.sql);
    params.push(...f.params);
  }
  if (spec.upTo !== undefined && spec.key.length === 1) {
    where.push(`${columnList([spec.key[0]])} <= ?`);
    params.push(spec.upTo);
  }
  if (spec.keepFrom) {
    // Rows without a date are kept: nothing says they are old (the delta applier agrees, keptByDate).
    where.push(`(${columnList([spec.keepFrom.column])} >= ? OR ${columnList([spec.keepFrom.column])} IS NULL)`);
    params.push(spec.keepFrom.from);
  }
  const order = spec.key.length > 0 ? ` ORDER BY ${columnList(spec.key)}` : '';
  const sql = `SELECT ${selectList(spec.columns, spec.approx)} FROM ${qualified(spec.sourceSchema, spec.table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}${order}`;
  return { sql, params };
}

export async function copyRows(spec: CopySpec): Promise<CopyProgress> {
  const { sql, params } = buildSelect(spec);
  const keyPositions = spec.key.map((k) => spec.columns.indexOf(k));
  const writer = new TableWriter(spec.targetConn, spec.targetSchema, spec.table, spec.columns, spec.key, spec.writeMode, spec.approx, spec.lossy);
  const progress: CopyProgress = { rows: 0, rejected: 0, lastKey: spec.after };

  // The LOAD DATA path passes values through as the server's bytes (raw-rows.ts): nothing to parse.
  const raw = spec.writeMode === 'load';
  let codec: RawCodec | undefined;

  const flush = async (rows: unknown[]): Promise<void> => {
    const out: WriteOutcome = codec ? await writer.writeRaw(rows as RawRow[], codec) : await writer.write(rows as unknown[][]);
    progress.rows += out.written;
    progress.rejected += out.rejected;
    progress.firstError ??= out.firstError;
    if (out.rejectedKeys.length > 0) await spec.onRejected?.(out.rejectedKeys);
    const last = rows[rows.length - 1];
    if (keyPositions.length > 0) progress.lastKey = (codec ? typedColumns(last as RawRow, codec, keyPositions) : keyPositions.map((i) => (last as unknown[])[i])) as KeyValue[];
    await spec.onCommitted?.(progress);
    spec.onProgress?.(progress);
  };

  // The range is replaced, not merged into: rows only the target has must not outlive a full load.
  if (spec.key.length > 0) await writer.deleteRange(spec.after, spec.upTo);
  const source = await spec.sourcePool.getConnection();
  let clean = false;
  let writing: Promise<void> | undefined;
  try {
    // Streaming needs the core (callback) connection under the promise wrapper. Read-ahead is one
    // batch's worth of bytes: the next batch fills while the previous one is written, no more.
    const core = source.connection as unknown as CoreConnection;
    let batch: unknown[] = [];
    let bytes = 0;
    for await (const chunk of readRows(core, sql, params, spec.batchBytes, raw)) {
      codec = chunk.codec;
      for (let i = 0; i < chunk.rows.length; i++) {
        batch.push(chunk.rows[i]);
        bytes += chunk.sizes[i];
        if (batch.length >= spec.batchRows || bytes >= spec.batchBytes) {
          await writing;
          spec.signal?.throwIfAborted();
          writing = flush(batch);
          writing.catch(() => undefined); // surfaced by the next await
          batch = [];
          bytes = 0;
        }
      }
    }
    await writing;
    if (batch.length > 0) await flush(batch);
    clean = true;
  } finally {
    // A read that failed mid-batch must not return the target session (or its table lock) while a
    // write still runs on it: a later user would find its statements inside that transaction.
    await writing?.catch(() => undefined);
    // A half-read result set leaves the connection unusable: drop it rather than return it.
    if (clean) source.release();
    else source.destroy();
  }
  return progress;
}
