// Contract item 7: identifiers with dots, backticks, quotes, spaces and unicode go through setup,
// change capture (trigger names and log tables), the full copy and the deltas like any other.
import { createTenant, getStatus, runMigrationNow, waitForRun } from '../../client/operations';
import { id, qualified } from '../../activities/sql';
import { expectSameTable } from '../helpers';
import { tenantFixture } from '../fixture';

const f = tenantFixture('ids');
const { src, tenant, dst } = f;
const TABLES = ['dot.ted', 'back`tick', `quo"te 'x'`, 'ünïcødé tàble'];
const key = id('k.e`y'); // the primary key column: a dot and a backtick

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  for (const t of TABLES) {
    await f.pool.query(
      `CREATE TABLE ${qualified(src, t)} (${key} VARCHAR(20) NOT NULL PRIMARY KEY, ${id('va"l ü')} VARCHAR(50) NOT NULL, ${id('a.b')} INT NULL)`,
    );
    await f.pool.query(`INSERT INTO ${qualified(src, t)} VALUES ?`, [Array.from({ length: 20 }, (_, i) => [`k${i}`, `value ${i} ' " \` ü`, i])]);
  }
});

it('migrates tables and columns with odd names, then their inserts, updates, deletes and key changes', async () => {
  const { status } = await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }] });
  expect(status.status).toBe('Ready');
  expect(status.tables.map((t) => t.table).sort()).toEqual([...TABLES].sort());
  expect((await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }))).status).toBe('Completed');
  for (const t of TABLES) await expectSameTable(f.pool, [src, t], [dst, t]);

  for (const t of TABLES) {
    await f.pool.query(`INSERT INTO ${qualified(src, t)} VALUES ('new', 'inserted', 1)`);
    await f.pool.query(`UPDATE ${qualified(src, t)} SET ${id('va"l ü')} = 'updated' WHERE ${key} = 'k1'`);
    await f.pool.query(`DELETE FROM ${qualified(src, t)} WHERE ${key} = 'k2'`);
    await f.pool.query(`UPDATE ${qualified(src, t)} SET ${key} = 'k3-moved' WHERE ${key} = 'k3'`);
  }
  const delta = await runMigrationNow(f.client, tenant, { requestedBy: 'jest' });
  expect(delta.kind).toBe('delta');
  expect((await waitForRun(f.client, tenant, delta)).status).toBe('Completed');
  for (const t of TABLES) await expectSameTable(f.pool, [src, t], [dst, t]);
  const page = await getStatus(f.client, tenant);
  // 'new' inserted; k1 updated; k2 deleted; k3's key change is its old key deleted and its new key updated.
  for (const t of page.tables) expect(t).toMatchObject({ status: 'Successful', inserts: 1, updates: 2, deletes: 2 });
});
