// Contract 2, idempotence, the hard way: the worker is a separate `cm worker` process, SIGKILLed while
// a large table is half copied, then started again. The run still completes, the target equals the
// source with nothing lost and nothing doubled (also in a table without a key), and a change made
// while no worker was running arrives with the next run.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import type { KeyRange, RangeResult } from '../../lib/types';
import {
  createTenant, getStatus, runMigrationNow, waitForRun,
} from '../../client/operations';
import {
  copyPartsAtKill, count, createNumberedTable, endProcessTest, ensureBuilt, expectSameTable, processAlive, spawnWorkerProcess, testClient, testPool, uniqueName, waitForWorkerProcess, type WorkerProcess,
} from '../helpers';

const BIG_ROWS = 300_000;
const NOKEY_DISTINCT = 3_000; // every row twice
const src = uniqueName('crash_src');
const tenant = uniqueName('crash');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_crash');
const spawned: WorkerProcess[] = [];
let pool: Pool;
let client: Client;

const startWorkerProcess = async (): Promise<WorkerProcess> => {
  const w = spawnWorkerProcess(taskQueue);
  spawned.push(w);
  await waitForWorkerProcess(w);
  return w;
};

const sameAsSource = (table: string) => expectSameTable(pool, [src, table], [dst, table]);

