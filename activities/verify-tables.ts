// The verification's activity: compares a batch of tables one after another (table-diff.ts), and
// with repair makes each differing row equal to the source the way a change is applied (syncKeys).
// Where it stands is heartbeated after every chunk, so a retry resumes at the next chunk.
import { storeVerification } from './table-store';
import { Context } from '@temporalio/activity';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { CAPTURE_SCHEMA } from '../lib/constants';
import type { CaptureMode, TableVerification, TableWork, VerifySettings } from '../lib/types';
import { captureSiteFor } from './capture-site';
import { findCapture, type CaptureSite } from './capture';
import type { ConnectionRegistry } from './connections';
import { syncKeys } from './delta';
import { approximateColumns, copyColumns, readTables, type TableMeta } from './introspect';
import { errorText, isTableError, keyIn, keyString, qualified, reviveKey, selectList, type KeyValue } from './sql';
import { diffTable, type DiffProgress } from './table-diff';
import { claimName, claimTable, releaseTable } from './table-claim';
import { prepareTargetSession } from './writer';
import { forgetSlice } from './run-verify';

export interface VerifyTablesInput {
  tenant: string;
  /** How the tenant captures changes (absent: triggers). */
  capture?: CaptureMode;
  sourceConnection: string;
  targetConnection: string;
  tables: TableWork[];
  repair: boolean;
  settings: VerifySettings;
  /** Write each table's outcome into its row on the target (absent in verifications from before the rows). */
  rows?: boolean;
}

interface Checkpoint {
  done: TableVerification[];
  current?: { key: string; progress: DiffProgress };
}

/** The captured changes still pending for these keys: keyString → op ('R': a row the target rejected). */
export async function pendingOps(site: CaptureSite, tenant: string, meta: TableMeta, keys: KeyValue[][]): Promise<Map<string, string>> {
  const ops = new Map<string, string>();
  if (keys.length === 0 || meta.primaryKey.length === 0) return ops;
  // Binlog mode: what was committed until now is staged first, so a change made a moment ago counts as pending.
  await site.catchUp?.();
  const store = site.store;
  const capture = await findCapture(store, tenant, meta.schema, meta.name);
  if (!capture) return ops;
  const approx = approximateColumns(meta);
  const sel = keyIn(meta.primaryKey, keys, approx);
  const [rows] = await store.query<RowDataPacket[]>({
    sql: `SELECT op, ${selectList(meta.primaryKey, approx)} FROM ${qualified(CAPTURE_SCHEMA, capture.logTable)} WHERE ${sel.sql}`,
    values: sel.params,
    rowsAsArray: true,
  });
  for (const r of rows as unknown as unknown[][]) {
    const k = keyString(r.slice(1));
    // A real change pending wins over a rejection: the next run applies it.
    if (!ops.has(k) || ops.get(k) === 'R') ops.set(k, String(r[0]));
  }
  return ops;
}

export function createVerifyActivities(conns: ConnectionRegistry) {
  return {
    async verifyTables(input: VerifyTablesInput): Promise<TableVerification[]> {
      const ctx = Context.current();
      const checkpoint = (ctx.info.heartbeatDetails as Checkpoint | undefined) ?? { done: [] };
      const source = conns.pool(input.sourceConnection);
      const target = conns.pool(input.targetConnection);
      const site = captureSiteFor(conns, input, () => ctx.heartbeat(checkpoint));
      const todo = input.tables.filter((w) => !checkpoint.done.some((d) => d.key === w.key));
      // Both sides' definitions for the whole batch at once, not per table.
      const names = [...new Set(todo.map((w) => w.table))];
      const metas = await readTables(source, [...new Set(todo.map((w) => w.sourceSchema))], names);
      const targets = await readTables(target, [...new Set(todo.map((w) => w.targetSchema))], names);
      for (const work of todo) {
        const resume = checkpoint.current?.key === work.key ? checkpoint.current.progress : undefined;
        const targetMeta = targets.get(`${work.targetSchema}.${work.table}`) ?? null;
        const result = await verifyTable(input, site, source, target, work, metas.get(work.key), targetMeta, resume, (progress) => {
          checkpoint.current = { key: work.key, progress };
          ctx.heartbeat(checkpoint);
        });
        checkpoint.done.push(result);
        checkpoint.current = undefined;
        ctx.heartbeat(checkpoint);
      }
      if (input.rows) await storeVerification(target, input.tenant, checkpoint.done);
      return checkpoint.done;
    },

    /** Tables a verification could not compare (its activity gave up): their rows say so. */
    async recordVerifications(input: { tenant: string; targetConnection: string; results: TableVerification[] }): Promise<void> {
      await storeVerification(conns.pool(input.targetConnection), input.tenant, input.results);
    },
  };
}

