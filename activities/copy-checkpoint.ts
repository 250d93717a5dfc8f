// Where a full-load copy stands, kept on the target beside the rows it describes. The copy writes it
// after every committed batch, so a retried attempt resumes from what is committed, not from its
// heartbeat: the SDK sends heartbeats at most every 0.8 × the heartbeat timeout, and a worker killed
// at 51% of a copy once had its resume point at 0.5%. At most the batch in flight at the kill is
// written again (REPLACE: the same rows, nothing doubled).
import { Context } from '@temporalio/activity';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { CONTROL_SCHEMA } from '../lib/constants';
import { isMissingObject, qualified, reviveKey, type KeyValue } from './sql';
import { ensureControlSchema } from './target-schema';

/** One copy: the activity that makes it (stable over its retries) and the part of the table it copies. */
export interface CopyId {
  tenant: string;
  targetSchema: string;
  table: string;
  /** `table` for a whole-table load, `range-<n>` for a key range. */
  part: string;
  /** The scheduled activity (workflow id and activity id): a later run's copy never resumes this one's. */
  copy: string;
}

export interface CopyCheckpoint {
  rows: number;
  rejected: number;
  lastKey?: KeyValue[];
  /** The capture the copy ran under, and the full copy it owed then (a TRUNCATE, a lost capture…). */
  captureId: number;
  owed?: string;
  firstError?: string;
  /** The copy reached the end of its part. */
  done: boolean;
}

const TABLE = qualified(CONTROL_SCHEMA, 'copy_checkpoint');

/** The copy of `part` made by the activity `copy` (default: the one now running): its retries share the id, a later run's copy does not. */
export function copyIdOf(tenant: string, targetSchema: string, table: string, part: string, copy = currentActivityId()): CopyId {
  return { tenant, targetSchema, table, part, copy };
}

/**
 * The checkpoint a retry may resume from: only one made under the same capture owing the same copy.
 * Rows copied before the capture was put back, or before a TRUNCATE or a schema change made a new
 * full copy owed, may be stale: such a copy starts over.
 */
export function resumable(saved: CopyCheckpoint | undefined, capture: { id: number; copyOwed?: string }): CopyCheckpoint | undefined {
  return saved && saved.captureId === capture.id && (saved.owed ?? null) === (capture.copyOwed ?? null) ? saved : undefined;
}

/** The scheduled activity now running (workflow, run, activity id): the same over its retries. */
export function currentActivityId(): string {
  const { workflowExecution, activityId } = Context.current().info;
  return `${workflowExecution?.workflowId}/${workflowExecution?.runId}/${activityId}`;
}

/** The checkpoint this copy left in an earlier attempt, if any. */
export async function readCopyCheckpoint(pool: Pool | PoolConnection, id: CopyId): Promise<CopyCheckpoint | undefined> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT copy_rows, rejected, last_key, capture_id, owed, first_error, done FROM ${TABLE}
        WHERE tenant = ? AND target_schema = ? AND table_name = ? AND part = ? AND copy_id = ?`,
      [id.tenant, id.targetSchema, id.table, id.part, id.copy],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      rows: Number(r.copy_rows), rejected: Number(r.rejected), done: !!r.done,
      lastKey: r.last_key === null ? undefined : reviveKey(JSON.parse(r.last_key) as unknown[]),
      captureId: Number(r.capture_id),
      owed: r.owed ?? undefined,
      firstError: r.first_error ?? undefined,
    };
  } catch (err) {
    if (isMissingObject(err)) return undefined; // a tenant set up before checkpoints: nothing to resume
    throw err;
  }
}

/** Records where the copy stands; called after each committed batch (autocommit, on the copy's own session). */
export async function saveCopyCheckpoint(conn: PoolConnection, id: CopyId, cp: CopyCheckpoint): Promise<void> {
  const write = () => conn.query(
    `REPLACE INTO ${TABLE} (tenant, target_schema, table_name, part, copy_id, copy_rows, rejected, last_key, capture_id, owed, first_error, done)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      id.tenant, id.targetSchema, id.table, id.part, id.copy, cp.rows, cp.rejected, cp.lastKey ? JSON.stringify(cp.lastKey) : null,
      cp.captureId, cp.owed ?? null, cp.firstError?.slice(0, 2000) ?? null, cp.done ? 1 : 0,
    ],
  );
  try {
    await write();
  } catch (err) {
    if (!isMissingObject(err)) throw err;
    await ensureControlSchema(conn);
    await write();
  }
}
