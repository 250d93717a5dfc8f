// The data upgrade on a real MariaDB and a real dev server: the fence is real (sessions killed,
// accounts locked, events and jobs held, replication and hotfixes refused), and a failed,
// cancelled or crashed upgrade leaves every table exactly as at the restore point.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createConnection, type Pool, type RowDataPacket } from 'mysql2/promise';
import { applyHotfix, createTenant, getStatus, resolveUpgrade, runDataUpgradeNow, runMigrationNow, tenantHandle, waitForRun, waitForUpgrade } from '../../client/operations';
import { controlParkingSchema, parkingSchema } from '../../activities/restore-point';
import { checksumTable, hasStoredGenerated, tableDigest } from '../../activities/verify';
import type { WorkerHandle } from '../../worker/main';
import { upgradeProgressQuery, type UpgradeStarted } from '../../workflows/messages';
import { renderUpgrades } from '../../client/render';
import { dropCaptureFor, dropSchemas, ensureBuilt, MYSQL_URL, settingsFor, testClient, testPool, testWorker, uniqueName, waitUntil } from '../helpers';
import { MigrationStatusKey } from '../../lib/constants';

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

/**
 * The workers' own upgrades root (requests name a version, never a path): 1.0-2.0 is rewritten by
 * each case, 1.0-2.1 holds a step that fails, so a case that asks for 2.1 shows which folder ran.
 */
const scratch = mkdtempSync(join(tmpdir(), 'cm-upgrade-test-'));
const upgradesRoot = join(scratch, 'upgrades');

