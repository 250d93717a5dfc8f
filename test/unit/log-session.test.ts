// withLogSession: the change-log writes' session mode, and what goes back to the pool.
import type { Pool } from 'mysql2/promise';
import { withLogSession } from '../../activities/capture';
import { LOG_SQL_MODE } from '../../lib/constants';

/** A pooled session that records its statements; `failRestore` makes putting the mode back fail. */
function fakePool(opts: { failRestore?: boolean } = {}) {
  const statements: unknown[][] = [];
  const session = { released: false, destroyed: false };
  let sets = 0;
  const conn = {
    query: async (sql: string, values?: unknown[]) => {
      statements.push([sql, ...(values ?? [])]);
      if (sql.startsWith('SELECT @@SESSION.sql_mode')) return [[{ mode: 'STRICT_ALL_TABLES,NO_ZERO_DATE' }], []];
      if (sql.startsWith('SET SESSION sql_mode') && ++sets === 2 && opts.failRestore) throw new Error('connection lost');
      return [[], []];
    },
    release: () => (session.released = true),
    destroy: () => (session.destroyed = true),
  };
  return { pool: { getConnection: async () => conn } as unknown as Pool, statements, session };
}

it('writes in the log mode and gives the session back in its own', async () => {
  const { pool, statements, session } = fakePool();
  expect(await withLogSession(pool, async (c) => (await c.query('INSERT INTO log VALUES (?)', ['0000-00-00']), 'done'))).toBe('done');
  expect(statements).toEqual([
    ['SELECT @@SESSION.sql_mode AS mode'],
    ['SET SESSION sql_mode = ?', LOG_SQL_MODE],
    ['INSERT INTO log VALUES (?)', '0000-00-00'],
    ['SET SESSION sql_mode = ?', 'STRICT_ALL_TABLES,NO_ZERO_DATE'],
  ]);
  expect(session).toEqual({ released: true, destroyed: false });
});

it('a session whose mode cannot be put back is destroyed, and the write\'s own error is the one reported', async () => {
  const { pool, session } = fakePool({ failRestore: true });
  await expect(withLogSession(pool, async () => {
    throw new Error('Duplicate entry');
  })).rejects.toThrow('Duplicate entry');
  expect(session).toEqual({ released: false, destroyed: true });
});
