// The management workflow starts a fresh history once its history grows long, carrying the whole
// page forward: the migration log, per-table state and the run counter.
import { checkForUpdate, createTenant, getStatus, runMigrationNow, tenantHandle, updateService, waitForRun } from '../../client/operations';
import { SERVICE_VERSION } from '../../lib/constants';
import { count, dropSchemas, waitUntil } from '../helpers';
import { tenantFixture } from '../fixture';

const f = tenantFixture('can');
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
