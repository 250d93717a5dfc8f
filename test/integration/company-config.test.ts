// Company configuration (tables included and excluded, the oldest year of historical transactions)
// and Rerun Detail Snapshot: the target holds exactly the configured part of the source, through the
// full copy, the deltas (a row dated out of range leaves the target) and a snapshot after a change.
import type { RowDataPacket } from 'mysql2/promise';
import { buildAudit } from '../../client/audit';
import { createTenant, getStatus, rerunDetailSnapshot, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import { configureCompaniesUpdate } from '../../workflows/messages';
import { tenantFixture } from '../fixture';
import { count, expectSameTable, expectTableRowsMatchPage } from '../helpers';

const f = tenantFixture('cfg');
// Issue 12: the table rows on the target say what the page says after every step.
afterEach(() => expectTableRowsMatchPage(f.pool, f.client, f.tenant), 120_000);
const { src, tenant, dst } = f;

/** The entry numbers on the target, and what they should be: the source's rows from `from` on, and undated rows. */
async function entries(schema: string, from?: string): Promise<number[]> {
  const where = from ? 'WHERE posting_date >= ? OR posting_date IS NULL' : '';
  const [rows] = await f.pool.query<RowDataPacket[]>(`SELECT entry_no FROM ${schema}.gl_entry ${where} ORDER BY entry_no`, from ? [from] : []);
  return rows.map((r) => Number(r.entry_no));
}

async function runToEnd(): Promise<void> {
  expect((await waitForRun(f.client, tenant, await runMigrationNow(f.client, tenant, { requestedBy: 'jest' }))).status).toBe('Completed');
}

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  await f.pool.query(`CREATE TABLE ${src}.gl_entry (entry_no INT PRIMARY KEY, posting_date DATE NULL, amount DECIMAL(12,2) NOT NULL)`);
  // 2016-01-05 … 2024-12-05: six entries a year, and one undated entry.
  const rows = Array.from({ length: 54 }, (_, i) => [i + 1, `${2016 + Math.floor(i / 6)}-${String(1 + (i % 6) * 2).padStart(2, '0')}-05`, `${i}.10`]);
  await f.pool.query(`INSERT INTO ${src}.gl_entry VALUES ?`, [[...rows, [100, null, '1.00']]]);
  await f.pool.query(`CREATE TABLE ${src}.customer (no VARCHAR(20) PRIMARY KEY, name VARCHAR(40) NOT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.customer VALUES ('C1', 'One'), ('C2', 'Two')`);
  await f.pool.query(`CREATE TABLE ${src}.customer_archive (no VARCHAR(20) PRIMARY KEY, name VARCHAR(40) NOT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.customer_archive VALUES ('C0', 'Zero')`);
});

it('excluded tables are Not Migrated with the reason; historical rows before the oldest year stay on-premises', async () => {
  const { status } = await createTenant(f.client, f.taskQueue, {
    tenant, companies: [{ source: src, excludeTables: ['*_archive'], oldestYear: 2021 }], requestedBy: 'jest',
  });
  expect(status.companies[0]).toMatchObject({ source: src, excludeTables: ['*_archive'], oldestYear: 2021 });
  const archive = status.tables.find((t) => t.table === 'customer_archive')!;
  expect(archive).toMatchObject({
    status: 'Not Migrated', notMigratedReason: `excluded by the company configuration of ${src}: matches excludeTables pattern *_archive`,
  });
  expect(status.tables.find((t) => t.table === 'gl_entry')).toMatchObject({ history: true, keepFrom: { column: 'posting_date', from: '2021-01-01' } });
  expect(status.tables.find((t) => t.table === 'customer')?.history).toBeUndefined();

  await runToEnd();
  expect(await entries(dst)).toEqual(await entries(src, '2021-01-01'));
  expect(await entries(dst)).toContain(100); // the undated entry
  expect(await entries(dst)).toHaveLength(4 * 6 + 1);
  await expectSameTable(f.pool, [src, 'customer'], [dst, 'customer']);
  const [tables] = await f.pool.query<RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [dst]);
  expect(tables.map((r) => r.t).sort()).toEqual(['customer', 'gl_entry']);
});

it('deltas keep to the oldest year: a row dated back before it leaves the target, one dated forward arrives', async () => {
  await f.pool.query(`UPDATE ${src}.gl_entry SET posting_date = '2019-06-30' WHERE entry_no = 40`); // 2022 → 2019: leaves
  await f.pool.query(`UPDATE ${src}.gl_entry SET posting_date = '2023-02-28' WHERE entry_no = 3`); // 2016 → 2023: arrives
  await f.pool.query(`UPDATE ${src}.gl_entry SET amount = 5 WHERE entry_no = 2`); // old, stays old: not on the target
  await f.pool.query(`INSERT INTO ${src}.gl_entry VALUES (200, '2018-01-01', 1), (201, '2025-01-01', 2)`);
  await f.pool.query(`DELETE FROM ${src}.gl_entry WHERE entry_no = 50`);
  await runToEnd();
  const on = await entries(dst);
  expect(on).toEqual(await entries(src, '2021-01-01'));
  expect(on).toEqual(expect.arrayContaining([3, 201]));
  expect(on).not.toEqual(expect.arrayContaining([40]));
  expect(on.filter((n) => [2, 40, 50, 200].includes(n))).toEqual([]);
});

it('a new configuration: setup again, the excluded table loses its capture, and Rerun Detail Snapshot applies the new oldest year', async () => {
  const companies = await tenantHandle(f.client, tenant).executeUpdate(configureCompaniesUpdate, {
    args: [{ companies: [{ source: src, excludeTables: ['customer'], oldestYear: 2019 }], requestedBy: 'jest', reason: 'keep two more years' }],
  });
  expect(companies).toEqual([{ source: src, target: dst, excludeTables: ['customer'], oldestYear: 2019 }]);
  const status = await getStatus(f.client, tenant);
  expect(status.tables.find((t) => t.table === 'customer')).toMatchObject({ status: 'Not Migrated' });
  expect(status.tables.find((t) => t.table === 'customer_archive')).toMatchObject({ status: 'Not Started' });
  const [triggers] = await f.pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?', [src, 'customer'],
  );
  expect(Number(triggers[0].n)).toBe(0);

  // A delta alone does not bring back 2019–2020: that is what the snapshot is for.
  const snap = await rerunDetailSnapshot(f.client, tenant, { requestedBy: 'jest', reason: 'oldest year is now 2019' });
  expect(snap).toMatchObject({ tables: 1, kind: 'full' });
  expect((await waitForRun(f.client, tenant, snap)).status).toBe('Completed');
  expect(await entries(dst)).toEqual(await entries(src, '2019-01-01'));
  expect(await count(f.pool, dst, 'customer_archive')).toBe(1);
  const events = await buildAudit(f.client, tenant);
  expect(events.find((e) => e.kind === 'update.configureCompanies')).toMatchObject({
    actor: 'jest', reason: 'keep two more years', summary: expect.stringContaining(`→ companies ${src} → ${dst} (excluding customer; history from 2019)`),
  });
  expect(events.find((e) => e.kind === 'update.rerunDetailSnapshot')?.summary).toContain(`→ ${snap.workflowId} (full)`);
  const after = await getStatus(f.client, tenant);
  expect(after.tables.find((t) => t.table === 'gl_entry')).toMatchObject({ status: 'Successful', fullLoadRows: (await entries(src, '2019-01-01')).length });
});
