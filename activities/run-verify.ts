// What every run verifies of its own accord, so that a divergence nobody anticipated is caught
// without a separate pass: the rows it just applied (cheap: their hashes on both sides), and the
// next slice of each table's chunks, so that every table is compared in full every few runs (a big
// one in more: a run compares at most maxChunksPerRun chunks of a table, to stay short).
// Where a table's rolling pass stands is kept in cm_control.verify_cursor on the target.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import type { TableWork, VerificationSummary } from '../lib/types';
import type { TableMeta } from './introspect';
import { keyString, qualified, type KeyValue } from './sql';
import { checkKeys, diffTable, type DiffProgress, type DiffSpec } from './table-diff';
import { pendingOps } from './verify-tables';
import type { CaptureSite } from './capture';

const cursors = qualified(CONTROL_SCHEMA, 'verify_cursor');

export interface RunVerifyIo {
  source: Pool;
  target: Pool;
  /** Where pending changes are looked up. */
  site: CaptureSite;
  tenant: string;
  chunkRows: number;
  /** A full pass over a table is spread over this many runs… */
  runsPerPass: number;
  /** …comparing at most this many chunks of a table per run. */
  maxChunksPerRun: number;
  signal?: AbortSignal;
  /** After every chunk compared: the caller heartbeats. */
  onChunk?: () => void;
}

/** `target`: the target's definition when the caller read it with its batch (saves a read per table). */
function diffSpec(io: RunVerifyIo, work: TableWork, meta: TableMeta, target?: TableMeta): DiffSpec {
  return {
    sourcePool: io.source, sourceSchema: work.sourceSchema, targetPool: io.target, targetSchema: work.targetSchema, table: work.table,
    source: meta, target, chunkRows: io.chunkRows, keepFrom: work.keepFrom, signal: io.signal, onChunk: io.onChunk,
    pending: (keys) => pendingOps(io.site, io.tenant, meta, keys),
  };
}

/**
 * The rows a run applied, compared right after: keys that differ and have no captured change
 * pending. Returns how many, and a few of them.
 */
export async function checkApplied(
  io: RunVerifyIo, work: TableWork, meta: TableMeta, keys: KeyValue[][], target?: TableMeta,
): Promise<{ unequal: number; examples: string[] }> {
  if (keys.length === 0 || meta.primaryKey.length === 0) return { unequal: 0, examples: [] };
  const spec = diffSpec(io, work, meta, target);
  const found = await checkKeys(spec, keys);
  const differing = [...found.missing, ...found.extra, ...found.different];
  if (differing.length === 0) return { unequal: 0, examples: [] };
  const ops = await spec.pending!(differing);
  const unexplained = differing.filter((k) => !ops.has(keyString(k)));
  return { unequal: unexplained.length, examples: unexplained.slice(0, 3).map((k) => keyString(k)) };
}

/**
 * Forgets where a table's rolling pass stood: after a full load or a verification, a pass that began
 * before would call chunks compared before them equal.
 */
export async function forgetSlice(target: Pool, tenant: string, work: Pick<TableWork, 'targetSchema' | 'table'>): Promise<void> {
  await target.query(`DELETE FROM ${cursors} WHERE tenant = ? AND target_schema = ? AND table_name = ?`, [tenant, work.targetSchema, work.table]);
}

/**
 * Compares the next slice of the table's chunks (about 1/runsPerPass of the table). Returns the
 * verification to show once the pass is complete, or as soon as a difference is found; undefined
 * while a pass goes on without one.
 */
export async function verifySlice(io: RunVerifyIo, work: TableWork, meta: TableMeta, target?: TableMeta): Promise<VerificationSummary | undefined> {
  if (meta.primaryKey.length === 0) return undefined; // copied whole by every run: nothing to roll over
  const where = [io.tenant, work.targetSchema, work.table];
  const [rows] = await io.target.query<RowDataPacket[]>(`SELECT progress FROM ${cursors} WHERE tenant = ? AND target_schema = ? AND table_name = ?`, where);
  const prior = rows[0] ? (JSON.parse(String(rows[0].progress)) as DiffProgress) : undefined;
  // About 1/runsPerPass of the table, at least 5 chunks, at most maxChunksPerRun: a big table takes more runs.
  const slice = Math.min(io.maxChunksPerRun, Math.max(5, Math.ceil(Math.max(1, work.estimatedRows) / io.chunkRows / io.runsPerPass)));
  const diff = await diffTable({ ...diffSpec(io, work, meta, target), maxChunks: (prior?.chunks ?? 0) + slice }, prior);
  const found = diff.missing + diff.extra + diff.different;
  if (diff.complete || found > 0 || diff.definition.length > 0) {
    // A pass ends when it reaches the end of the table, or at its first difference: the next starts over.
    await io.target.query(`DELETE FROM ${cursors} WHERE tenant = ? AND target_schema = ? AND table_name = ?`, where);
    return {
      status: found > 0 || diff.definition.length > 0 ? 'Differs' : 'Verified', at: new Date().toISOString(),
      missing: diff.missing, extra: diff.extra, different: diff.different, rejected: diff.rejected, repaired: 0, examples: diff.examples,
      definition: diff.definition,
    };
  }
  await io.target.query(
    `INSERT INTO ${cursors} (tenant, target_schema, table_name, progress) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE progress = VALUES(progress)`,
    [...where, JSON.stringify(diff)],
  );
  return undefined;
}
