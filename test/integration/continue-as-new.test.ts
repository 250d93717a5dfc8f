// The management workflow starts a fresh history once its history grows long, carrying the whole
// page forward: the migration log, per-table state and the run counter.
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { createTenant, getStatus, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import type { WorkerHandle } from '../../worker/main';
import { count, dropCaptureFor, dropSchemas, testClient, testPool, testWorker, uniqueName } from '../helpers';

const src = uniqueName('can_src');
const tenant = uniqueName('can');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_can');
let pool: Pool;
let client: Client;
let worker: WorkerHandle;

beforeAll(async () => {
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${src}`);
  await pool.query(`CREATE TABLE ${src}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)`);
  await pool.query(`INSERT INTO ${src}.item VALUES (1, 'one')`);
  client = await testClient();
  worker = await testWorker(taskQueue);
});

afterAll(async () => {
  await tenantHandle(client, tenant).terminate('test done').catch(() => undefined);
  await worker?.stop();
  await dropCaptureFor(pool, src);
  await dropSchemas(pool, src, dst);
  await pool.end();
  await client.connection.close();
});

it('continues as new when the history grows long, and the page survives it', async () => {
  await createTenant(client, taskQueue, { tenant, companies: [{ source: src }], continueAsNewAfterEvents: 100 });
  const handle = tenantHandle(client, tenant);
  const firstRunId = (await handle.describe()).runId;

  let runs = 0;
  while ((await handle.describe()).runId === firstRunId) {
    if (++runs > 30) throw new Error('no continue-as-new after 30 runs');
    await pool.query(`INSERT INTO ${src}.item VALUES (?, ?)`, [runs + 1, `row ${runs + 1}`]);
    const started = await runMigrationNow(client, tenant, { requestedBy: 'jest' });
    expect(started.run).toBe(runs);
    await waitForRun(client, tenant, started);
  }

  const first = await client.workflow.getHandle(tenantHandle(client, tenant).workflowId, firstRunId).fetchHistory();
  const last = first.events![first.events!.length - 1];
  expect(last.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();

  // The new execution knows everything the old one did and carries on counting.
  const status = await getStatus(client, tenant);
  expect(status.log.map((e) => e.run)).toEqual(Array.from({ length: runs }, (_, i) => i + 1));
  expect(status.status).toBe('Upgrade Pending');
  expect(status.tables.find((t) => t.table === 'item')).toMatchObject({ status: 'Successful', fullLoadDone: true });
  await pool.query(`INSERT INTO ${src}.item VALUES (1000, 'after')`);
  const next = await runMigrationNow(client, tenant, { requestedBy: 'jest' });
  expect(next).toMatchObject({ run: runs + 1, kind: 'delta' });
  expect((await waitForRun(client, tenant, next)).status).toBe('Completed');
  expect(await count(pool, dst, 'item')).toBe(await count(pool, src, 'item'));
});
