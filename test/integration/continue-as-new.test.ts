// The management workflow starts a fresh history once its history grows long, carrying the whole
// page forward: the migration log, per-table state and the run counter. A data lake export running
// for hours does not hold it back: the execution current when the export ends records it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PoolConnection } from 'mysql2/promise';
import {
  checkForUpdate, createTenant, exportToDataLake, getStatus, runMigrationNow, setReplicationSchedule, tenantHandle, updateService, waitForLakeExport, waitForRun,
} from '../../client/operations';
import { SERVICE_VERSION } from '../../lib/constants';
import { count, dropSchemas, waitUntil } from '../helpers';
import { tenantFixture } from '../fixture';
import { readManifest } from '../lake';

const lake = mkdtempSync(join(tmpdir(), 'cm-can-lake-'));
process.env.CM_LAKE_CANTEST_URI = `file://${lake}`; // the worker is this process
let locker: PoolConnection | undefined;
const f = tenantFixture('can', { cleanup: async () => {
  locker?.destroy();
  rmSync(lake, { recursive: true, force: true });
} });
const { src, tenant, dst } = f;

beforeAll(async () => {
  await f.pool.query(`CREATE SCHEMA ${src}`);
  await f.pool.query(`CREATE TABLE ${src}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)`);
  await f.pool.query(`INSERT INTO ${src}.item VALUES (1, 'one')`);
});

it('continues as new when the history grows long, and the page survives it', async () => {
  await createTenant(f.client, f.taskQueue, { tenant, companies: [{ source: src }], continueAsNewAfterEvents: 100 });
  const handle = tenantHandle(f.client, tenant);
  const firstRunId = (await handle.describe()).runId;

  let runs = 0;
  while ((await handle.describe()).runId === firstRunId) {
    if (++runs > 30) throw new Error('no continue-as-new after 30 runs');
    await f.pool.query(`INSERT INTO ${src}.item VALUES (?, ?)`, [runs + 1, `row ${runs + 1}`]);
    const started = await runMigrationNow(f.client, tenant, { requestedBy: 'jest' });
    expect(started.run).toBe(runs);
    await waitForRun(f.client, tenant, started);
  }

  const first = await f.client.workflow.getHandle(tenantHandle(f.client, tenant).workflowId, firstRunId).fetchHistory();
  const last = first.events![first.events!.length - 1];
  expect(last.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();

  // The new execution knows everything the old one did and carries on counting.
  const status = await getStatus(f.client, tenant);
  expect(status.log.map((e) => e.run)).toEqual(Array.from({ length: runs }, (_, i) => i + 1));
  expect(status.status).toBe('Upgrade Pending');
  expect(status.tables.find((t) => t.table === 'item')).toMatchObject({ status: 'Successful', fullLoadDone: true });
  await f.pool.query(`INSERT INTO ${src}.item VALUES (1000, 'after')`);
  const next = await runMigrationNow(f.client, tenant, { requestedBy: 'jest' });
  expect(next).toMatchObject({ run: runs + 1, kind: 'delta' });
  expect((await waitForRun(f.client, tenant, next)).status).toBe('Completed');
  expect(await count(f.pool, dst, 'item')).toBe(await count(f.pool, src, 'item'));
});

it('a data lake export does not hold the history back: the execution current when it ends records it, even terminated', async () => {
  const handle = tenantHandle(f.client, tenant);
  /** Cheap accepted updates (a schedule set and removed) until the workflow has continued as new. */
  const growUntilContinuedAsNew = async (): Promise<void> => {
    const runId = (await handle.describe()).runId;
    for (let i = 0; (await handle.describe()).runId === runId; i++) {
      if (i > 40) throw new Error('no continue-as-new while a data lake export runs');
      await setReplicationSchedule(f.client, tenant, { requestedBy: 'jest', schedule: i % 2 ? null : { frequency: 'daily', at: '03:00' } });
    }
  };
  const isRunning = async (workflowId: string) => (await f.client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  // The export waits on a table the source keeps locked: it is still running when the history is handed over.
  locker = await f.pool.getConnection();
  await locker.query(`LOCK TABLES ${src}.item WRITE`);
  const started = await exportToDataLake(f.client, tenant, { requestedBy: 'jest', to: 'cantest' });
  await growUntilContinuedAsNew();
  expect(await isRunning(started.workflowId)).toBe(true);
  expect((await getStatus(f.client, tenant)).lakeExports?.find((e) => e.workflowId === started.workflowId)?.status).toBe('In Progress');
  await locker.query('UNLOCK TABLES');
  const done = await waitForLakeExport(f.client, tenant, started);
  expect(done).toMatchObject({ status: 'Completed', tables: 1, rows: await count(f.pool, src, 'item') });
  expect((await readManifest(lake, tenant, 'migrated')).tables[`${src}.item`].rows).toBe(await count(f.pool, src, 'item'));

  // Terminated while a later execution follows it: the export cannot tell, so that execution asks Temporal.
  await locker.query(`LOCK TABLES ${src}.item WRITE`);
  const second = await exportToDataLake(f.client, tenant, { requestedBy: 'jest', to: 'cantest' });
  await growUntilContinuedAsNew();
  await f.client.workflow.getHandle(second.workflowId).terminate('operator: stuck');
  await locker.query('UNLOCK TABLES');
  const ended = await waitForLakeExport(f.client, tenant, second);
  expect(ended).toMatchObject({ status: 'Failed', failure: expect.stringMatching(/the export .*terminated.*operator: stuck/) });
  // Another export may start now.
  const third = await exportToDataLake(f.client, tenant, { requestedBy: 'jest', to: 'cantest' });
  expect((await waitForLakeExport(f.client, tenant, third)).status).toBe('Completed');
}, 600_000);

it('Check for Update shows the running and deployed versions, and Update continues as new on the deployed code', async () => {
  const tenant2 = `${tenant}_v`;
  await createTenant(f.client, f.taskQueue, { tenant: tenant2, companies: [{ source: src, target: `${dst}_v` }], serviceVersion: '1.0.0' });
  try {
    expect(await checkForUpdate(f.client, tenant2)).toEqual({ running: '1.0.0', deployed: SERVICE_VERSION, updateAvailable: true });
    const handle = tenantHandle(f.client, tenant2);
    const firstRunId = (await handle.describe()).runId;
    expect(await updateService(f.client, tenant2, { requestedBy: 'jest', reason: 'new release' })).toMatchObject({ running: '1.0.0', deployed: SERVICE_VERSION });
    await waitUntil('the new execution', async () => (await handle.describe()).runId !== firstRunId);
    expect(await checkForUpdate(f.client, tenant2)).toEqual({ running: SERVICE_VERSION, deployed: SERVICE_VERSION, updateAvailable: false });
    expect((await getStatus(f.client, tenant2)).status).toBe('Ready'); // the page came along
    await expect(updateService(f.client, tenant2, { requestedBy: 'jest' })).rejects.toThrow(`update refused: already on the deployed version ${SERVICE_VERSION}`);
  } finally {
    await tenantHandle(f.client, tenant2).terminate('test done').catch(() => undefined);
    await dropSchemas(f.pool, `${dst}_v`);
  }
});
