// Every MySQL connection of the worker killed mid-copy (and once more mid-delta): the worker logs in
// as a MySQL account of its own, so `KILL CONNECTION` can take every session of that account and
// none of this test's (root). The worker process lives on; its activities fail, are retried and
// resume. The run completes and the target equals the source.
import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { createTenant, getStatus, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import { count, dropCaptureFor, dropSchemas, ensureBuilt, MYSQL_URL, testClient, testPool, uniqueName, type WorkerProcess } from '../helpers';
import {
  activityAttempts, announceSeed, createSource, expectFenceDown, expectSameSchemas, FAULT_COPY, faultSeed, isRunning, pendingLog, seededRng,
  sleep, Workers,
} from './harness';

const BIG_ROWS = 40_000;
const seed = faultSeed();
const rng = seededRng(seed, 'killed-connections');
const src = uniqueName('fc_src');
const tenant = uniqueName('fc');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_fc');
const dbUser = uniqueName('cm_fault_w');
const dbPassword = `pw-${uniqueName('x')}`;
const workers = new Workers({ taskQueue });
let pool: Pool;
let client: Client;
let worker: WorkerProcess;

/** The worker's URL: the test's server, the dedicated account. */
function workerUrl(): string {
  const u = new URL(MYSQL_URL);
  u.username = dbUser;
  u.password = dbPassword;
  return u.toString();
}

/** KILL CONNECTION for every session of the worker's account; returns how many were killed. */
async function killWorkerSessions(): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [dbUser]);
  let killed = 0;
  for (const r of rows) {
    try {
      await pool.query(`KILL CONNECTION ${Number(r.id)}`);
      killed++;
    } catch (err) {
      if ((err as { errno?: number }).errno !== 1094) throw err; // gone meanwhile (Unknown thread id)
    }
  }
  return killed;
}

beforeAll(async () => {
  announceSeed('killed-connections', seed);
  ensureBuilt();
  pool = testPool();
  await createSource(pool, src, BIG_ROWS);
  await pool.query('CREATE USER ?@? IDENTIFIED BY ?', [dbUser, '%', dbPassword]);
  await pool.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [dbUser, '%']);
  client = await testClient();
  worker = await workers.start({ mysqlUrl: workerUrl() });
});

afterAll(async () => {
  await tenantHandle(client, tenant).terminate('test done').catch(() => undefined);
  await workers.killAll();
  await pool.query('DROP USER IF EXISTS ?@?', [dbUser, '%']);
  await dropCaptureFor(pool, src);
  await dropSchemas(pool, src, dst);
  await pool.end();
  await client.connection.close();
});

it('every MySQL connection of the worker killed, repeatedly, mid-copy and mid-delta: the runs complete and the target equals the source', async () => {
  try {
    const { status } = await createTenant(client, taskQueue, { tenant, companies: [{ source: src }], copy: FAULT_COPY });
    expect(status.status).toBe('Ready');
    // The test's own sessions are root's: the worker's account is the only one killed.
    const [mine] = await pool.query<RowDataPacket[]>('SELECT USER AS u FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()');
    expect(mine[0].u).not.toBe(dbUser);

    // Full copy: three rounds of kills at seeded points of the copy.
    const full = await runMigrationNow(client, tenant, { requestedBy: 'faults' });
    expect(full.kind).toBe('full');
    const marks = [rng.between(0.05, 0.3), rng.between(0.35, 0.6), rng.between(0.65, 0.9)];
    const rounds: string[] = [];
    for (const mark of marks) {
      const deadline = Date.now() + 120_000;
      while ((await count(pool, dst, 'big')) < mark * BIG_ROWS) {
        if (Date.now() > deadline) throw new Error(`the copy did not reach ${Math.round(mark * 100)}%`);
        await sleep(25);
      }
      const killed = await killWorkerSessions();
      rounds.push(`${Math.round(mark * 100)}%: ${killed} sessions`);
      expect(killed).toBeGreaterThan(0);
    }
    console.log(`seed ${seed}: killed the worker's sessions at ${rounds.join(', ')}`);
    const entry = await waitForRun(client, tenant, full);
    if (entry.status !== 'Completed') console.error(entry, (await getStatus(client, tenant)).tables);
    expect(entry.status).toBe('Completed');
    expect(isRunning(worker)).toBe(true); // the same process recovered
    const fullAttempts = await activityAttempts(client, full.workflowId);
    expect(fullAttempts.retried).toBeGreaterThan(0); // the kills really broke running activities
    await expectSameSchemas(pool, src, dst);
    expect(await pendingLog(pool, src, 'big')).toBe(0);

    // A delta run: killed once half of the change log is applied.
    await pool.query(`UPDATE ${src}.big SET qty = -qty WHERE id % 17 = ?`, [rng.int(0, 16)]);
    await pool.query(`DELETE FROM ${src}.big WHERE id % 53 = ?`, [rng.int(0, 52)]);
    await pool.query(`INSERT INTO ${src}.big SELECT id + 100000, 7, 'added', 2.5, '2025-03-03' FROM ${src}.big WHERE id <= 1500`);
    await pool.query(`INSERT INTO ${src}.nokey VALUES (1, 'dup 1')`);
    const initial = await pendingLog(pool, src, 'big');
    const delta = await runMigrationNow(client, tenant, { requestedBy: 'faults' });
    expect(delta.kind).toBe('delta');
    const mark = rng.between(0.2, 0.8);
    let killedDuringDelta = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      if ((await pendingLog(pool, src, 'big')) <= mark * initial) {
        killedDuringDelta = await killWorkerSessions();
        break;
      }
      await sleep(10);
    }
    console.log(`seed ${seed}: killed ${killedDuringDelta} sessions with ${Math.round(mark * 100)}% of ${initial} log rows left`);
    expect((await waitForRun(client, tenant, delta)).status).toBe('Completed');
    await expectSameSchemas(pool, src, dst);
    expect(await pendingLog(pool, src, 'big')).toBe(0);
    await expectFenceDown(pool, client, tenant, [dst]);
  } catch (err) {
    console.error(`seed ${seed}\n${workers.dump()}`);
    throw err;
  }
});
