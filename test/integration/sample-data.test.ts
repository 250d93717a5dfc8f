// The sample on-premises ERP (three companies, ~30 tables each, odd names, generated columns, a MyISAM
// table, a table without a key, zero dates, permission tables) migrated by one tenant: a full run,
// a simulated day of changes in every company, a delta run; the target equals the source throughout,
// except for exactly the rows a strict cloud target must reject.
import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, runMigrationNow, tenantHandle, waitForRun, type FullStatus } from '../../client/operations';
import type { RunKind, StatusPage, TableState } from '../../lib/types';
import { applySampleChanges, type ChangeSummary } from '../../seed/changes';
import { SAMPLE_COMPANIES, seedSourceData } from '../../seed/generate';
import { PERMISSION_TABLES, SAMPLE_TABLES } from '../../seed/schema';
import type { WorkerHandle } from '../../worker/main';
import { tableDigest } from '../../activities/verify';
import { baseTables, count, dropCaptureFor, dropSchemas, expectSameTable, testClient, testPool, testWorker, uniqueName } from '../helpers';

const SEED = 4242;
const prefix = `${uniqueName('sd')}_`;
const tenant = uniqueName('sdt');
const taskQueue = uniqueName('tq_sd');
const companies = SAMPLE_COMPANIES.map((c) => ({ source: `${prefix}${c}`, target: `${tenant}_${prefix}${c}` }));
const ZERO_DATE = "CAST(due_date AS CHAR) = '0000-00-00'";
const NOT_ZERO_DATE = `NOT (${ZERO_DATE})`;
/** Tables copied whole, with nothing to remark on. */
const CLEAN_TABLES = SAMPLE_TABLES.filter((t) => !PERMISSION_TABLES.includes(t) && t !== 'cust_ledger_entry' && t !== 'import_buffer');

let pool: Pool;
let client: Client;
let worker: WorkerHandle;

const tableState = (status: FullStatus, schema: string, table: string): TableState => {
  const row = status.tables.find((t) => t.sourceSchema === schema && t.table === table);
  if (!row) throw new Error(`no status row for ${schema}.${table}`);
  return row;
};

/** Every migrated table equals its source; cust_ledger_entry equals it but for its zero-date rows. */
async function expectTargetEqualsSource(): Promise<void> {
  for (const { source, target } of companies) {
    for (const table of [...CLEAN_TABLES, 'import_buffer']) await expectSameTable(pool, [source, table], [target, table]);
    const zero = await count(pool, source, 'cust_ledger_entry', ZERO_DATE);
    expect(zero).toBe(3);
    expect(await count(pool, target, 'cust_ledger_entry')).toBe((await count(pool, source, 'cust_ledger_entry')) - zero);
    expect(await tableDigest(pool, target, 'cust_ledger_entry', NOT_ZERO_DATE)).toBe(await tableDigest(pool, source, 'cust_ledger_entry', NOT_ZERO_DATE));
  }
}

/** Per-table outcome of the latest run, the same after a full run and after a delta run. */
function expectTableStatuses(status: FullStatus): void {
  for (const { source } of companies) {
    for (const table of CLEAN_TABLES) {
      const t = tableState(status, source, table);
      expect({ table: t.key, status: t.status, errors: t.errors, errorMessage: t.errorMessage }).toEqual({
        table: t.key, status: 'Successful', errors: 0, errorMessage: undefined,
      });
    }
    for (const table of PERMISSION_TABLES) {
      expect(tableState(status, source, table)).toMatchObject({ status: 'Not Migrated', notMigratedReason: expect.stringMatching(/by design/) });
    }
    expect(tableState(status, source, 'cust_ledger_entry')).toMatchObject({
      status: 'Warning', errors: 3, errorMessage: expect.stringMatching(/^3 rows rejected by the target; first: .*due_date/),
    });
    expect(tableState(status, source, 'import_buffer')).toMatchObject({ status: 'Warning', errorMessage: expect.stringMatching(/no primary key/) });
  }
  expect(status.tiles).toMatchObject({
    successful: CLEAN_TABLES.length * companies.length,
    warnings: 2 * companies.length,
    failed: 0,
    notMigrated: PERMISSION_TABLES.length * companies.length,
  });
}

beforeAll(async () => {
  pool = testPool();
  await seedSourceData(pool, { scale: 0.05, seed: SEED, schemaPrefix: prefix });
  client = await testClient();
  worker = await testWorker(taskQueue);
});

