// Contract 6, history stays bounded: a tenant with 1,000 small tables is set up and copied while
// each workflow's history stays far below Temporal's limits (here: under 5,000 events each).
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { createMysqlPool } from '../../activities/connections';
import { createTenant, getStatus, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import { managementWorkflowId, setupWorkflowId } from '../../lib/constants';
import type { WorkerHandle } from '../../worker/main';
import { count, dropCaptureFor, dropSchemas, expectSameTable, MYSQL_URL, testClient, testPool, testWorker, uniqueName } from '../helpers';

const TABLES = 1_000;
const MAX_EVENTS = 5_000;
const src = uniqueName('hist_src');
const tenant = uniqueName('hist');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_hist');
const tableName = (i: number): string => `t${String(i).padStart(4, '0')}`;

let pool: Pool;
let client: Client;
let worker: WorkerHandle;

async function eventCount(workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return history.events?.length ?? 0;
}

beforeAll(async () => {
  pool = testPool();
  // DDL in batches of 100 statements per round trip: 1,000 tables take seconds, not minutes.
  const ddl = createMysqlPool(MYSQL_URL, { connectionLimit: 1, multipleStatements: true });
  try {
    await ddl.query(`CREATE SCHEMA ${src}`);
    for (let from = 1; from <= TABLES; from += 100) {
      const statements: string[] = [];
      for (let i = from; i < from + 100 && i <= TABLES; i++) {
        const t = `${src}.${tableName(i)}`;
        statements.push(
          `CREATE TABLE ${t} (id INT PRIMARY KEY, name VARCHAR(30) NOT NULL, qty INT NOT NULL) ENGINE=InnoDB`,
          `INSERT INTO ${t} VALUES (1, 'first of ${i}', ${i}), (2, 'second of ${i}', ${i * 2}), (3, 'third ''${i}''', ${i * 3})`,
        );
      }
      await ddl.query(statements.join(';\n'));
    }
  } finally {
    await ddl.end();
  }
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

it(`sets up and copies ${TABLES} tables with every history under ${MAX_EVENTS} events`, async () => {
  const t0 = Date.now();
  const { status: ready } = await createTenant(client, taskQueue, { tenant, companies: [{ source: src }] });
  expect(ready.setupError).toBeUndefined();
  expect(ready.status).toBe('Ready');
  expect(ready.tables).toHaveLength(TABLES);

  const t1 = Date.now();
  const started = await runMigrationNow(client, tenant, { requestedBy: 'jest', reason: 'history bound' });
  expect(started.kind).toBe('full');
  const entry = await waitForRun(client, tenant, started);
  console.log(`setup ${t1 - t0} ms, run ${Date.now() - t1} ms: ${JSON.stringify(entry)}`);
  expect(entry.status).toBe('Completed');
  expect(entry.tablesDone).toBe(TABLES);
  expect(entry.rows).toBe(TABLES * 3);

  const status = await getStatus(client, tenant);
  expect(status.tables.filter((t) => t.status !== 'Successful')).toEqual([]);
  expect(status.tiles).toMatchObject({ successful: TABLES, warnings: 0, failed: 0, notMigrated: 0 });
  for (const i of [1, 2, 500, 999, TABLES]) {
    await expectSameTable(pool, [src, tableName(i)], [dst, tableName(i)]);
    expect(await count(pool, dst, tableName(i))).toBe(3);
  }

  const events = {
    run: await eventCount(started.workflowId),
    setup: await eventCount(setupWorkflowId(tenant)),
    management: await eventCount(managementWorkflowId(tenant)),
  };
  console.log(`history events with ${TABLES} tables: ${JSON.stringify(events)}`);
  // A history must be real (not an empty answer) and bounded.
  for (const n of Object.values(events)) {
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(MAX_EVENTS);
  }
});
