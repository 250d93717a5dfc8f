// `npm run demo` can always be run again (issue 13): three times in a row, with a data upgrade in
// between, each ending cleanly and printing the management page's address. The demo gets a dev server
// of its own (its own port and data folder, as `cm server` runs it); the MariaDB side is the machine's,
// so this test owns the demo's names there (the sample schemas, tenant "demo") and removes them after.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import { portOpen } from '../../client/dev-server';
import { SAMPLE_COMPANIES } from '../../seed/generate';
import { defaultTargetSchema } from '../../lib/schemas';
import { dropCaptureFor, dropSchemas, dropTenantState, ensureBuilt, expectSameTable, killWorkerProcesses, runCm, spawnWorkerProcess, testPool, waitForWorkerProcess, waitUntil, type WorkerProcess } from '../helpers';
import { freePort } from '../../lib/free-port';

const REPO = join(__dirname, '..', '..');
let pool: Pool;
let dataDir: string;
let server: ChildProcess | undefined;
let env: NodeJS.ProcessEnv;
const workers: WorkerProcess[] = [];

const cm = (args: string[]) => runCm(args, env);

async function cleanDemo(): Promise<void> {
  for (const c of SAMPLE_COMPANIES) await dropCaptureFor(pool, c);
  await dropSchemas(pool, ...SAMPLE_COMPANIES, ...SAMPLE_COMPANIES.map((c) => defaultTargetSchema('demo', c)));
  await dropTenantState(pool, 'demo');
  await pool.query("DROP USER IF EXISTS 'demo_app'@'%'");
}

beforeAll(async () => {
  ensureBuilt();
  pool = testPool();
  await cleanDemo();
  dataDir = mkdtempSync(join(tmpdir(), 'cm-demo-'));
  const port = await freePort();
  const uiPort = await freePort();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && k !== 'CM_TASK_QUEUE'));
  env = { ...base, TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_UI_PORT: String(uiPort), CM_DATA_DIR: dataDir };
  // The server outlives each demo (which reuses a running one), as when an operator keeps `cm server` up.
  server = spawn(process.execPath, [join(REPO, 'bin', 'cm.js'), 'server', '--port', String(port), '--ui-port', String(uiPort)], { cwd: REPO, env, stdio: 'ignore' });
  await waitUntil('the demo dev server', () => portOpen(port), 60_000);
}, 120_000);

afterAll(async () => {
  await killWorkerProcesses(workers);
  server?.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 1000));
  if (pool) {
    await cleanDemo();
    await pool.end();
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const expectCleanEnd = (out: { code: number; stdout: string; stderr: string }): void => {
  expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
  expect(out.stdout).toMatch(/Verification #\d+: Equal/);
  expect(out.stdout).toMatch(/── 9\. Azure Data Lake[^]*export #\d+: \d+ tables, [\d]+ rows and \d+ deletes written/);
  expect(out.stdout.trimEnd().split('\n').pop()).toMatch(/^Management page: .*http:\/\/127\.0\.0\.1:8080\/#\/tenant\/demo$/);
};

it('runs three times in a row, with a data upgrade in between, and ends cleanly every time', async () => {
  const first = await cm(['demo', '--exit']);
  expectCleanEnd(first);
  expect(first.stdout).toMatch(/Run #1 Completed/);

  // The upgrade 1.0 → 2.0 that the demo proposes, with a worker of its own (the demo's stopped with it).
  const worker = spawnWorkerProcess('cloud-migration', { address: env.TEMPORAL_ADDRESS, env: { CM_DATA_DIR: dataDir } });
  workers.push(worker);
  await waitForWorkerProcess(worker);
  const upgrade = await cm(['upgrade', 'demo', '--wait', '--reason', 'demo test']);
  expect(upgrade.stdout).toMatch(/Upgrade completed successfully: data version 1\.0 → 2\.0/);
  expect(upgrade.code).toBe(0);
  await killWorkerProcesses(workers.splice(0));

  // After the upgrade runs are refused: the demo starts the tenant over by itself.
  const second = await cm(['demo', '--exit']);
  expectCleanEnd(second);
  expect(second.stdout).toMatch(/the demo tenant was upgraded to data version 2\.0: runs are over for it: starting it over, clean/);
  expect(second.stdout).toMatch(/Run #1 Completed/);

  // And once more: nothing to start over, the tenant goes on with a changes-only run.
  const third = await cm(['demo', '--exit']);
  expectCleanEnd(third);
  expect(third.stdout).not.toMatch(/starting it over/);
  expect(third.stdout).toMatch(/Run #3 Completed/);
  // The demo's target is its source, by content (the customer tables of every company).
  for (const c of SAMPLE_COMPANIES) await expectSameTable(pool, [c, 'customer'], [defaultTargetSchema('demo', c), 'customer']);
}, 15 * 60_000);
