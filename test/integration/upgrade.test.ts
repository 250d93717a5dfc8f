// The data upgrade on a real MariaDB and a real dev server: the fence is real (sessions killed,
// accounts locked, events and jobs held, replication and hotfixes refused), and a failed,
// cancelled or crashed upgrade leaves every table exactly as at the restore point.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createConnection, type Pool, type RowDataPacket } from 'mysql2/promise';
import { applyHotfix, createTenant, getStatus, runDataUpgradeNow, runMigrationNow, tenantHandle, waitForRun, waitForUpgrade } from '../../client/operations';
import { controlParkingSchema, parkingSchema } from '../../activities/restore-point';
import { checksumTable, hasStoredGenerated, tableDigest } from '../../activities/verify';
import type { WorkerHandle } from '../../worker/main';
import { upgradeProgressQuery, type UpgradeStarted } from '../../workflows/messages';
import { dropCaptureFor, dropSchemas, MYSQL_URL, settingsFor, testClient, testPool, testWorker, uniqueName, waitUntil } from '../helpers';

const src = uniqueName('upg_src');
const tenant = uniqueName('upg');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_upg');
const appUser = uniqueName('app');
const appPassword = `pw-${uniqueName('x')}`;
let pool: Pool;
let client: Client;
let worker: WorkerHandle | undefined;
let eventSchedulerBefore = 'OFF';

/** Writes a steps directory named 1.0-2.0 under a fresh temp dir. */
function stepsDir(files: Record<string, string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'cm-steps-')), '1.0-2.0');
  mkdirSync(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

const appLogin = () => createConnection({ uri: MYSQL_URL.replace('root@', `${appUser}:${appPassword}@`), database: dst });

/**
 * Every table's content (digest, and CHECKSUM TABLE where MariaDB computes it reliably), the
 * columns, and the tenant's jobs. The tick event keeps firing outside the fence, so tick_log is
 * compared as of `asOf`: rows it adds later are legitimate.
 */
async function snapshot(asOf: string): Promise<Record<string, string>> {
  const [tables] = await pool.query<RowDataPacket[]>("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", [dst]);
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    out[t] = t === 'tick_log'
      ? await tableDigest(pool, dst, t, `at <= '${asOf}'`)
      : `${await tableDigest(pool, dst, t)} ${(await hasStoredGenerated(pool, dst, t)) ? '' : await checksumTable(pool, dst, t)}`;
  }
  const [cols] = await pool.query<RowDataPacket[]>('SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY 1, ORDINAL_POSITION', [dst]);
  out['(columns)'] = cols.map((c) => `${c.t}.${c.c}`).join(',');
  const [jobs] = await pool.query<RowDataPacket[]>('SELECT name, status FROM cm_control.job_queue WHERE tenant = ? ORDER BY id', [tenant]);
  out['(jobs)'] = JSON.stringify(jobs);
  return out;
}

async function fenceIsDown(): Promise<void> {
  const status = await getStatus(client, tenant);
  expect(status.environmentState).toBe('Active');
  const [env] = await pool.query<RowDataPacket[]>('SELECT state FROM cm_control.environment WHERE tenant = ?', [tenant]);
  expect(env[0].state).toBe('Active');
  const [fence] = await pool.query<RowDataPacket[]>('SELECT * FROM cm_control.fence WHERE tenant = ?', [tenant]);
  expect(fence).toHaveLength(0);
  const conn = await appLogin();
  await conn.end();
  const [events] = await pool.query<RowDataPacket[]>('SELECT EVENT_NAME AS n, STATUS AS s FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1', [dst]);
  expect(events.map((e) => `${e.n}:${e.s}`)).toEqual(['dormant:DISABLED', 'tick:ENABLED']);
  const [parked] = await pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?)', [
    [parkingSchema(tenant, dst), controlParkingSchema(tenant)],
  ]);
  expect(parked).toHaveLength(0); // the restore point is gone
}

async function waitForStep(started: UpgradeStarted, step: string): Promise<void> {
  await waitUntil(`step ${step}`, async () => {
    const p = await client.workflow.getHandle(started.workflowId).query(upgradeProgressQuery).catch(() => undefined);
    return p?.currentStep === step;
  });
  await new Promise((r) => setTimeout(r, 500)); // the step's statement is now running
}

const now = async (): Promise<string> => {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT NOW(6) AS t');
  return String(rows[0].t);
};

const tickCount = async (): Promise<number> => {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${dst}\`.tick_log`);
  return Number(rows[0].n);
};

