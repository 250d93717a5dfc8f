// Applies captured changes: for every key in the log, the target row is made equal to the source
// row as it is now (written if it exists, deleted if it does not). Re-applying is harmless, so an
// attempt that stops half-way is simply run again. Log rows are deleted by exact seq only after
// their effect is on the target; rows the target rejects stay in the log and are retried next run.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { CAPTURE_SCHEMA } from '../lib/constants';
import type { CaptureRef } from './capture';
import type { TablePair } from './copy';
import { keyIn, keyString, qualified, selectList, type KeyValue } from './sql';
import { TableWriter } from './writer';
import { keptByDate } from '../lib/company-tables';
import type { KeepFrom } from '../lib/types';

export interface DeltaSpec extends TablePair {
  capture: CaptureRef;
  /** The server with the capture's log: the source (triggers) or the target (binlog). */
  logPool: Pool;
  /** A historical table's oldest-year filter: a changed row dated before it leaves the target. */
  keepFrom?: KeepFrom;
  batchRows: number;
  onProgress?: (p: DeltaProgress) => void;
  /** Compares the rows just applied with the source: how many differ with no change pending, and a few keys. */
  check?: (keys: KeyValue[][]) => Promise<{ unequal: number; examples: string[] }>;
}

export interface DeltaProgress {
  inserts: number;
  updates: number;
  deletes: number;
  /** Distinct keys the target rejected: rows that are, right now, not on the target. */
  errors: number;
  firstError?: string;
  lastSeq?: string;
  /** Rows applied that were not equal to the source right after (see DeltaSpec.check). */
  unequal: number;
  unequalExamples: string[];
}

interface LogRow {
  seq: string;
  op: string;
  key: KeyValue[];
}

export async function applyDeltas(spec: DeltaSpec): Promise<DeltaProgress> {
  const progress: DeltaProgress = { inserts: 0, updates: 0, deletes: 0, errors: 0, unequal: 0, unequalExamples: [] };
  const log = qualified(CAPTURE_SCHEMA, spec.capture.logTable);
  const writer = tableWriter(spec);
  let afterSeq = '0';
  const rejectedKeys = new Set<string>();

  for (;;) {
    spec.signal?.throwIfAborted();
    // Within one pass we move forward by seq so rejected rows (left in the log) are not re-read;
    // nothing persists this position, so a seq that becomes visible late is read by the next run.
    const [logRows] = await spec.logPool.query<RowDataPacket[]>({
      sql: `SELECT seq, op, ${selectList(spec.key, spec.approx)} FROM ${log} WHERE seq > ? ORDER BY seq LIMIT ?`,
      values: [afterSeq, spec.batchRows],
      rowsAsArray: true,
    });
    if (logRows.length === 0) break;
    const entries: LogRow[] = (logRows as unknown as unknown[][]).map((r) => ({ seq: String(r[0]), op: String(r[1]), key: r.slice(2) as KeyValue[] }));
    afterSeq = entries[entries.length - 1].seq;

    // The first op seen for a key decides how the net change is counted.
    const firstOp = new Map<string, { op: string; key: KeyValue[] }>();
    for (const e of entries) {
      const k = keyString(e.key);
      if (!firstOp.has(k)) firstOp.set(k, { op: e.op, key: e.key });
    }
    const out = await syncKeys(spec, [...firstOp.values()].map((v) => v.key), writer);
    progress.deletes += out.deleted;
    progress.firstError ??= out.firstError;
    for (const k of out.rejected) rejectedKeys.add(k);
    progress.errors = rejectedKeys.size;
    for (const k of out.written) {
      if (firstOp.get(keyString(k))?.op === 'I') progress.inserts++;
      else progress.updates++;
    }
    const applied = entries.filter((e) => !out.rejected.has(keyString(e.key))).map((e) => e.seq);
    if (applied.length > 0) await spec.logPool.query(`DELETE FROM ${log} WHERE seq IN (?)`, [applied]);
    // A rejected row's entries stay, marked R: a verification then counts the row as rejected by the
    // target (with the table's reason), not as a change still to apply, which it would excuse.
    const refused = entries.filter((e) => out.rejected.has(keyString(e.key)) && e.op !== 'R').map((e) => e.seq);
    if (refused.length > 0) await spec.logPool.query(`UPDATE ${log} SET op = 'R' WHERE seq IN (?)`, [refused]);
    // Checked once their own log rows are gone: a change still pending then is a newer one.
    if (spec.check) {
      const checked = await spec.check([...out.written, ...out.gone]);
      progress.unequal += checked.unequal;
      progress.unequalExamples.push(...checked.examples.slice(0, 3 - progress.unequalExamples.length));
    }
    progress.lastSeq = afterSeq;
    spec.onProgress?.(progress);
  }
  return progress;
}

export type SyncSpec = TablePair & { keepFrom?: KeepFrom };

