// The `cm` command as an operator uses it: the compiled binary, against the test dev server.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { tenantHandle, type FullStatus } from '../../client/operations';
import type { StatusPage } from '../../lib/types';
import type { WorkerHandle } from '../../worker/main';
import { count, dropCaptureFor, dropTenantState, dropSchemas, runCm, settingsFor, testClient, testPool, testWorker, uniqueName } from '../helpers';

const CM = join(__dirname, '..', '..', 'bin', 'cm.js');
const src = uniqueName('cli_src');
const tenant = uniqueName('cli');
const badTenant = uniqueName('clibad');
const taskQueue = uniqueName('tq_cli');
let pool: Pool;
let client: Client;
let worker: WorkerHandle;

function cm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCm(args, { ...process.env, TEMPORAL_ADDRESS: settingsFor(taskQueue).address, CM_TASK_QUEUE: taskQueue, ...env });
}

beforeAll(async () => {
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${src}`);
  await pool.query(`CREATE TABLE ${src}.customer (code VARCHAR(20) PRIMARY KEY, name VARCHAR(50) NOT NULL)`);
  await pool.query(`INSERT INTO ${src}.customer VALUES ('C1', 'Alpha'), ('C2', 'Beta')`);
  client = await testClient();
  worker = await testWorker(taskQueue);
});

afterAll(async () => {
  for (const t of [tenant, badTenant]) await tenantHandle(client, t).terminate('test done').catch(() => undefined);
  await worker?.stop();
  await dropCaptureFor(pool, src);
  await dropSchemas(pool, src, `${tenant}_${src}`, `${badTenant}_${src}`);
  for (const t of [tenant, badTenant]) await dropTenantState(pool, t);
  await pool.end();
  await client.connection.close();
});

it('has --help on every command', async () => {
  const commands = [
    [], ['tenant', 'create'], ['tenant', 'list'], ['tenant', 'companies'], ['run'], ['status'], ['upgrade'], ['hotfix', 'apply'], ['reset'], ['checklist'],
    ['schedule'], ['disable'], ['version'], ['update'], ['audit'], ['worker'], ['server'], ['seed'], ['demo'], ['snapshot'], ['key', 'get'], ['key', 'reset'],
    ['key', 'rollout'], ['resync'], ['verify'], ['ui'],
  ];
  // Long-running processes (worker, server, demo) and the data generator aside, every command prints JSON on request.
  const noJson = ['', 'worker', 'server', 'seed', 'demo'];
  for (const args of commands) {
    const out = await cm([...args, '--help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/Usage: cm/);
    if (!noJson.includes(args[0] ?? '')) expect({ args, json: out.stdout.includes('--json') }).toEqual({ args, json: true });
  }
});

it('says its version, tells usage errors (exit 2) from failures (exit 1), and a reader that went away is no crash', async () => {
  const version = await cm(['--version']);
  expect(version).toMatchObject({ code: 0, stderr: '' });
  expect(version.stdout).toMatch(/^cm \d+\.\d+\.\d+ \(workflow code \d+\.\d+\.\d+\)\n$/);
  const unknownOption = await cm(['status', 'x', '--colour']);
  expect(unknownOption.code).toBe(2);
  expect(unknownOption.stderr).toMatch(/unknown option '--colour'/);
  expect((await cm(['no-such-command'])).code).toBe(2);
  expect((await cm(['run'])).code).toBe(2); // missing argument
  const help = await cm(['--help']);
  expect(help.stdout).toMatch(/Exit codes: 0 done; 1 the operation failed .* 2 a usage error/s);

  // `cm … | head`: the reader closes its end first; cm ends quietly instead of crashing on EPIPE.
  const gone = await new Promise<{ code: number; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CM, '--help']);
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
  expect(gone).toEqual({ code: 0, stderr: '' });
});

it('Disable asks for --confirm: it cannot be undone', async () => {
  const refused = await cm(['disable', 'some-tenant', '--reason', 'done']);
  expect(refused.code).toBe(2);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toMatch(/disabling some-tenant cannot be undone: change capture is removed from the source .* run again with --confirm/);
});

it('says in one line what is unreachable', async () => {
  const temporal = await cm(['status', 'x'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(temporal.code).toBe(1);
  expect(temporal.stderr.trim()).toMatch(/^cm: cannot reach Temporal at 127\.0\.0\.1:1 \(TEMPORAL_ADDRESS \/ --address\).*cm server/);
  expect(temporal.stderr.trim().split('\n')).toHaveLength(1);

  const mysql = await cm(['seed', '--scale', '0.01'], { MYSQL_URL: 'mysql://root:secret@127.0.0.1:1' });
  expect(mysql.code).toBe(1);
  expect(mysql.stderr.trim()).toBe('cm: cannot reach MySQL at 127.0.0.1:1 (MYSQL_URL): ECONNREFUSED');
  expect(mysql.stderr).not.toMatch(/secret/);
});

it('an unknown company fails setup with the reason, and fixing the companies recovers', async () => {
  const bad = await cm(['tenant', 'create', badTenant, '--company', 'no_such_company']);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toMatch(/Setup failed: unknown company 'no_such_company': no such schema on the source; known schemas: .*/);
  const refused = await cm(['run', badTenant]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/run refused: setup failed: unknown company/);

  const fixed = await cm(['tenant', 'companies', badTenant, '--company', src]);
  expect(fixed.stderr).toBe('');
  expect(fixed.stdout).toContain(`Companies of ${badTenant}:\n`);
  expect(fixed.stdout).toContain(`│ ${src} │ ${badTenant}_${src} │ all     │ none    │ all years   │`);
});

it('creates a tenant, runs with --wait, and shows the status', async () => {
  const created = await cm(['tenant', 'create', tenant, '--company', src, '--reason', 'cli test']);
  expect(created.stderr).toBe('');
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(/Status: Ready · 1 companies · 1 tables \(1 to migrate, 0 not migrated\)/);

  const run = await cm(['run', tenant, '--wait', '--reason', 'first']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/Run #1 started \(full copy\)/);
  expect(run.stdout).toMatch(/✔ .*\.customer: Successful, 2 rows/);
  expect(run.stdout).toMatch(/Run #1 Completed: 1 tables, 2 rows/);
  expect(await count(pool, `${tenant}_${src}`, 'customer')).toBe(2);

  const page = await cm(['status', tenant]);
  expect(page.code).toBe(0);
  expect(page.stdout).toMatch(/Status: Upgrade Pending/);
  expect(page.stdout).toMatch(/Migration Log/);
  // Fits an 80-column terminal, every table listed.
  const narrow = await cm(['status', tenant, '--all'], { COLUMNS: '80' });
  expect(narrow.stdout).toMatch(/│ customer|\.customer/); // the table's key, broken after its dot if need be
  expect(narrow.stdout.split('\n').filter((l) => l.length > 80)).toEqual([]);

  const json = JSON.parse((await cm(['status', tenant, '--json', '--all'])).stdout) as FullStatus;
  expect(json.log[0]).toMatchObject({ run: 1, status: 'Completed', reason: 'first', trigger: 'update' });
  expect(json.tables[0]).toMatchObject({ table: 'customer', status: 'Successful', fullLoadRows: 2 });
  expect(json.tableCounts).toMatchObject({ total: 1, byStatus: { Successful: 1 } });
  // Filters and pages: the `tables` query behind them answers a page at a time.
  const filtered = await cm(['status', tenant, '--status', 'Successful', '--table', 'cust*', '--page', '1']);
  expect(filtered.stdout).toMatch(/\.customer .*Successful/);
  expect(filtered.stdout).toMatch(/Page 1 of 1 \(1 tables that match\)/);
  const none = await cm(['status', tenant, '--status', 'Failed']);
  expect(none.stdout).not.toMatch(/\.customer /);
  expect(none.stdout).toMatch(/0 tables that match/);
  const badStatus = await cm(['status', tenant, '--status', 'Broken']);
  expect(badStatus.code).toBe(2);
  expect(badStatus.stderr).toMatch(/Allowed choices are Failed, Warning/);

  // The list of tenants, from the search attributes.
  const list = await cm(['tenant', 'list', '--json']);
  expect(list.code).toBe(0);
  expect((JSON.parse(list.stdout) as { tenant: string }[]).find((t) => t.tenant === tenant)).toMatchObject({ status: 'Upgrade Pending', workflow: 'Running' });
  const listed = await cm(['tenant', 'list']);
  expect(listed.stdout).toMatch(new RegExp(`${tenant} +│ Upgrade Pending +│`));

  const unknown = await cm(['status', 'nobody-here']);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr.trim()).toBe("cm: unknown tenant 'nobody-here': create it with `cm tenant create nobody-here --company <schema>`");
});

it('company settings, Rerun Detail Snapshot and the runtime service key from the command line', async () => {
  await pool.query(`CREATE TABLE ${src}.gl_entry (entry_no INT PRIMARY KEY, posting_date DATE NOT NULL)`);
  await pool.query(`INSERT INTO ${src}.gl_entry VALUES (1, '2019-05-01'), (2, '2023-05-01')`);
  const configured = await cm(['tenant', 'companies', tenant, '--company', src, '--oldest-year', '2020', '--exclude', 'nothing_*']);
  expect(configured.stderr).toBe('');
  expect(configured.stdout).toContain(`│ ${src} │ ${tenant}_${src} │ all     │ nothing_* │ 2020        │ *_entry, *_history, *_hist │`);

  const snap = await cm(['snapshot', tenant, '--wait', '--reason', 'history from 2020']);
  expect(snap.stderr).toBe('');
  expect(snap.code).toBe(0);
  expect(snap.stdout).toMatch(/^Rerun Detail Snapshot: 1 historical tables emptied; run #2 copies them again: cloud-migration\/.*\/run-2$/m);
  expect(snap.stdout).toMatch(/Run #2 Completed/);
  expect(await count(pool, `${tenant}_${src}`, 'gl_entry')).toBe(1); // 2019 stays on-premises

  const id = await cm(['key', 'get', tenant, '--id-only']);
  expect(id.stdout).toMatch(new RegExp(`^Runtime service key of ${tenant}: key [0-9a-f]{8}, issued \\S+ by setup, held by runtime \\S+\\n$`));
  const key = await cm(['key', 'get', tenant]);
  expect(key.code).toBe(0);
  expect(key.stdout).toMatch(/^cmk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}\n$/);

  const reset = await cm(['key', 'reset', tenant, '--reason', 'rotation']);
  expect(reset.stderr).toBe('');
  const newId = /New runtime service key ([0-9a-f]{8}) for/.exec(reset.stdout)?.[1];
  expect(newId).toBeDefined();
  const after = await cm(['key', 'get', tenant]);
  expect(after.stdout.startsWith(`cmk_${newId}_`)).toBe(true);
  expect(after.stdout).not.toBe(key.stdout);
  // The worker (this machine's runtime) got the new key: the next run still works.
  const run = await cm(['run', tenant, '--wait']);
  expect(run.code).toBe(0);
});

it('cm upgrade names a version: --steps is a usage error, and steps that cannot be read change nothing', async () => {
  const steps = await cm(['upgrade', tenant, '--steps', '../../tmp/planted']);
  expect(steps.code).toBe(2); // a usage error
  expect(steps.stdout).toBe('');
  expect(steps.stderr).toMatch(/^error: --steps is refused: paths are not accepted: name a version .*`cm upgrade <tenant> --to 2\.0`.*CM_UPGRADES_DIR/);
  const badTo = await cm(['upgrade', tenant, '--to', '/tmp/2.0']);
  expect(badTo.code).toBe(2);
  expect(badTo.stderr).toMatch(/^error: --to takes a version such as 2\.0 \(digits and dots\), got '\/tmp\/2\.0'; paths are not accepted/);
  expect((await getStatusJson()).upgrades).toHaveLength(0); // nothing was sent

  // The worker's upgrades root is the shipped upgrades/: it has 1.0-2.0, not 1.0-9.0.
  const refused = await cm(['upgrade', tenant, '--to', '9.0', '--wait']);
  expect(refused.code).toBe(1);
  expect(refused.stdout).toMatch(/^Data upgrade #1 started: /);
  expect(refused.stdout).toMatch(/Upgrade failed: upgrade refused before the fence was raised, nothing changed: no upgrade folder 1\.0-9\.0 under the upgrades root .*upgrades; upgrades from 1\.0 there: 1\.0-2\.0\nNothing changed: the fence was never raised; status is back to Upgrade Pending\./);
  const page = await getStatusJson();
  expect(page).toMatchObject({ status: 'Upgrade Pending', environmentState: 'Active', dataVersion: '1.0' });
  expect(page.upgrades[0]).toMatchObject({ status: 'Failed', refused: true });
  expect(page.upgrades[0].restored).toBeUndefined();
  const envOps = await cm(['status', tenant, '--upgrades']);
  expect(envOps.stdout).toContain('(refused before the fence: nothing changed)');
  const narrowOps = await cm(['status', tenant, '--upgrades'], { COLUMNS: '80' });
  expect(narrowOps.stdout).toMatch(/refused before/);
  expect(narrowOps.stdout.split('\n').filter((l) => l.length > 80)).toEqual([]);
});

async function getStatusJson(): Promise<StatusPage> {
  return JSON.parse((await cm(['status', tenant, '--json', '--all'])).stdout) as FullStatus;
}
