// One writer per table, even when Temporal retries an activity whose earlier attempt is still alive:
// the newer attempt's claim kills the older attempt's session, so the older one cannot write after it.
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { claimName, claimTable, releaseTable } from '../../activities/table-claim';
import { createMysqlPool } from '../../activities/connections';
import { testPool } from '../helpers';

let pool: Pool;
beforeAll(() => {
  pool = testPool();
});
afterAll(async () => {
  await pool.end();
});

const connectionId = async (c: PoolConnection): Promise<number> => Number((await c.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id'))[0][0].id);
const holder = async (name: string): Promise<number | null> => {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS h', [name]);
  return rows[0].h === null ? null : Number(rows[0].h);
};

it('a newer claim on a table kills the older claimant\'s session: the older attempt cannot write any more', async () => {
  const name = claimName('claim_schema', `t_${process.pid}`);
  const older = await pool.getConnection();
  const newer = await pool.getConnection();
  await claimTable(older, [name]);
  expect(await holder(name)).toBe(await connectionId(older));

  await claimTable(newer, [name]);
  expect(await holder(name)).toBe(await connectionId(newer));
  await expect(older.query('SELECT 1')).rejects.toThrow(); // killed: a write through it would fail the same way
  older.destroy();

  await releaseTable(newer, [name]);
  expect(await holder(name)).toBeNull();
});

it('claims of other tables and of other ranges do not touch each other', async () => {
  const a = await pool.getConnection();
  const b = await pool.getConnection();
  const names = [claimName('claim_schema', 'x'), claimName('claim_schema', 'x', 'range-0'), claimName('claim_schema', 'x', 'range-1')];
  expect(new Set(names).size).toBe(3);
  expect(names.every((n) => n.length <= 64)).toBe(true);
  await claimTable(a, [names[1]]);
  await claimTable(b, [names[2]]);
  expect(await holder(names[1])).toBe(await connectionId(a));
  expect(await holder(names[2])).toBe(await connectionId(b));
  await releaseTable(a, [names[1]]);
  await releaseTable(b, [names[2]]);
  expect(await holder(names[1])).toBeNull();
});

it('a claim waits, heartbeating, for a holder it may not kill, and gets the table once it is let go', async () => {
  const name = claimName('claim_schema', `wait_${process.pid}`);
  const user = `claim_${process.pid}`;
  await pool.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [user, '%', 'pw-claim-test']);
  const weak = createMysqlPool(`mysql://${user}:pw-claim-test@127.0.0.1:3306`, { connectionLimit: 1 });
  const holderConn = await pool.getConnection(); // root's session: an account without privileges may not kill it
  try {
    await claimTable(holderConn, [name]);
    const claimant = await weak.getConnection();
    let beats = 0;
    const claim = claimTable(claimant, [name], () => beats++);
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await holder(name)).toBe(await connectionId(holderConn)); // not killed
    await releaseTable(holderConn, [name]);
    await claim;
    expect(beats).toBeGreaterThanOrEqual(1);
    expect(await holder(name)).toBe(await connectionId(claimant));
    await releaseTable(claimant, [name]);
  } finally {
    await weak.end();
    await pool.query('DROP USER IF EXISTS ?@?', [user, '%']);
  }
}, 30_000);