beforeAll(async () => {
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${src}`);
  await pool.query(`CREATE TABLE ${src}.customer (code VARCHAR(20) PRIMARY KEY, name VARCHAR(100) NOT NULL)`);
  await pool.query(`CREATE TABLE ${src}.orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_code VARCHAR(20) NOT NULL, amount DECIMAL(38,20) NOT NULL,
    total DECIMAL(38,20) AS (amount * 2) STORED, CONSTRAINT fk_orders_customer FOREIGN KEY (customer_code) REFERENCES customer (code))`);
  await pool.query(`INSERT INTO ${src}.customer VALUES ?`, [Array.from({ length: 50 }, (_, i) => [`C${i}`, `Customer ${i}`])]);
  await pool.query(`INSERT INTO ${src}.orders (customer_code, amount) VALUES ?`, [Array.from({ length: 500 }, (_, i) => [`C${i % 50}`, `${i}.5`])]);
  await pool.query(`DELETE FROM ${src}.orders WHERE id > 495`); // the AUTO_INCREMENT counter is ahead of the rows

  await pool.query('CREATE USER ?@? IDENTIFIED BY ?', [appUser, '%', appPassword]);
  const [sched] = await pool.query<RowDataPacket[]>('SELECT @@GLOBAL.event_scheduler AS s');
  eventSchedulerBefore = String(sched[0].s);
  await pool.query('SET GLOBAL event_scheduler = ON');
  client = await testClient();
  worker = await testWorker(taskQueue);
});

afterAll(async () => {
  await tenantHandle(client, tenant).terminate('test done').catch(() => undefined);
  await worker?.stop();
  await pool.query(`SET GLOBAL event_scheduler = ${eventSchedulerBefore === 'ON' ? 'ON' : 'OFF'}`);
  await pool.query('DROP USER IF EXISTS ?@?', [appUser, '%']);
  await pool.query('DELETE FROM cm_control.job_queue WHERE tenant = ?', [tenant]).catch(() => undefined);
  await dropCaptureFor(pool, src);
  await dropSchemas(pool, src, dst);
  await pool.end();
  await client.connection.close();
});

it('refuses an upgrade until replication has completed once', async () => {
  await createTenant(client, taskQueue, { tenant, companies: [{ source: src }], appUsers: [appUser] });
  await expect(runDataUpgradeNow(client, tenant, { requestedBy: 'jest' })).rejects.toThrow(
    /upgrade refused: replication has not completed yet: a data upgrade needs at least one completed migration run/,
  );
  const run = await runMigrationNow(client, tenant, { requestedBy: 'jest' });
  expect((await waitForRun(client, tenant, run)).status).toBe('Completed');

  // The tenant's own scheduled work on the target: two events and its job queue.
  await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${dst}\`.* TO ?@?`, [appUser, '%']);
  await pool.query(`CREATE TABLE \`${dst}\`.tick_log (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL)`);
  await pool.query(`CREATE EVENT \`${dst}\`.tick ON SCHEDULE EVERY 1 SECOND DO INSERT INTO \`${dst}\`.tick_log (at) VALUES (NOW(6))`);
  await pool.query(`CREATE EVENT \`${dst}\`.dormant ON SCHEDULE EVERY 1 SECOND DISABLE DO INSERT INTO \`${dst}\`.tick_log (at) VALUES (NOW(6))`);
  await pool.query(`INSERT INTO cm_control.job_queue (tenant, name, status) VALUES (?, 'post invoices', 'Ready'), (?, 'adjust cost', 'Ready'), (?, 'old report', 'Finished')`, [tenant, tenant, tenant]);
  await waitUntil('the tick event to fire', async () => (await tickCount()) > 0);
});

