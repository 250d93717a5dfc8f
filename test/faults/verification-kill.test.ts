// A verification survives a worker SIGKILL (issue 9): the worker running a verification with repair
// is killed at a seeded point; a new worker resumes it at its last chunk (rows are compared once,
// not twice), every difference made on the target is found and repaired, and the target then equals
// the source by content.
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { defaultPayloadConverter } from '@temporalio/common';
import { createTenant, runMigrationNow, tenantHandle, verifyNow, waitForRun, waitForVerification } from '../../client/operations';
import { dropCaptureFor, dropSchemas, ensureBuilt, testClient, testPool, uniqueName, waitUntil } from '../helpers';
import { activityAttempts, announceSeed, createSource, expectSameSchemas, FAULT_COPY, faultSeed, hardKill, seededRng, Workers } from './harness';

const BIG_ROWS = 60_000;
const seed = faultSeed();
const rng = seededRng(seed, 'verification-kill');
const src = uniqueName('fv_src');
const tenant = uniqueName('fv');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_fv');
const workers = new Workers({ taskQueue });
let pool: Pool;
let client: Client;

beforeAll(async () => {
  announceSeed('verification-kill', seed);
  ensureBuilt();
  pool = testPool();
  await createSource(pool, src, BIG_ROWS);
  client = await testClient();
});

afterAll(async () => {
  await tenantHandle(client, tenant).terminate('test done').catch(() => undefined);
  await workers.killAll();
  await dropCaptureFor(pool, src);
  await dropSchemas(pool, src, dst);
  await pool.end();
  await client.connection.close();
});

/** Chunks compared so far by the verification's running activity (its heartbeat), or 0. */
async function chunksDone(workflowId: string): Promise<number> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  let most = 0;
  for (const a of raw.pendingActivities ?? []) {
    const p = a.heartbeatDetails?.payloads?.[0];
    const d = p && defaultPayloadConverter.fromPayload<{ current?: { progress?: { chunks?: number } } }>(p);
    most = Math.max(most, d?.current?.progress?.chunks ?? 0);
  }
  return most;
}

it('a worker SIGKILLed mid-verification: the next one resumes at the last chunk, finds and repairs every difference', async () => {
  let worker = await workers.start();
  const { status } = await createTenant(client, taskQueue, {
    tenant, companies: [{ source: src }], copy: FAULT_COPY, verify: { chunkRows: 10, concurrency: 1 },
  });
  expect(status.status).toBe('Ready');
  await waitForRun(client, tenant, await runMigrationNow(client, tenant, { requestedBy: 'faults' }));

  // Differences spread over the table: some before the kill point, some after.
  const gone = Array.from({ length: 6 }, () => rng.int(1, BIG_ROWS));
  await pool.query(`DELETE FROM ${dst}.big WHERE id IN (?)`, [gone]);
  await pool.query(`UPDATE ${dst}.big SET label = CONCAT(label, ' tampered') WHERE id IN (?)`, [[7, BIG_ROWS - 7]]);
  await pool.query(`INSERT INTO ${dst}.big (id, qty, label, amount, posted) VALUES (?, 1, 'extra', 1, '2024-01-01')`, [BIG_ROWS + 1000]);
  const distinctGone = new Set(gone).size;

  const started = await verifyNow(client, tenant, { requestedBy: 'faults', repair: true });
  // Killed once the verification of `big` (6,000 chunks of 10 rows) is a seeded share of the way in,
  // as its heartbeats tell. They are throttled to about one every 2.4 s, and 3,000 chunks of 20 rows
  // could all be compared before the second one (the test once found nothing left to kill): a kill
  // point in the first tenth leaves seconds of work after the heartbeat that shows it.
  const killAt = rng.int(50, 600);
  let closed = false;
  void client.workflow.getHandle(started.workflowId).result().finally(() => (closed = true));
  await waitUntil(`verification past chunk ${killAt}`, async () => {
    if (closed) throw new Error(`the verification ended before chunk ${killAt}: nothing left to kill`);
    return (await chunksDone(started.workflowId)) >= killAt;
  }, 180_000);
  await hardKill(worker);
  worker = await workers.start();

  const result = await waitForVerification(client, tenant, started);
  const big = result.tables.find((t) => t.key.endsWith('.big'))!;
  // What the killed attempt repaired after its last heartbeat is equal when the next one compares
  // it again: found and repaired then are the same rows, at most all of them.
  expect(big.status).toBe('Verified');
  expect(big.missing + big.extra + big.different).toBeGreaterThanOrEqual(1); // found some, at least after the kill
  expect(big.missing + big.extra + big.different).toBe(big.repaired);
  expect(big.missing).toBeLessThanOrEqual(distinctGone);
  expect(big.repaired).toBeLessThanOrEqual(distinctGone + 3);
  // The comparison was really retried on the new worker…
  expect((await activityAttempts(client, started.workflowId)).byType.verifyTables.some((attempt) => attempt >= 2)).toBe(true);
  // …and resumed, not restarted: every row compared once.
  expect(big.rowsCompared).toBe(BIG_ROWS);
  expect(result.status).toBe('Equal');
  await expectSameSchemas(pool, src, dst);
});
