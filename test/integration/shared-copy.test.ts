// Issue 12: one big table uses every worker. Three `cm worker` processes (three activities each) copy
// a 240,000-row table cut by size into 8 key ranges (chunkRows 30,000): the ranges run on several
// workers at once. One worker is SIGKILLed mid-copy: its ranges are retried by the others from their
// durable checkpoints, at most one batch is written again, and the target equals the source.
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import {
  createTenant, getStatus, runMigrationNow, waitForRun,
} from '../../client/operations';
import {
  copyPartsAtKill, count, createNumberedTable, endProcessTest, ensureBuilt, expectSameTable, spawnWorkerProcess, testClient, testPool, uniqueName, waitForWorkerProcess, type WorkerProcess,
} from '../helpers';

const BIG_ROWS = 240_000;
const BATCH = 1_000;
const src = uniqueName('share_src');
const tenant = uniqueName('share');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_share');
const workers: WorkerProcess[] = [];
let pool: Pool;
let client: Client;

beforeAll(async () => {
  ensureBuilt();
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${src}`);
  await createNumberedTable(pool, src, 'big', BIG_ROWS);
  await pool.query(`CREATE TABLE ${src}.small (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${src}.small SELECT id, CONCAT('small ', id) FROM ${src}.big WHERE id <= 100`);
  await pool.query(`ANALYZE TABLE ${src}.big, ${src}.small`);
  client = await testClient();
  for (let i = 0; i < 3; i++) workers.push(spawnWorkerProcess(taskQueue, { env: { CM_MAX_ACTIVITIES: '3' } }));
  await Promise.all(workers.map((w) => waitForWorkerProcess(w)));
});

afterAll(() => endProcessTest({ client, pool, tenant, workers: workers, source: src, schemas: [src, dst] }));

it('cuts a big table into ranges by size, shares them among the workers, and survives losing one', async () => {
  try {
    const { status } = await createTenant(client, taskQueue, {
      tenant, companies: [{ source: src }],
      copy: { largeTableRows: 10_000, rangesPerTable: 2, chunkRows: 30_000, concurrency: 9, writeBatchRows: BATCH, heartbeatTimeoutSeconds: 3 },
    });
    expect(status.status).toBe('Ready');
    const started = await runMigrationNow(client, tenant, { requestedBy: 'jest', reason: 'shared copy' });

    // Kill the worker running a range once a fifth of the table is on the target.
    const handle = client.workflow.getHandle(started.workflowId);
    let victim: WorkerProcess | undefined;
    for (const deadline = Date.now() + 120_000; !victim; ) {
      if ((await count(pool, dst, 'big')) >= BIG_ROWS / 5) {
        const { raw } = await handle.describe();
        const running = (raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'copyKeyRange' && a.lastWorkerIdentity);
        victim = workers.find((w) => running.some((a) => a.lastWorkerIdentity === `cm-worker:${w.child.pid}@${hostname()}`));
      }
      if (Date.now() > deadline) throw new Error('the copy did not reach a fifth of the table');
      await new Promise((r) => setTimeout(r, 20));
    }
    victim.child.kill('SIGKILL');
    await victim.exited;
    const parts = await copyPartsAtKill(client, pool, tenant, dst, 'big', started.workflowId);
    console.log(`killed worker ${victim.child.pid} with ${await count(pool, dst, 'big')} rows on the target: ${JSON.stringify(parts)}`);
    expect(parts).toHaveLength(8); // 240,000 estimated rows / 30,000
    for (const p of parts) expect(p.beyond).toBeLessThanOrEqual(BATCH);

    const entry = await waitForRun(client, tenant, started);
    if (entry.status !== 'Completed') console.error(entry, (await getStatus(client, tenant)).tables);
    expect(entry.status).toBe('Completed');
    await expectSameTable(pool, [src, 'big'], [dst, 'big']);
    await expectSameTable(pool, [src, 'small'], [dst, 'small']);

    // Who ran the ranges: several workers, and the killed one's ranges were finished by the others.
    const history = await handle.fetchHistory();
    const scheduled = new Map<string, string>();
    const ranBy = new Set<string>();
    let retried = 0;
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
      const a = e.activityTaskStartedEventAttributes;
      if (a && scheduled.get(String(a.scheduledEventId)) === 'copyKeyRange') {
        ranBy.add(a.identity ?? '');
        if ((a.attempt ?? 1) > 1) retried++;
      }
    }
    console.log(`ranges ran on ${ranBy.size} workers (${[...ranBy].join(', ')}), ${retried} retried`);
    expect(ranBy.size).toBeGreaterThanOrEqual(2);
    expect(retried).toBeGreaterThanOrEqual(1);
  } catch (err) {
    console.error(workers.map((w) => w.output()).join('\n---\n'));
    throw err;
  }
});
