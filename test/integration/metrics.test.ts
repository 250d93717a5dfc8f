// A `cm worker` with CM_METRICS_ADDRESS exports Prometheus metrics: the SDK runtime's own and cm's per
// tenant (rows copied, changes applied, changes pending, replication lag). Scraped during a run and
// after it; the figures are checked against what the test itself did to the source.
import { createTenant, runMigrationNow, waitForRun } from '../../client/operations';
import { ensureBuilt, killWorkerProcesses, spawnWorkerProcess, waitForWorkerProcess, waitUntil, type WorkerProcess } from '../helpers';
import { freePort } from '../../lib/free-port';
import { tenantFixture } from '../fixture';

const workers: WorkerProcess[] = [];
const f = tenantFixture('metrics', { worker: false, cleanup: () => killWorkerProcesses(workers) });
let metricsUrl: string;

const scrape = async (): Promise<string> => (await fetch(metricsUrl)).text();
/** The value of `name` for this test's tenant (the sum over the other labels). */
const valueOf = (text: string, name: string): number | undefined => {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && l.includes(`tenant="${f.tenant}"`));
  return lines.length ? lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0) : undefined;
};

beforeAll(async () => {
  ensureBuilt();
  await f.pool.query(`CREATE SCHEMA ${f.src}`);
  await f.pool.query(`CREATE TABLE ${f.src}.ledger (id INT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL) ENGINE=InnoDB`);
  await f.pool.query(`INSERT INTO ${f.src}.ledger VALUES ?`, [Array.from({ length: 3000 }, (_, i) => [i + 1, `${i}.25`])]);
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const worker = spawnWorkerProcess(f.taskQueue, { env: { CM_METRICS_ADDRESS: `127.0.0.1:${port}` } });
  workers.push(worker);
  await waitForWorkerProcess(worker);
  expect(worker.output()).toContain(`"metrics":"${metricsUrl}"`);
});

it('exports the SDK\'s metrics and the tenant\'s rows copied, changes applied, pending changes and lag', async () => {
  const { status } = await createTenant(f.client, f.taskQueue, { tenant: f.tenant, companies: [{ source: f.src }], requestedBy: 'jest' });
  expect(status.status).toBe('Ready');

  // During the first run: the endpoint answers with the SDK runtime's own metrics.
  const started = await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest' });
  const during = await scrape();
  expect(during).toMatch(/^temporal_\w+/m);
  expect((await waitForRun(f.client, f.tenant, started)).status).toBe('Completed');
  await waitUntil('the copy in the metrics', async () => valueOf(await scrape(), 'cm_rows_copied') === 3000, 30_000);

  // Changes: 7 applied by the next run; none pending after it.
  await f.pool.query(`UPDATE ${f.src}.ledger SET amount = amount + 1 WHERE id <= 5`);
  await f.pool.query(`DELETE FROM ${f.src}.ledger WHERE id IN (10, 11)`);
  expect((await waitForRun(f.client, f.tenant, await runMigrationNow(f.client, f.tenant, { requestedBy: 'jest' }))).status).toBe('Completed');
  await waitUntil('the changes in the metrics', async () => valueOf(await scrape(), 'cm_changes_applied') === 7, 30_000);
  const after = await scrape();
  expect(valueOf(after, 'cm_rows_copied')).toBe(3000); // a delta run copies nothing in full
  expect(valueOf(after, 'cm_changes_pending')).toBe(0);
  expect(valueOf(after, 'cm_replication_lag_seconds')).toBe(0);
  expect(valueOf(after, 'cm_tables_failed')).toBeUndefined();
  expect(after).toMatch(/# HELP cm_changes_pending captured changes not applied/);
});