async function verifyTable(
  input: VerifyTablesInput, site: CaptureSite, source: Pool, target: Pool, work: TableWork, meta: TableMeta | undefined, targetMeta: TableMeta | null,
  resume: DiffProgress | undefined, beat: (p: DiffProgress) => void,
): Promise<TableVerification> {
  const result: TableVerification = {
    key: work.key, status: 'Failed', at: '', missing: 0, extra: 0, different: 0, rejected: 0, repaired: 0, examples: [], definition: [],
    rowsCompared: 0, chunks: 0, pending: 0, pauses: 0, pausedMs: 0,
  };
  const signal = Context.current().cancellationSignal;
  // With repair, this verification writes the table: it claims it like a run's writer does.
  let conn: PoolConnection | undefined;
  const claims = [claimName(work.targetSchema, work.table)];
  try {
    if (!meta) throw Object.assign(new Error(`table ${work.key} no longer exists on the source`), { sqlState: '42S02' });
    if (input.repair) {
      conn = await target.getConnection();
      await prepareTargetSession(conn);
      await claimTable(conn, claims, () => Context.current().heartbeat(), signal);
    }
    const pair = {
      sourcePool: source, sourceSchema: work.sourceSchema, targetSchema: work.targetSchema, table: work.table,
      columns: copyColumns(meta).map((c) => c.name), key: meta.primaryKey, approx: approximateColumns(meta), keepFrom: work.keepFrom,
    };
    const diff = await diffTable({
      sourcePool: source, sourceSchema: work.sourceSchema, targetPool: target, targetSchema: work.targetSchema, table: work.table,
      source: meta, target: targetMeta, chunkRows: input.settings.chunkRows, keepFrom: work.keepFrom, signal,
      after: resume?.lastKey ? reviveKey(resume.lastKey) : undefined,
      pending: (keys) => pendingOps(site, input.tenant, meta, keys),
      repair: conn ? async (keys) => {
        const out = await syncKeys({ ...pair, targetConn: conn! }, keys);
        return { repaired: out.written.length + out.deleted, rejected: out.rejected.size, firstError: out.firstError };
      } : undefined,
      throttle: { maxThreadsRunning: input.settings.maxThreadsRunning, pauseMs: input.settings.pauseMs, maxPauseMs: input.settings.maxPauseMs },
      onChunk: beat,
    }, resume);
    const left = diff.missing + diff.extra + diff.different - diff.repaired;
    Object.assign(result, {
      missing: diff.missing, extra: diff.extra, different: diff.different, rejected: diff.rejected, repaired: diff.repaired, pending: diff.pending,
      examples: diff.examples, rowsCompared: diff.rowsCompared, chunks: diff.chunks, pauses: diff.pauses, pausedMs: diff.pausedMs,
      definition: diff.definition, status: left > 0 || diff.definition.length > 0 ? 'Differs' : 'Verified', error: diff.repairError,
    });
    // The runs' rolling pass starts over after this comparison, so it cannot call equal what this one did not.
    await forgetSlice(target, input.tenant, work);
  } catch (err) {
    if (!isTableError(err)) throw err;
    result.status = 'Failed';
    result.error = errorText(err);
  } finally {
    result.at = new Date().toISOString();
    if (conn) await releaseTable(conn, claims);
  }
  return result;
}