it('a failing step leaves every table as it was, reports the step and its stack trace, and releases the fence', async () => {
  const asOf = await now();
  const before = await snapshot(asOf);
  const started = await runDataUpgradeNow(client, tenant, {
    requestedBy: 'jest',
    stepsDir: stepsDir({
      '001_add_note.sql': "ALTER TABLE customer ADD COLUMN note VARCHAR(20) NULL; UPDATE customer SET name = UPPER(name); DELETE FROM orders WHERE id < 10; CREATE TABLE scratch (id INT PRIMARY KEY);",
      '002_broken.sql': 'UPDATE no_such_table SET x = 1;',
    }),
  });
  const entry = await waitForUpgrade(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Failed', failedStep: '002_broken', restored: true });
  expect(entry.error).toMatch(new RegExp(`upgrade step 002_broken failed on ${dst}: Table '${dst}.no_such_table' doesn't exist`));
  expect(entry.stackTrace).toMatch(/UpgradeStepFailed|at .*upgrade-activities/);
  const status = await getStatus(client, tenant);
  expect(status.status).toBe('Upgrade pending');
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

it('cancelling mid-step gives the same result', async () => {
  const asOf = await now();
  const before = await snapshot(asOf);
  const started = await runDataUpgradeNow(client, tenant, {
    requestedBy: 'jest',
    stepsDir: stepsDir({ '001_touch.sql': "UPDATE customer SET name = 'touched';", '002_slow.sql': 'DO SLEEP(60);' }),
  });
  await waitForStep(started, '002_slow');
  await client.workflow.getHandle(started.workflowId).cancel();
  const entry = await waitForUpgrade(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Failed', restored: true });
  expect(entry.error).toMatch(/cancel/i);
  expect((await getStatus(client, tenant)).status).toBe('Upgrade pending');
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

it('a worker SIGKILLed mid-step gives the same result once a worker is back', async () => {
  const asOf = await now();
  const before = await snapshot(asOf);
  await worker!.stop();
  worker = undefined;
  const proc: ChildProcess = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'cm.js'), 'worker'], {
    env: { ...process.env, TEMPORAL_ADDRESS: settingsFor(taskQueue).address, CM_TASK_QUEUE: taskQueue, CM_WORKFLOW_BUNDLE: process.env.CM_TEST_WORKFLOW_BUNDLE },
    stdio: 'ignore',
  });
  try {
    const started = await runDataUpgradeNow(client, tenant, {
      requestedBy: 'jest',
      stepsDir: stepsDir({ '001_touch.sql': "UPDATE customer SET name = 'touched';", '002_slow.sql': 'DO SLEEP(60);' }),
    });
    await waitForStep(started, '002_slow');
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    worker = await testWorker(taskQueue);
    const entry = await waitForUpgrade(client, tenant, started);
    expect(entry).toMatchObject({ status: 'Failed', restored: true });
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

it('a rerun after the fix succeeds, and while it runs the fence is real', async () => {
  const session = await appLogin(); // an application session open before the upgrade
  const started = await runDataUpgradeNow(client, tenant, {
    requestedBy: 'jest',
    reason: 'fixed',
    stepsDir: stepsDir({
      '001_add_note.sql': 'ALTER TABLE customer ADD COLUMN note VARCHAR(20) NULL;',
      '002_hold.sql': 'DO SLEEP(4);',
      '003_new_table.sql': 'CREATE TABLE extra (id INT PRIMARY KEY);',
    }),
  });
  await waitForStep(started, '002_hold');

  await expect(session.query('SELECT 1')).rejects.toThrow(); // killed
  session.destroy();
  await expect(appLogin()).rejects.toThrow(/locked/i);
  const [env] = await pool.query<RowDataPacket[]>('SELECT state FROM cm_control.environment WHERE tenant = ?', [tenant]);
  expect(env[0].state).toBe('Update');
  const [jobs] = await pool.query<RowDataPacket[]>('SELECT status FROM cm_control.job_queue WHERE tenant = ? ORDER BY id', [tenant]);
  expect(jobs.map((j) => j.status)).toEqual(['On Hold', 'On Hold', 'Finished']);
  const ticks = await tickCount();
  expect((await getStatus(client, tenant)).status).toBe('Upgrade in Progress');
  await expect(runMigrationNow(client, tenant, { requestedBy: 'jest' })).rejects.toThrow(/run refused: a data upgrade \(.*upgrade-4\) holds the fence/);
  await expect(applyHotfix(client, tenant, { name: 'fix-1', sql: 'SELECT 1' })).rejects.toThrow(/hotfix refused: a data upgrade .* holds the fence/);
  await new Promise((r) => setTimeout(r, 2000));
  expect(await tickCount()).toBe(ticks); // no scheduled event fires under the fence

  const entry = await waitForUpgrade(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Complete', from: '1.0', to: '2.0' });
  const status = await getStatus(client, tenant);
  expect(status).toMatchObject({ status: 'Upgrade completed successfully', dataVersion: '2.0' });
  await fenceIsDown();
  await waitUntil('the tick event to fire again', async () => (await tickCount()) > ticks, 10_000);
  const [jobsAfter] = await pool.query<RowDataPacket[]>('SELECT status FROM cm_control.job_queue WHERE tenant = ? ORDER BY id', [tenant]);
  expect(jobsAfter.map((j) => j.status)).toEqual(['Ready', 'Ready', 'Finished']);
  const [history] = await pool.query<RowDataPacket[]>('SELECT step FROM cm_control.schema_history WHERE tenant = ? ORDER BY step', [tenant]);
  expect(history.map((h) => h.step)).toEqual(['001_add_note', '002_hold', '003_new_table']);
  const [extra] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [dst, 'extra']);
  expect(Number(extra[0].n)).toBe(1);

  // From now on the old version cannot replicate; hotfixes are allowed again and recorded.
  await expect(runMigrationNow(client, tenant, { requestedBy: 'jest' })).rejects.toThrow(/run refused: the tenant's data was upgraded to version 2.0/);
  const fix = await applyHotfix(client, tenant, { name: 'fix-1', sql: "UPDATE customer SET note = 'hotfixed' WHERE code = 'C1';", requestedBy: 'jest' });
  expect(fix.applied).toEqual([dst]);
  const [note] = await pool.query<RowDataPacket[]>(`SELECT note FROM \`${dst}\`.customer WHERE code = 'C1'`);
  expect(note[0].note).toBe('hotfixed');
  expect((await getStatus(client, tenant)).hotfixes.map((h) => h.name)).toEqual(['fix-1']);
});
