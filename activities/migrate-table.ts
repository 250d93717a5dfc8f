// One table's part of a run: its full load when it needs one, then every captured change.
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { CopySettings, TableRunResult, TableStatus, TableWork, VerifySettings } from '../lib/types';
import { MAX_RANGES_PER_TABLE } from '../lib/constants';
import { captureCopied, captureLost, checkedCapture, findCapture, requeueKeys, type CaptureCheck, type CaptureEntry, type CaptureSite } from './capture';
import { copyRows } from './copy';
import { copyIdOf, readCopyCheckpoint, resumable, saveCopyCheckpoint, type CopyCheckpoint } from './copy-checkpoint';
import { applyDeltas } from './delta';
import { approximateColumns, copyColumns, readTable, type TableMeta } from './introspect';
import { errorText, isTableError, qualified, type KeyValue } from './sql';
import { claimName, claimTable, releaseTable } from './table-claim';
import { prepareTargetSession, TableWriter } from './writer';
import { checkApplied, forgetSlice, verifySlice, type RunVerifyIo } from './run-verify';
import type { LossyColumn } from './definition-drift';

/** The claims of a ranged load's attempts (copyKeyRange), one per range: every range a run may cut (any run's). */
export const rangeClaims = (targetSchema: string, table: string, ranges: number): string[] =>
  Array.from({ length: ranges }, (_, i) => claimName(targetSchema, table, `range-${i}`));

export interface TableIo {
  /** The tenant whose change capture this is. */
  tenant: string;
  source: Pool;
  target: Pool;
  /** Where the tenant's change capture lives (triggers on the source, or the binary log's staging on the target). */
  site: CaptureSite;
  copy: CopySettings;
  signal?: AbortSignal;
  /** InnoDB ids of the source tables (readTableIds), read for the whole batch at once. */
  sourceTableIds?: ReadonlyMap<string, string>;
  /** How the run verifies what it touched (absent: runs started before verification do not). */
  verify?: VerifySettings;
  /** The activity copying (copy-checkpoint.ts): its full loads keep a durable checkpoint to resume from. */
  copyOf: string;
}