/** Puts these steps, and only these, in the root's folder (default 1.0-2.0). */
function steps(files: Record<string, string>, folder = '1.0-2.0'): void {
  const dir = join(upgradesRoot, folder);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
}
steps({ '001_in_2_1.sql': 'UPDATE no_such_table_2_1 SET x = 1;' }, '1.0-2.1');

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
  worker = await testWorker(taskQueue, { upgradesRoot });
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
  rmSync(scratch, { recursive: true, force: true });
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
  steps({
    '001_add_note.sql': "ALTER TABLE customer ADD COLUMN note VARCHAR(20) NULL; UPDATE customer SET name = UPPER(name); DELETE FROM orders WHERE id < 10; CREATE TABLE scratch (id INT PRIMARY KEY);",
    '002_broken.sql': 'UPDATE no_such_table SET x = 1;',
  });
  const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest' });
  const entry = await waitForUpgrade(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Failed', failedStep: '002_broken', restored: true });
  expect(entry.error).toMatch(new RegExp(`upgrade step 002_broken failed on ${dst}: Table '${dst}.no_such_table' doesn't exist`));
  expect(entry.stackTrace).toMatch(/UpgradeStepFailed|at .*upgrade-activities/);
  const status = await getStatus(client, tenant);
  // One spelling everywhere (issue 13): the page, and the search attribute the UI's list filters on.
  expect(status.status).toBe('Upgrade Pending');
  const described = await tenantHandle(client, tenant).describe();
  expect(described.typedSearchAttributes.get(MigrationStatusKey)).toBe('Upgrade Pending');
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

it('cancelling mid-step gives the same result', async () => {
  const asOf = await now();
  const before = await snapshot(asOf);
  steps({ '001_touch.sql': "UPDATE customer SET name = 'touched';", '002_slow.sql': 'DO SLEEP(60);' });
  const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest' });
  await waitForStep(started, '002_slow');
  await client.workflow.getHandle(started.workflowId).cancel();
  const entry = await waitForUpgrade(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Failed', restored: true });
  expect(entry.error).toMatch(/cancel/i);
  expect((await getStatus(client, tenant)).status).toBe('Upgrade Pending');
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

it('an upgrade workflow terminated mid-step is restored and released by the tenant workflow', async () => {
  const asOf = await now();
  const before = await snapshot(asOf);
  steps({ '001_touch.sql': "UPDATE customer SET name = 'terminated';", '002_slow.sql': 'DO SLEEP(60);' });
  const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest' });
  await waitForStep(started, '002_slow');
  await client.workflow.getHandle(started.workflowId).terminate('pulled from the Temporal CLI');
  const entry = await waitForUpgrade(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Failed', restored: true, recoveredBy: 'management' });
  expect((await getStatus(client, tenant)).status).toBe('Upgrade Pending');
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

/** Starts an upgrade, changes a parked original behind the fence's back, and cancels: the restore cannot be verified. */
async function upgradeWithTamperedPoint(): Promise<{ started: UpgradeStarted; put: () => Promise<void> }> {
  steps({ '001_touch.sql': "UPDATE customer SET name = 'touched';", '002_slow.sql': 'DO SLEEP(60);' });
  const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest' });
  await waitForStep(started, '002_slow');
  const parked = `\`${parkingSchema(tenant, dst)}\`.customer`;
  const [orig] = await pool.query<RowDataPacket[]>(`SELECT name FROM ${parked} WHERE code = 'C1'`);
  await pool.query(`UPDATE ${parked} SET name = 'tampered' WHERE code = 'C1'`);
  await client.workflow.getHandle(started.workflowId).cancel();
  return { started, put: async () => void (await pool.query(`UPDATE ${parked} SET name = ? WHERE code = 'C1'`, [orig[0].name])) };
}

it('a restore that cannot be verified keeps the fence up until an operator inspects, retries or releases, on the record', async () => {
  const asOf = await now();
  const before = await snapshot(asOf);
  const first = await upgradeWithTamperedPoint();
  const entry = await waitForUpgrade(client, tenant, first.started);
  expect(entry).toMatchObject({ status: 'Failed', restored: false });
  expect(entry.error).toMatch(new RegExp(`${dst}\\.customer \\(parked original\\) differ`));
  // Everyone stays out, and the page says so.
  expect((await getStatus(client, tenant)).environmentState).toBe('Update');
  await expect(appLogin()).rejects.toThrow(/locked/i);
  await expect(runMigrationNow(client, tenant, { requestedBy: 'jest' })).rejects.toThrow(/run refused/);
  await expect(resolveUpgrade(client, tenant, { action: 'release', requestedBy: 'jest' })).rejects.toThrow(/release needs --reason/);

  const inspected = await resolveUpgrade(client, tenant, { action: 'inspect', requestedBy: 'jest' });
  expect(inspected).toMatchObject({ fenceReleased: false });
  expect(inspected.outcome).toMatch(new RegExp(`1 tables differ from the restore point: ${dst}\\.customer`));
  const again = await resolveUpgrade(client, tenant, { action: 'retry', requestedBy: 'jest' });
  expect(again).toMatchObject({ fenceReleased: false });
  expect(again.outcome).toMatch(/the restore failed again/);
  await first.put(); // the operator puts the original back by hand
  const retried = await resolveUpgrade(client, tenant, { action: 'retry', requestedBy: 'jest', reason: 'C1 put back from the backup' });
  expect(retried).toMatchObject({ fenceReleased: true });
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
  const recorded = (await getStatus(client, tenant)).upgrades.find((u) => u.workflowId === first.started.workflowId)!;
  expect(recorded.restored).toBe(true);
  expect(recorded.resolutions!.map((r) => `${r.action} ${r.requestedBy}`)).toEqual(['inspect jest', 'retry jest', 'retry jest']);
  await expect(resolveUpgrade(client, tenant, { action: 'inspect' })).rejects.toThrow(/no data upgrade is waiting for a decision/);

  // Release after a manual check: the fence comes down with the target as it is, the originals are kept aside.
  const second = await upgradeWithTamperedPoint();
  expect(await waitForUpgrade(client, tenant, second.started)).toMatchObject({ restored: false });
  const released = await resolveUpgrade(client, tenant, { action: 'release', requestedBy: 'jest', reason: 'checked by hand: the working copies are right' });
  expect(released.fenceReleased).toBe(true);
  const kept = /kept in (cm_kept_[0-9a-f]+)/.exec(released.outcome)![1];
  try {
    expect((await getStatus(client, tenant)).environmentState).toBe('Active');
    await (await appLogin()).end();
    const [name] = await pool.query<RowDataPacket[]>(`SELECT name FROM \`${kept}\`.customer WHERE code = 'C1'`);
    expect(name[0].name).toBe('tampered');
    // The target holds the cancelled upgrade's working copies (and its step in the history): the
    // operator's own clean-up, so that the next cases start from the originals.
    await pool.query(`UPDATE \`${dst}\`.customer c JOIN \`${kept}\`.customer k USING (code) SET c.name = IF(k.code = 'C1', 'Customer 1', k.name)`);
    await pool.query("DELETE FROM cm_control.schema_history WHERE tenant = ? AND step = '001_touch'", [tenant]);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS \`${kept}\``);
  }
});

it('a worker SIGKILLed mid-step gives the same result once a worker is back', async () => {
  const asOf = await now();
  const before = await snapshot(asOf);
  ensureBuilt(); // the worker process runs the compiled dist/: never a stale one
  await worker!.stop();
  worker = undefined;
  const proc: ChildProcess = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'cm.js'), 'worker'], {
    env: {
      ...process.env, TEMPORAL_ADDRESS: settingsFor(taskQueue).address, CM_TASK_QUEUE: taskQueue, CM_WORKFLOW_BUNDLE: process.env.CM_TEST_WORKFLOW_BUNDLE,
      CM_UPGRADES_DIR: upgradesRoot, // a worker process finds its steps under its own root
    },
    stdio: 'ignore',
  });
  try {
    steps({ '001_touch.sql': "UPDATE customer SET name = 'touched';", '002_slow.sql': 'DO SLEEP(60);' });
    const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest' });
    await waitForStep(started, '002_slow');
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    worker = await testWorker(taskQueue, { upgradesRoot });
    const entry = await waitForUpgrade(client, tenant, started);
    expect(entry).toMatchObject({ status: 'Failed', restored: true });
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    worker ??= await testWorker(taskQueue, { upgradesRoot }); // the cases after this one need a worker
  }
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

it('a request carrying a path is refused by the validator: nothing in history, nobody locked out', async () => {
  const session = await appLogin();
  const before = (await getStatus(client, tenant)).upgrades.length;
  for (const [request, message] of [
    [{ requestedBy: 'jest', stepsDir: '../../../tmp/planted' }, /upgrade refused: invalid request: stepsDir: paths are not accepted: name a version .*--to 2\.0.*upgrades root \(CM_UPGRADES_DIR/],
    [{ requestedBy: 'jest', stepsDir: '1.0-2.0' }, /stepsDir: paths are not accepted/],
    [{ requestedBy: 'jest', to: '/tmp/2.0' }, /to: paths are not accepted/],
    [{ requestedBy: 'jest', to: 'my-fix' }, /to: a version such as 2\.0/],
    [{ requestedBy: 'jest', to: '1.0' }, /upgrade refused: the tenant's data is already at version 1\.0/],
  ] as const) {
    await expect(runDataUpgradeNow(client, tenant, request as never)).rejects.toThrow(message);
  }
  const history = JSON.stringify((await tenantHandle(client, tenant).fetchHistory()).events);
  expect(history).not.toContain('planted');
  expect(history).not.toContain('stepsDir');
  const status = await getStatus(client, tenant);
  expect(status.upgrades).toHaveLength(before);
  expect(status.environmentState).toBe('Active');
  await expect(session.query('SELECT 1')).resolves.toBeDefined();
  await session.end();
  await fenceIsDown(); // the account still logs in
});

it('steps that cannot be read refuse the upgrade before the fence: an open session stays, nobody is locked out', async () => {
  const outside = join(scratch, 'outside.sql');
  writeFileSync(outside, 'DROP TABLE customer;');
  const cases: [string, () => void, { to?: string }, RegExp][] = [
    ['a missing version folder', () => undefined, { to: '3.0' }, /no upgrade folder 1\.0-3\.0 under the upgrades root .*; upgrades from 1\.0 there: 1\.0-2\.0, 1\.0-2\.1/],
    ['a badly named step', () => steps({ '001_ok.sql': 'SELECT 1;', '2_fix.sql': 'SELECT 2;' }), {}, /1\.0-2\.0\/2_fix\.sql looks like a step but is not named NNN_name\.sql/],
    ['an empty folder', () => steps({}), {}, /1\.0-2\.0 has no steps/],
    ['a step symlinked out of the root', () => {
      steps({ '001_ok.sql': 'SELECT 1;' });
      symlinkSync(outside, join(upgradesRoot, '1.0-2.0', '002_evil.sql'));
    }, {}, /1\.0-2\.0\/002_evil\.sql resolves to .*outside\.sql, outside the upgrades root/],
  ];
  for (const [what, prepare, request, error] of cases) {
    prepare();
    const session = await appLogin(); // an application session open before the upgrade
    const asOf = await now();
    const before = await snapshot(asOf);
    const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest', reason: what, ...request });
    const entry = await waitForUpgrade(client, tenant, started);
    expect(entry).toMatchObject({ status: 'Failed', refused: true });
    expect(entry.restored).toBeUndefined(); // nothing was changed, so nothing was restored
    expect(entry.failedStep).toBeUndefined();
    expect(entry.error).toMatch(/^upgrade refused before the fence was raised, nothing changed: /);
    expect(entry.error).toMatch(error);
    await expect(session.query('SELECT 1')).resolves.toBeDefined(); // not killed
    await session.end();
    const status = await getStatus(client, tenant);
    expect(status.status).toBe('Upgrade Pending');
    expect(status.environmentState).toBe('Active'); // the page's fence is cleared too: the next case may start
    await fenceIsDown(); // the account was never locked: it logs in
    expect(await snapshot(asOf)).toEqual(before);
    // The upgrade's history: its plan, and no fence, restore point or restore.
    const activities = (await client.workflow.getHandle(started.workflowId).fetchHistory()).events!
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(activities).toEqual(['planUpgrade']);
  }
  const [fenceLog] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM cm_control.fence WHERE tenant = ?', [tenant]);
  expect(Number(fenceLog[0].n)).toBe(0);
  const cli = renderUpgrades((await getStatus(client, tenant)).upgrades);
  expect(cli).toContain('(refused before the fence: nothing changed)');
});

it('to picks the version folder', async () => {
  steps({ '001_touch.sql': "UPDATE customer SET name = 'touched';" }); // 1.0-2.0 would succeed
  const asOf = await now();
  const before = await snapshot(asOf);
  const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest', to: '2.1' });
  const entry = await waitForUpgrade(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Failed', failedStep: '001_in_2_1', restored: true });
  const progress = await client.workflow.getHandle(started.workflowId).query(upgradeProgressQuery);
  expect(progress.plan).toMatchObject({ version: '1.0-2.1', from: '1.0', to: '2.1', steps: [{ name: '001_in_2_1', file: '001_in_2_1.sql' }] });
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

it('a step whose file changed after the plan is refused where it runs, naming the step, and the upgrade is restored', async () => {
  // The worker that runs a step finds it by version folder and name under its own root, and runs
  // it only if it is the file the plan checksummed (another host may hold another copy).
  steps({ '001_touch.sql': "UPDATE customer SET name = 'touched';", '002_hold.sql': 'DO SLEEP(3);', '003_note.sql': 'ALTER TABLE customer ADD COLUMN note VARCHAR(20) NULL;' });
  const asOf = await now();
  const before = await snapshot(asOf);
  const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest' });
  await waitForStep(started, '002_hold');
  writeFileSync(join(upgradesRoot, '1.0-2.0', '003_note.sql'), 'DROP TABLE orders;');
  const entry = await waitForUpgrade(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Failed', failedStep: '003_note', restored: true });
  expect(entry.error).toMatch(/^upgrade step 003_note refused on this worker: step 003_note: 1\.0-2\.0\/003_note\.sql under this worker's upgrades root .* has checksum [0-9a-f]{12}…, but the plan read [0-9a-f]{12}…/);
  const attempts = (await client.workflow.getHandle(started.workflowId).fetchHistory()).events!
    .filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
  expect(attempts.every((a) => a === 1)).toBe(true); // not retried
  await fenceIsDown();
  expect(await snapshot(asOf)).toEqual(before);
});

it('a rerun after the fix succeeds, and while it runs the fence is real', async () => {
  const session = await appLogin(); // an application session open before the upgrade
  steps({
    '001_add_note.sql': 'ALTER TABLE customer ADD COLUMN note VARCHAR(20) NULL;',
    '002_hold.sql': 'DO SLEEP(4);',
    '003_new_table.sql': 'CREATE TABLE extra (id INT PRIMARY KEY);',
  });
  // No version named: the next one from 1.0, i.e. 2.0 (1.0-2.1 is also there, and further).
  const started = await runDataUpgradeNow(client, tenant, { requestedBy: 'jest', reason: 'fixed' });
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
  await expect(runMigrationNow(client, tenant, { requestedBy: 'jest' })).rejects.toThrow(new RegExp(`run refused: a data upgrade \\(.*upgrade-${started.number}\\) holds the fence`));
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
