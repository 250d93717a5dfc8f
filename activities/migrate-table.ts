// One table's part of a run: its full load when it needs one, then every captured change.
import type { Pool } from 'mysql2/promise';
import type { CopySettings, TableRunResult, TableStatus, TableWork } from '../lib/types';
import { findCapture, installCapture, requeueKeys, type CaptureRef } from './capture';
import { copyRows } from './copy';
import { applyDeltas } from './delta';
import { approximateColumns, copyColumns, readTable, type TableMeta } from './introspect';
import { errorText, isTableError, reviveKey, type KeyValue } from './sql';
import { claimName, claimTable, releaseTable } from './table-claim';
import { prepareTargetSession, TableWriter } from './writer';

/** The claims of a ranged load's attempts (copyKeyRange), one per range. */
export const rangeClaims = (targetSchema: string, table: string, ranges: number): string[] =>
  Array.from({ length: ranges }, (_, i) => claimName(targetSchema, table, `range-${i}`));

export interface TableIo {
  source: Pool;
  target: Pool;
  copy: CopySettings;
  signal?: AbortSignal;
}

/** Where a table's copy stands, as carried in heartbeat details. */
export interface TableCheckpoint {
  key: string;
  rows: number;
  lastKey?: KeyValue[];
}

/** A table-level error (fails this table, not the activity) for a table that is gone. */
function tableGone(schema: string, table: string): Error {
  return Object.assign(new Error(`table ${schema}.${table} no longer exists on the source`), { sqlState: '42S02' });
}

export async function loadMeta(source: Pool, schema: string, table: string): Promise<TableMeta> {
  const meta = await readTable(source, schema, table);
  if (!meta) throw tableGone(schema, table);
  return meta;
}

/** Capture must be in place before a full load starts, or changes made during the load are lost. */
export async function ensureCapture(source: Pool, meta: TableMeta, opts: { schemaReady?: boolean } = {}): Promise<CaptureRef> {
  const existing = await findCapture(source, meta.schema, meta.name);
  if (existing) return existing;
  return installCapture(source, meta, keyColumns(meta), opts);
}

/** The primary key's column definitions, which the capture log repeats. */
export const keyColumns = (meta: TableMeta) => meta.primaryKey.map((k) => meta.columns.find((c) => c.name === k)!);

/** Rejected rows make a table `Warning`, or `Failed` when none of its rows made it to the target. */
export function tableStatus(hasRowsOnTarget: boolean, errors: number, standingWarning?: string): TableStatus {
  if (errors > 0) return hasRowsOnTarget ? 'Warning' : 'Failed';
  return standingWarning ? 'Warning' : 'Successful';
}

export async function migrateTable(
  io: TableIo,
  work: TableWork,
  resume: TableCheckpoint | undefined,
  report: (c: TableCheckpoint) => void,
  /** The table's definition, read for the whole batch at once; undefined when it is gone. */
  known: TableMeta | undefined,
): Promise<TableRunResult> {
  const started = Date.now();
  const result: TableRunResult = {
    key: work.key, status: 'In Progress', fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: false,
  };
  const conn = await io.target.getConnection();
  // This attempt alone writes the table, and no range attempt of this or an earlier run may either:
  // a run whose range failed moves on while the other ranges still copy.
  const mayHaveRanges = !!work.precopied || (work.full && work.splittable && work.estimatedRows >= io.copy.largeTableRows);
  const claims = [claimName(work.targetSchema, work.table), ...(mayHaveRanges ? rangeClaims(work.targetSchema, work.table, io.copy.rangesPerTable) : [])];
  try {
    await prepareTargetSession(conn);
    await claimTable(conn, claims, () => report(resume ?? { key: work.key, rows: 0 }), io.signal);
    if (!known) throw tableGone(work.sourceSchema, work.table);
    const meta = known;
    const columns = copyColumns(meta).map((c) => c.name);
    const key = meta.primaryKey;
    const base = {
      sourcePool: io.source, sourceSchema: work.sourceSchema, targetConn: conn, targetSchema: work.targetSchema, table: work.table, columns, signal: io.signal,
      keepFrom: work.keepFrom, approx: approximateColumns(meta),
    };
    const batch = { batchRows: io.copy.writeBatchRows, batchBytes: io.copy.writeBatchBytes, writeMode: io.copy.writeMode ?? 'load' };

    if (key.length === 0) {
      // No key, no change tracking: replace the whole table, every run (a restart starts over).
      await new TableWriter(conn, work.targetSchema, work.table, columns, key).truncate();
      const copied = await copyRows({ ...base, ...batch, key, onProgress: (p) => report({ key: work.key, rows: p.rows }) });
      Object.assign(result, {
        fullLoadRows: copied.rows, errors: copied.rejected, fullLoadDone: true,
        status: tableStatus(copied.rows > 0, copied.rejected, work.warning),
        errorMessage: copied.rejected > 0 ? `${copied.rejected} rows rejected by the target; first: ${copied.firstError}` : work.warning,
      });
      return result;
    }

    const capture = await ensureCapture(io.source, meta);
    let firstError: string | undefined;
    if (work.full && work.precopied) {
      result.fullLoadRows = work.precopied.rows;
      firstError = work.precopied.firstError;
    } else if (work.full) {
      const prior = resume?.key === work.key ? resume : undefined;
      const copied = await copyRows({
        ...base, ...batch, key,
        after: prior?.lastKey && reviveKey(prior.lastKey), // a binary key came back through JSON
        onRejected: (keys) => requeueKeys(io.source, capture, key, keys),
        onProgress: (p) => report({ key: work.key, rows: (prior?.rows ?? 0) + p.rows, lastKey: p.lastKey }),
      });
      result.fullLoadRows = (prior?.rows ?? 0) + copied.rows;
      firstError = copied.firstError;
      result.lastSyncPosition = copied.lastKey ? `key ${copied.lastKey.join(',')}` : undefined;
    }
    result.fullLoadDone = true;

    // Rows the target rejected during the load were put back in the log, so the drain retries
    // them and its count is the number of rows that are not on the target now.
    const drained = await applyDeltas({ ...base, key, capture, batchRows: io.copy.writeBatchRows });
    Object.assign(result, { inserts: drained.inserts, updates: drained.updates, deletes: drained.deletes, errors: drained.errors });
    if (drained.lastSeq) result.lastSyncPosition = `change log seq ${drained.lastSeq}`;
    const hasRows = !work.full || result.fullLoadRows + drained.inserts + drained.updates > 0;
    result.status = tableStatus(hasRows, result.errors, work.warning);
    if (result.errors > 0) result.errorMessage = `${result.errors} rows rejected by the target; first: ${drained.firstError ?? firstError}`;
    return result;
  } catch (err) {
    // A table-level problem fails this table only; anything else (connection lost, worker
    // shutting down) is rethrown so Temporal retries the activity.
    if (!isTableError(err)) throw err;
    return Object.assign(result, { status: 'Failed', errorMessage: errorText(err), fullLoadDone: false });
  } finally {
    // The returned object is this one, so it gets the duration too (range copies count in it).
    result.durationMs = Date.now() - started + (work.precopied?.durationMs ?? 0);
    await releaseTable(conn, claims);
  }
}