beforeAll(async () => {
  ensureBuilt();
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${src}`);
  await createNumberedTable(pool, src, 'big', BIG_ROWS);
  await pool.query(`CREATE TABLE ${src}.nokey (a INT NOT NULL, b VARCHAR(40) NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${src}.nokey SELECT id % ${NOKEY_DISTINCT}, CONCAT('dup ', id % ${NOKEY_DISTINCT}) FROM ${src}.big WHERE id <= ${2 * NOKEY_DISTINCT}`);
  await pool.query(`CREATE TABLE ${src}.small (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${src}.small SELECT id, CONCAT('small ', id) FROM ${src}.big WHERE id <= 100`);
  await pool.query(`ANALYZE TABLE ${src}.big, ${src}.nokey, ${src}.small`); // the planner splits big by its estimated size
  expect(await count(pool, src, 'big')).toBe(BIG_ROWS);
  client = await testClient();
});

afterAll(() => endProcessTest({ client, pool, tenant, workers: spawned, source: src, schemas: [src, dst] }));

async function scheduledInput(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>, eventId: string): Promise<{ range: KeyRange }> {
  const e = (history.events ?? []).find((x) => String(x.eventId) === eventId)!;
  return defaultPayloadConverter.fromPayload<{ range: KeyRange }>(e.activityTaskScheduledEventAttributes!.input!.payloads![0]);
}

it('a worker process killed mid-copy is replaced and the copy completes: nothing lost, nothing doubled', async () => {
  let worker = await startWorkerProcess();
  try {
    const { status: ready } = await createTenant(client, taskQueue, {
      tenant,
      companies: [{ source: src }],
      copy: { largeTableRows: 10_000, rangesPerTable: 2, writeBatchRows: 500, heartbeatTimeoutSeconds: 3 },
    });
    expect(ready.status).toBe('Ready');
    const bigPlan = ready.tables.find((t) => t.table === 'big')!;
    expect(bigPlan.estimatedRows).toBeGreaterThanOrEqual(10_000); // copied in key ranges, by their own activities

    const started = await runMigrationNow(client, tenant, { requestedBy: 'jest', reason: 'crash test' });
    expect(started.kind).toBe('full');

    // Kill once both key-range copies have reported a position (heartbeat details: rows, last key)
    // and the target holds a quarter to a half of the table, so neither range has finished.
    const positions = async () => {
      const { raw } = await client.workflow.getHandle(started.workflowId).describe();
      return (raw.pendingActivities ?? [])
        .filter((a) => a.activityType?.name === 'copyKeyRange' && a.heartbeatDetails?.payloads?.[0])
        .map((a) => defaultPayloadConverter.fromPayload<{ rows: number; lastKey?: string }>(a.heartbeatDetails!.payloads![0]));
    };
    let seen = 0;
    for (const deadline = Date.now() + 120_000; ; ) {
      const reported = await positions();
      seen = await count(pool, dst, 'big');
      if (seen >= BIG_ROWS / 2) throw new Error(`${seen} big rows were copied before both ranges had reported a position`);
      // A quarter in: past the first heartbeats, so a heartbeat's position may lag the committed rows.
      if (reported.length === 2 && reported.every((p) => p.rows > 0 && p.lastKey !== undefined) && seen >= BIG_ROWS / 4) break;
      if (Date.now() > deadline) throw new Error(`the copy did not start: ${worker.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    worker.child.kill('SIGKILL');
    const ended = await worker.exited;
    expect(ended.signal).toBe('SIGKILL');
    expect(processAlive(worker.child.pid!)).toBe(false);
    const atKill = await count(pool, dst, 'big');
    console.log(`worker killed with ${seen} of ${BIG_ROWS} big rows on the target (${atKill} once it was dead)`);
    expect(atKill).toBeLessThan(BIG_ROWS);

    // Exact resume: a retry starts where the committed batches reached (the checkpoint each batch
    // leaves on the target), not at the throttled heartbeat's position, so at most one batch of rows
    // is on the target beyond it and gets written again.
    const parts = await copyPartsAtKill(client, pool, tenant, dst, 'big', started.workflowId);
    console.log(`at the kill: ${JSON.stringify(parts)}`);
    expect(parts.map((p) => p.part).sort()).toEqual(['range-0', 'range-1']);
    for (const p of parts) expect(p.beyond).toBeLessThanOrEqual(500); // writeBatchRows
    const committedAtKill = new Map(parts.map((p) => [Number(p.part.replace('range-', '')), p.committed]));

    // Changes while no worker runs: rows the copy had passed (ids 1, 2, 150000 and 150002 are at or
    // before each range's reported position), rows ahead of it, and a row beyond the last key.
    await pool.query(`UPDATE ${src}.big SET label = 'changed while down' WHERE id IN (1, 150000, 299999)`);
    await pool.query(`DELETE FROM ${src}.big WHERE id IN (2, 150002)`);
    await pool.query(`INSERT INTO ${src}.big VALUES (${BIG_ROWS + 1}, 1, 'inserted while down', 1.00, '2025-01-01 00:00:00')`);
    await pool.query(`UPDATE ${src}.small SET name = 'changed while down' WHERE id = 7`);
    expect(await count(pool, dst, 'big')).toBe(atKill); // nothing is working on the target

    worker = await startWorkerProcess();
    const entry = await waitForRun(client, tenant, started);
    if (entry.status !== 'Completed') console.error(entry, (await getStatus(client, tenant)).tables, worker.output());
    expect(entry.status).toBe('Completed');

    await sameAsSource('big');
    expect(await count(pool, dst, 'big')).toBe(await count(pool, src, 'big'));
    expect(await count(pool, dst, 'big', "label = 'changed while down'")).toBe(3);
    expect(await count(pool, dst, 'nokey')).toBe(2 * NOKEY_DISTINCT);
    await sameAsSource('nokey');
    const status = await getStatus(client, tenant);
    // Resumed, not restarted: the retries continued after the reported positions, so the two deleted
    // rows (behind them) still count as loaded and the row beyond the end is loaded too; a restart from
    // scratch would count 299,999. The change log then applies exactly what happened while down.
    expect(status.tables.find((t) => t.table === 'big')).toMatchObject({
      status: 'Successful', errors: 0, fullLoadRows: BIG_ROWS + 1, inserts: 1, updates: 3, deletes: 2,
    });
    expect(status.tables.find((t) => t.table === 'nokey')).toMatchObject({ status: 'Warning', errors: 0 });

    // The kill really interrupted both range copies: each was attempted again.
    const history = await client.workflow.getHandle(started.workflowId).fetchHistory();
    const scheduled = new Map<string, string>();
    const attempts: number[] = [];
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
      const a = e.activityTaskStartedEventAttributes;
      if (a && scheduled.get(String(a.scheduledEventId)) === 'copyKeyRange') attempts.push(a.attempt ?? 0);
    }
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) expect(attempt).toBeGreaterThanOrEqual(2);
    // Each retry says where it resumed: within one batch of what was committed at the kill.
    for (const e of history.events ?? []) {
      const done = e.activityTaskCompletedEventAttributes;
      if (!done || scheduled.get(String(done.scheduledEventId)) !== 'copyKeyRange') continue;
      const out = defaultPayloadConverter.fromPayload<RangeResult>(done.result!.payloads![0]);
      const input = await scheduledInput(history, String(done.scheduledEventId));
      expect(out.resumedAt).toBeGreaterThanOrEqual(committedAtKill.get(input.range.index)! - 500);
    }

    // The next run is changes only and brings over what it has not seen yet.
    await pool.query(`INSERT INTO ${src}.nokey VALUES (1, 'dup 1')`);
    await pool.query(`UPDATE ${src}.big SET qty = -1 WHERE id BETWEEN 1000 AND 1010`);
    const next = await runMigrationNow(client, tenant, { requestedBy: 'jest', reason: 'after the crash' });
    expect(next.kind).toBe('delta');
    expect((await waitForRun(client, tenant, next)).status).toBe('Completed');
    for (const t of ['big', 'nokey', 'small']) await sameAsSource(t);
    expect(await count(pool, dst, 'small', "name = 'changed while down'")).toBe(1);
    expect(await count(pool, dst, 'nokey')).toBe(2 * NOKEY_DISTINCT + 1);
  } catch (err) {
    console.error(`worker output:\n${spawned.map((w) => w.output()).join('\n---\n')}`);
    throw err;
  }
});