export interface SyncOutcome {
  /** Keys whose source row was written to the target. */
  written: KeyValue[][];
  /** Target rows deleted: keys gone from the source (or dated before a historical table's oldest year). */
  deleted: number;
  /** The keys that were deleted (or found nowhere) on the target. */
  gone: KeyValue[][];
  /** keyString of each key the target rejected: that row is, right now, not as on the source. */
  rejected: Set<string>;
  firstError?: string;
}

const tableWriter = (spec: SyncSpec): TableWriter =>
  new TableWriter(spec.targetConn, spec.targetSchema, spec.table, spec.columns, spec.key, 'replace', spec.approx, spec.lossy);

/**
 * Makes the target rows of these keys equal to the source rows as they are now: written if the
 * source has the row, deleted if not. The one way a change is applied, by the delta and by a repair.
 */
export async function syncKeys(spec: SyncSpec, keys: KeyValue[][], writer: TableWriter = tableWriter(spec)): Promise<SyncOutcome> {
  if (keys.length === 0) return { written: [], deleted: 0, gone: [], rejected: new Set() };
  const source = qualified(spec.sourceSchema, spec.table);
  const keyPositions = spec.key.map((k) => spec.columns.indexOf(k));
  const keyOf = (r: unknown[]): KeyValue[] => keyPositions.map((i) => r[i] as KeyValue);
  const sel = keyIn(spec.key, keys, spec.approx);
  const [found] = await spec.sourcePool.query<RowDataPacket[]>({
    sql: `SELECT ${selectList(spec.columns, spec.approx)} FROM ${source} WHERE ${sel.sql}`,
    values: sel.params,
    rowsAsArray: true,
  });
  const all = found as unknown as unknown[][];
  const present = new Set(all.map((r) => keyString(keyOf(r))));
  // The target holds a historical table's rows from the oldest year on: a row moved before it goes.
  const dateAt = spec.keepFrom ? spec.columns.indexOf(spec.keepFrom.column) : -1;
  const rows = dateAt < 0 ? all : all.filter((r) => keptByDate(r[dateAt], spec.keepFrom!.from));
  const tooOld = dateAt < 0 ? [] : all.filter((r) => !keptByDate(r[dateAt], spec.keepFrom!.from)).map(keyOf);
  const gone = [...tooOld, ...(await confirmGone(spec, keys.filter((k) => !present.has(keyString(k)))))];

  // Deletes first: an upsert that follows can then never be undone by a delete of a key that
  // compares equal under a case-insensitive collation.
  const deleted = await writer.deleteKeys(gone);
  const out = await writer.write(rows);
  const rejected = new Set(out.rejectedKeys.map((k) => keyString(k)));
  return { written: rows.map(keyOf).filter((k) => !rejected.has(keyString(k))), deleted, gone, rejected, firstError: out.firstError };
}

/**
 * Keys not returned by an exact-match read may still exist under the column's collation (a key
 * whose case changed, say). Only keys that match nothing at all are deleted from the target.
 */
async function confirmGone(spec: SyncSpec, candidates: KeyValue[][]): Promise<KeyValue[][]> {
  if (candidates.length === 0) return [];
  const source = qualified(spec.sourceSchema, spec.table);
  const sel = keyIn(spec.key, candidates, spec.approx);
  const [rows] = await spec.sourcePool.query<RowDataPacket[]>(`SELECT 1 FROM ${source} WHERE ${sel.sql} LIMIT 1`, sel.params);
  if (rows.length === 0) return candidates;
  const gone: KeyValue[][] = [];
  for (const k of candidates) {
    const one = keyIn(spec.key, [k], spec.approx);
    const [hit] = await spec.sourcePool.query<RowDataPacket[]>(`SELECT 1 FROM ${source} WHERE ${one.sql} LIMIT 1`, one.params);
    if (hit.length === 0) gone.push(k);
  }
  return gone;
}

/**
 * The tenant's captured changes not applied yet, over all its logs, and the age of the oldest in
 * seconds (0 when none): one query per 500 logs. Best effort: a log that cannot be read (dropped
 * meanwhile) leaves its part out.
 */
export async function captureBacklog(store: Pool, logs: CaptureRef[]): Promise<{ pending: number; lagSeconds: number }> {
  let pending = 0;
  let lagSeconds = 0;
  for (let i = 0; i < logs.length; i += 500) {
    const union = logs.slice(i, i + 500).map((c) => `SELECT COUNT(*) AS n, MIN(changed_at) AS m FROM ${qualified(CAPTURE_SCHEMA, c.logTable)}`).join(' UNION ALL ');
    try {
      const [rows] = await store.query<RowDataPacket[]>(
        `SELECT COALESCE(SUM(n), 0) AS n, COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(m), CURRENT_TIMESTAMP(3)), 0) / 1000000 AS lag FROM (${union}) logs`,
      );
      pending += Number(rows[0].n);
      lagSeconds = Math.max(lagSeconds, Number(rows[0].lag));
    } catch {
      // a log dropped meanwhile: its part is unknown, the rest still counts
    }
  }
  return { pending, lagSeconds };
}

export async function pendingChanges(pool: Pool, capture: CaptureRef): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${qualified(CAPTURE_SCHEMA, capture.logTable)}`);
  return Number(rows[0].n);
}

