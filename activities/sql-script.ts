// Runs an operator's SQL script (upgrade step or hotfix) against one schema, cancellably: if the
// activity is cancelled, the running statement is stopped with KILL QUERY from another session.
import type { Connection, Pool } from 'mysql2/promise';
import { id } from './sql';

export async function runScript(
  conn: Connection,
  admin: Pool,
  schema: string,
  script: string | ((conn: Connection) => Promise<void>),
  signal?: AbortSignal,
): Promise<void> {
  await conn.query(`USE ${id(schema)}`);
  const onAbort = (): void => {
    admin.query('KILL QUERY ?', [conn.threadId]).catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    if (typeof script === 'string') await conn.query(script);
    else await script(conn);
    signal?.throwIfAborted(); // an interrupted statement may still "succeed" (SLEEP returns 1)
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
