// Issue 11, deliver 6: a target schema that cm did not create for the tenant is refused. A tester
// pointed a company's target at an unrelated schema: a run wrote into it and Reset Cloud Data
// emptied it. Setup now refuses a schema holding tables nobody recorded putting there, or owned by
// another tenant, naming the schema, its tables and the way out; an empty schema is adopted; the
// same tenant deleted and created again keeps its schema; a reset empties only the tenant's schemas.
import type { RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import { claimTargetSchemas, emptyTargetTables, TargetRefused } from '../../activities/target-schema';
import { tableDigest } from '../../activities/verify';
import { CONTROL_SCHEMA } from '../../lib/constants';
import { tenantFixture } from '../fixture';
import { dropSchemas, dropTenantState, expectSameTable, uniqueName } from '../helpers';

const foreign = uniqueName('own_foreign');
const empty = uniqueName('own_empty');
const legacy = uniqueName('own_legacy');
const others: string[] = [];
const f = tenantFixture('own', {
  cleanup: async (fx) => {
    for (const t of others) {
      await tenantHandle(fx.client, t).terminate('test done').catch(() => undefined);
      await dropTenantState(fx.pool, t);
    }
    await dropSchemas(fx.pool, foreign, empty, legacy);
  },
});
const { src, tenant, dst } = f;

const other = (suffix: string): string => {
  const name = `${tenant}_${suffix}`;
  others.push(name);
  return name;
};

const owner = async (schema: string): Promise<string | undefined> => {
  const [rows] = await f.pool.query<RowDataPacket[]>(`SELECT tenant FROM ${CONTROL_SCHEMA}.target_owner WHERE target_schema = ?`, [schema]);
  return rows[0] ? String(rows[0].tenant) : undefined;
};

async function run(who: string): Promise<void> {
  const ran = await waitForRun(f.client, who, await runMigrationNow(f.client, who, { requestedBy: 'jest' }));
  expect(ran.status).toBe('Completed');
}

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  await f.pool.query(`CREATE TABLE ${src}.item (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.item VALUES (1, 'one'), (2, 'two'), (3, 'three')`);
  // Someone else's schema: six tables, some with rows, one holding nothing.
  await f.pool.query(`CREATE SCHEMA ${foreign}`);
  for (const t of ['item', 'orders', 'parts', 'people', 'places', 'zz_empty']) {
    await f.pool.query(`CREATE TABLE ${foreign}.${t} (id INT PRIMARY KEY, v VARCHAR(20))`);
  }
  await f.pool.query(`INSERT INTO ${foreign}.item VALUES (1, 'not ours'), (99, 'not ours either')`);
  await f.pool.query(`INSERT INTO ${foreign}.orders VALUES (7, 'theirs')`);
});

it('a schema holding tables cm did not create for the tenant is refused at setup, and left untouched', async () => {
  const before = { item: await tableDigest(f.pool, foreign, 'item'), orders: await tableDigest(f.pool, foreign, 'orders') };
  const intruder = other('b');
  const { status } = await createTenant(f.client, f.taskQueue, { tenant: intruder, companies: [{ source: src, target: foreign }] });
  expect(status.status).toBe('Setup Failed');
  expect(status.setupError).toContain(`target schema '${foreign}'`);
  expect(status.setupError).toMatch(/6 tables/);
  expect(status.setupError).toMatch(/item, orders, parts/);
  expect(status.setupError).toMatch(/zz_empty|and \d+ more/);
  expect(status.setupError).toMatch(/choose another target schema/);
  expect(status.setupError).toMatch(/empty it/);
  expect({ item: await tableDigest(f.pool, foreign, 'item'), orders: await tableDigest(f.pool, foreign, 'orders') }).toEqual(before);
  expect(await owner(foreign)).toBeUndefined();
  // Empty tables are tables all the same: a schema of empty tables someone else made is not adopted.
  await expect(claimTargetSchemas(f.pool, intruder, [`${foreign}`])).rejects.toThrow(TargetRefused);
});

it('an empty existing schema is adopted, and its tenant migrates into it', async () => {
  await f.pool.query(`CREATE SCHEMA ${empty}`);
  const adopter = other('c');
  const { status } = await createTenant(f.client, f.taskQueue, { tenant: adopter, companies: [{ source: src, target: empty }] });
  expect(status.status).toBe('Ready');
  expect(await owner(empty)).toBe(adopter);
  await run(adopter);
  await expectSameTable(f.pool, [src, 'item'], [empty, 'item']);
  await tenantHandle(f.client, adopter).terminate('done with it');
});

