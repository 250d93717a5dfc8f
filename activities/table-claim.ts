// One writer per table at a time, even across retries. Temporal retries an activity when its
// heartbeats stop arriving, but the earlier attempt may still be alive (its worker lost Temporal,
// not MySQL). Two attempts writing one table can undo each other: the older one writes a row it
// read before the newer one applied (and removed from the log) a later change of it. So a writer
// holds a named lock on the very session it writes through, and a newer attempt kills the session
// of whoever holds it: after that the older attempt cannot write anything.
import { createHash } from 'node:crypto';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';

/** GET_LOCK names are at most 64 characters: a hash of the table's name on the target. */
export const claimName = (targetSchema: string, table: string, part?: string): string =>
  `cm:${createHash('sha1').update(`${targetSchema}\u0000${table}\u0000${part ?? ''}`).digest('hex')}`;

async function holderOf(conn: PoolConnection, name: string): Promise<number | undefined> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS holder, CONNECTION_ID() AS me', [name]);
  const holder = rows[0].holder === null ? undefined : Number(rows[0].holder);
  return holder === Number(rows[0].me) ? undefined : holder;
}

/**
 * Takes the named locks on `conn`, killing the session of any other holder first. Waits for a
 * holder it may not kill (another account's session), calling `beat` while it waits.
 */
export async function claimTable(conn: PoolConnection, names: string[], beat: () => void = () => undefined, signal?: AbortSignal): Promise<void> {
  for (const name of names) {
    let [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [name]);
    while (Number(rows[0].got) !== 1) {
      signal?.throwIfAborted();
      const holder = await holderOf(conn, name);
      if (holder !== undefined) {
        // The older attempt's session: its open transaction rolls back and its next write fails.
        await conn.query('KILL CONNECTION ?', [holder]).catch(() => undefined); // gone meanwhile, or not ours to kill: then wait
      }
      [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 5) AS got', [name]);
      beat();
    }
  }
}

/**
 * Lets go of the locks and hands the session back. A session that cannot (killed by a newer
 * attempt, or broken) is destroyed instead: it must not go back to the pool holding a lock.
 */
export async function releaseTable(conn: PoolConnection, names: string[]): Promise<void> {
  try {
    for (const name of names) await conn.query('SELECT RELEASE_LOCK(?)', [name]);
  } catch {
    conn.destroy();
    return;
  }
  conn.release();
}