/** Where a table's copy stands, as carried in heartbeat details. */
export interface TableCheckpoint {
  key: string;
  rows: number;
  lastKey?: KeyValue[];
  /** The capture the copy started under: a copy from before capture was put back is not resumed. */
  captureId?: number;
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

/**
 * The tenant's capture, checked intact (and put back if lost) before any copy or drain: a full load
 * needs it in place first, and its log is trusted only while it is intact. When it says a full
 * copy is owed (`copyOwed`), the table is copied in full before its log is drained.
 */
export async function ensureCapture(site: CaptureSite, tenant: string, meta: TableMeta, check: CaptureCheck & { schemaReady?: boolean } = {}): Promise<CaptureEntry> {
  return checkedCapture(site, tenant, meta, keyColumns(meta), check);
}

async function targetHasRows(conn: PoolConnection, schema: string, table: string): Promise<boolean> {
  const [rows] = await conn.query<RowDataPacket[]>(`SELECT 1 FROM ${qualified(schema, table)} LIMIT 1`);
  return rows.length > 0;
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
  reportCheckpoint: (c: TableCheckpoint) => void,
  /** The table's definition, read for the whole batch at once; undefined when it is gone. */
  known: TableMeta | undefined,
  /** Target columns that may store a source value changed without an error (definition-drift.ts). */
  lossy: LossyColumn[] = [],
  /** The target's definition, read for the whole batch at once (the run's verification uses it). */
  targetMeta?: TableMeta,
): Promise<TableRunResult> {
  const started = Date.now();
  // The latest checkpoint, heartbeated again while the run's verification goes on (a retry then
  // resumes where the copy stood, never before it).
  let last: TableCheckpoint = resume ?? { key: work.key, rows: 0 };
  const report = (c: TableCheckpoint): void => {
    last = c;
    reportCheckpoint(c);
  };
  const result: TableRunResult = {
    key: work.key, status: 'In Progress', fullLoadRows: 0, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: false,
  };
  const conn = await io.target.getConnection();
  // This attempt alone writes the table, and no range attempt of this or an earlier run may either:
  // a run whose range failed moves on while the other ranges still copy.
  const mayHaveRanges = !!work.precopied || (work.full && work.splittable && work.estimatedRows >= io.copy.largeTableRows);
  const claims = [claimName(work.targetSchema, work.table), ...(mayHaveRanges ? rangeClaims(work.targetSchema, work.table, MAX_RANGES_PER_TABLE) : [])];
  try {
    await prepareTargetSession(conn);
    await claimTable(conn, claims, () => reportCheckpoint(last), io.signal);
    if (!known) throw tableGone(work.sourceSchema, work.table);
    const meta = known;
    const columns = copyColumns(meta).map((c) => c.name);
    const key = meta.primaryKey;
    const base = {
      sourcePool: io.source, sourceSchema: work.sourceSchema, targetConn: conn, targetSchema: work.targetSchema, table: work.table, columns, signal: io.signal,
      keepFrom: work.keepFrom, approx: approximateColumns(meta), lossy,
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

    const check: CaptureCheck = {
      tableId: io.sourceTableIds?.get(work.key),
      targetHasRows: () => targetHasRows(conn, work.targetSchema, work.table),
      onWait: () => reportCheckpoint(last),
    };
    const precopied = work.full ? work.precopied : undefined;
    let capture: CaptureEntry;
    if (precopied) {
      // The key ranges copied under the capture they checked. One lost since cannot be put back
      // here without copying again: the next run (a full load again) puts it back before its ranges.
      const found = await findCapture(io.site.store, io.tenant, meta.schema, meta.name);
      // A range that put a lost capture back dropped the log the ranges finished before it copied under.
      const mixed = found && precopied.captureIds?.some((c) => c !== found.id) ? 'put back while other key ranges were copied' : undefined;
      const cause = mixed ?? (found?.complete ? await captureLost(io.site, found, meta, check) : 'not installed');
      if (!found || cause) {
        return Object.assign(result, {
          status: 'Failed', fullLoadDone: false,
          errorMessage: `change capture was lost during this run's copy (${cause}): the next run puts it back and copies the table again in full`,
        });
      }
      capture = found;
    } else {
      capture = await ensureCapture(io.site, io.tenant, meta, check);
    }
    // A capture (re)installed since the table's last full copy: its log misses what came before.
    const owed = capture.copyOwed;
    const full = work.full || owed !== undefined;
    let firstError: string | undefined;
    if (precopied) {
      result.fullLoadRows = precopied.rows;
      firstError = precopied.firstError;
    } else if (full) {
      // Where an earlier attempt's committed batches reached: the durable checkpoint written after
      // each batch (never the throttled heartbeat), if it was made under the same capture and copy owed.
      const copyId = copyIdOf(io.tenant, work.targetSchema, work.table, 'table', io.copyOf);
      const prior = resumable(await readCopyCheckpoint(conn, copyId), capture);
      const checkpoint = (p: { rows: number; lastKey?: KeyValue[]; firstError?: string }, done: boolean): CopyCheckpoint => ({
        rows: (prior?.rows ?? 0) + p.rows, rejected: 0, lastKey: p.lastKey ?? prior?.lastKey, captureId: capture.id, owed: capture.copyOwed,
        firstError: prior?.firstError ?? p.firstError, done,
      });
      const copied = prior?.done
        ? { ...prior, rows: 0 }
        : await copyRows({
          ...base, ...batch, key,
          after: prior?.lastKey,
          onRejected: (keys) => requeueKeys(io.site.store, capture, key, keys),
          onCommitted: (p) => saveCopyCheckpoint(conn, copyId, checkpoint(p, false)),
          onProgress: (p) => report({ key: work.key, rows: (prior?.rows ?? 0) + p.rows, lastKey: p.lastKey, captureId: capture.id }),
        });
      const done = checkpoint(copied, true);
      if (!prior?.done) await saveCopyCheckpoint(conn, copyId, done);
      result.fullLoadRows = done.rows;
      firstError = done.firstError;
      result.lastSyncPosition = done.lastKey ? `key ${done.lastKey.join(',')}` : undefined;
    }
    if (owed !== undefined) await captureCopied(io.site.store, capture);
    result.fullLoadDone = true;

    // Rows the target rejected during the load were put back in the log, so the drain retries
    // them and its count is the number of rows that are not on the target now.
    const verifying: RunVerifyIo | undefined = io.verify && {
      source: io.source, target: io.target, site: io.site, tenant: io.tenant, chunkRows: io.verify.chunkRows, runsPerPass: io.verify.runsPerPass,
      maxChunksPerRun: io.verify.maxChunksPerRun ?? 100, signal: io.signal,
      onChunk: () => reportCheckpoint(last),
    };
    const drained = await applyDeltas({
      ...base, key, capture, logPool: io.site.store, batchRows: io.copy.writeBatchRows, check: verifying && ((keys) => checkApplied(verifying, work, meta, keys, targetMeta)),
    });
    // The next slice of the table compared with its source: every table in full every few runs. A
    // table loaded in full starts a new pass: what an older pass compared was replaced.
    if (verifying && full) await forgetSlice(io.target, io.tenant, work);
    if (verifying) result.verification = await verifySlice(verifying, work, meta, targetMeta);
    Object.assign(result, { inserts: drained.inserts, updates: drained.updates, deletes: drained.deletes, errors: drained.errors });
    if (drained.lastSeq) result.lastSyncPosition = `change log seq ${drained.lastSeq}`;
    const hasRows = !full || result.fullLoadRows + drained.inserts + drained.updates > 0;
    // A copy forced by a lost capture, a TRUNCATE or a schema change is news; inside a full load the
    // table was being copied whole anyway, so whatever made it owed is covered, and none.
    const notice = owed !== undefined && !work.full ? owed : undefined;
    const unequal = drained.unequal > 0
      ? `${drained.unequal} rows applied but not equal to the source afterwards (e.g. ${drained.unequalExamples.join(', ')}): something on the target changes them; ` +
        'once the cause is gone, `cm verify --repair` makes them equal'
      : undefined;
    result.status = tableStatus(hasRows, result.errors, notice ?? unequal ?? work.warning);
    const rejected = result.errors > 0 ? `${result.errors} rows rejected by the target; first: ${drained.firstError ?? firstError}` : undefined;
    if (notice || rejected || unequal) result.errorMessage = [notice, unequal, rejected].filter(Boolean).join('; ');
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