afterAll(async () => {
  await tenantHandle(client, tenant).terminate('test done').catch(() => undefined);
  await worker?.stop();
  for (const { source, target } of companies) {
    await dropCaptureFor(pool, source);
    await dropSchemas(pool, source, target);
  }
  await pool.end();
  await client.connection.close();
});

it('sets up all three companies: permission tables are not migrated, the rest gets a target table', async () => {
  const { status } = await createTenant(client, taskQueue, { tenant, companies: companies.map(({ source }) => ({ source })) });
  expect(status.setupError).toBeUndefined();
  expect(status.status).toBe('Ready');
  expect(status.companies).toEqual(companies);
  expect(status.tables).toHaveLength(SAMPLE_TABLES.length * companies.length);
  for (const { source, target } of companies) {
    expect((await baseTables(pool, target)).sort()).toEqual(SAMPLE_TABLES.filter((t) => !PERMISSION_TABLES.includes(t)).sort());
    for (const table of PERMISSION_TABLES) {
      expect(tableState(status, source, table)).toMatchObject({ status: 'Not Migrated', notMigratedReason: expect.stringMatching(/by design/) });
    }
    expect(status.findings).toContainEqual(expect.objectContaining({ table: `${source}.cust_ledger_entry`, message: expect.stringMatching(/^3 rows have a zero date/) }));
    expect(status.findings).toContainEqual(expect.objectContaining({ table: `${source}.import_buffer`, message: expect.stringMatching(/no primary key/) }));
  }
});

/** Runs, expects the kind and a clean completion, then checks every table's status and content. */
async function runAndCheck(kind: RunKind, reason: string): Promise<{ status: FullStatus; run: number }> {
  const started = await runMigrationNow(client, tenant, { requestedBy: 'jest', reason });
  expect(started.kind).toBe(kind);
  const entry = await waitForRun(client, tenant, started);
  expect(entry.failure).toBeUndefined();
  expect(entry.status).toBe('Completed');
  const status = await getStatus(client, tenant);
  expectTableStatuses(status);
  await expectTargetEqualsSource();
  return { status, run: started.run };
}

it('the full run copies every company: each table equals its source but for the 3 rejected zero-date rows', async () => {
  const { status } = await runAndCheck('full', 'first load of the sample ERP');
  // Full-load counts are the source's rows (the 3 rejected ones are counted as errors, not loaded).
  for (const { source } of companies) {
    expect(tableState(status, source, 'customer').fullLoadRows).toBe(await count(pool, source, 'customer'));
    expect(tableState(status, source, 'cust_ledger_entry').fullLoadRows).toBe((await count(pool, source, 'cust_ledger_entry')) - 3);
  }
});

it('a day of changes in every company arrives with the delta run, counted per table', async () => {
  const before = await getStatus(client, tenant);
  const changes = new Map<string, ChangeSummary>();
  for (const [i, { source }] of companies.entries()) changes.set(source, await applySampleChanges(pool, { schema: source, seed: SEED + i }));

  const { status, run } = await runAndCheck('delta', 'nightly');

  for (const { source } of companies) {
    const summary = changes.get(source)!;
    expect(summary.inserts + summary.updates + summary.deletes).toBeGreaterThan(0);
    for (const [table, c] of Object.entries(summary.byTable)) {
      const now = tableState(status, source, table);
      const was = tableState(before, source, table);
      expect({ table: now.key, inserts: now.inserts - was.inserts, updates: now.updates - was.updates, deletes: now.deletes - was.deletes }).toEqual({
        table: now.key, ...c,
      });
      expect(now.lastRun).toBe(run);
    }
  }
  expect(status.status).toBe('Upgrade Pending');
  expect(status.log.map((e) => [e.run, e.kind, e.status])).toEqual([[1, 'full', 'Completed'], [2, 'delta', 'Completed']]);
});

it('nothing migrated a permission table, and the zero-date rows are still waiting in the change log', async () => {
  for (const { target } of companies) {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?)', [target, PERMISSION_TABLES],
    );
    expect(rows).toEqual([]);
  }
  // Rejected rows stay queued on the source (op R), so fixing them at the source is enough.
  for (const { source } of companies) {
    const [[reg]] = await pool.query<RowDataPacket[]>(
      "SELECT id FROM cm_capture.capture_table WHERE schema_name = ? AND table_name = 'cust_ledger_entry'", [source],
    );
    const [[pending]] = await pool.query<RowDataPacket[]>(`SELECT COUNT(DISTINCT entry_no) AS n FROM cm_capture.log_${Number(reg.id)}`);
    expect(Number(pending.n)).toBe(3);
  }
});