it('the same tenant deleted and created again keeps its schema; its setup may run twice', async () => {
  const first = await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }] });
  expect(first.status.status).toBe('Ready');
  await run(tenant);
  expect(await owner(dst)).toBe(tenant);
  await expectSameTable(f.pool, [src, 'item'], [dst, 'item']);

  await tenantHandle(f.client, tenant).terminate('deleted by the operator');
  const again = await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }] });
  expect(again.status.status).toBe('Ready');
  // A new tenant of the same name starts over: the first tenant's rows on the target (loaded, counts)
  // are not taken for its own, and its first run is a full copy, not deltas over a copy it never made.
  expect(again.status.tables.map((t) => [t.table, t.status, t.fullLoadDone, t.fullLoadRows])).toEqual([['item', 'Not Started', false, 0]]);
  await f.pool.query(`INSERT INTO ${src}.item VALUES (4, 'four')`);
  const started = await runMigrationNow(f.client, tenant, { requestedBy: 'jest' });
  expect(started.kind).toBe('full');
  expect((await waitForRun(f.client, tenant, started)).status).toBe('Completed');
  await expectSameTable(f.pool, [src, 'item'], [dst, 'item']);
  await claimTargetSchemas(f.pool, tenant, [dst]); // a retried setup: its own schema again
  expect(await owner(dst)).toBe(tenant);
});

it("a second tenant pointing at the first tenant's target schema is refused", async () => {
  const before = await tableDigest(f.pool, dst, 'item');
  const second = other('d');
  const { status } = await createTenant(f.client, f.taskQueue, { tenant: second, companies: [{ source: src, target: dst }] });
  expect(status.status).toBe('Setup Failed');
  expect(status.setupError).toContain(`target schema '${dst}' holds the data of tenant '${tenant}'`);
  expect(status.setupError).toMatch(/choose another target schema/);
  expect(await tableDigest(f.pool, dst, 'item')).toBe(before);
  expect(await owner(dst)).toBe(tenant);
  expect((await getStatus(f.client, tenant)).status).toBe('Upgrade Pending'); // unchanged: its run completed
});

it("Reset Cloud Data empties only the tenant's own schemas", async () => {
  const before = await tableDigest(f.pool, foreign, 'item');
  await expect(emptyTargetTables(f.pool, [{ schema: foreign, table: 'item' }], () => undefined, tenant)).rejects.toThrow(
    new RegExp(`target schema '${foreign}' is not tenant '${tenant}'s`),
  );
  await expect(emptyTargetTables(f.pool, [{ schema: dst, table: 'item' }, { schema: foreign, table: 'item' }], () => undefined, tenant)).rejects.toThrow(TargetRefused);
  expect(await tableDigest(f.pool, foreign, 'item')).toBe(before);
  expect(await tableDigest(f.pool, dst, 'item')).not.toBe('0:0'); // nothing emptied when one schema is refused
  expect(await emptyTargetTables(f.pool, [{ schema: dst, table: 'item' }], () => undefined, tenant)).toBe(4);
});

it('a schema set up by an older cm (no owner recorded) is adopted only where the control schema proves it is the tenant\'s', async () => {
  const old = uniqueName('own_old');
  others.push(old);
  await f.pool.query(`CREATE SCHEMA ${legacy}`);
  await f.pool.query(`CREATE TABLE ${legacy}.item (id INT PRIMARY KEY, v VARCHAR(20))`);
  await f.pool.query(`INSERT INTO ${legacy}.item VALUES (1, 'old run')`);
  // Another tenant's history in it proves nothing for this one.
  await f.pool.query(
    `INSERT INTO ${CONTROL_SCHEMA}.verify_cursor (tenant, target_schema, table_name, progress) VALUES (?, ?, 'item', '{}')`,
    [`${old}_x`, legacy],
  );
  await expect(claimTargetSchemas(f.pool, old, [legacy])).rejects.toThrow(TargetRefused);
  await f.pool.query(`DELETE FROM ${CONTROL_SCHEMA}.verify_cursor WHERE tenant = ?`, [`${old}_x`]);
  // The tenant's own rows in the control schema for this schema do.
  await f.pool.query(
    `INSERT INTO ${CONTROL_SCHEMA}.verify_cursor (tenant, target_schema, table_name, progress) VALUES (?, ?, 'item', '{}')`,
    [old, legacy],
  );
  await claimTargetSchemas(f.pool, old, [legacy]);
  expect(await owner(legacy)).toBe(old);
  await claimTargetSchemas(f.pool, old, [legacy]); // twice: nothing changes
  expect(await owner(legacy)).toBe(old);
});
