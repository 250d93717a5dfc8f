// The Cloud Migration Management page in a real browser (Debian's chromium driven by playwright-core):
// `cm ui`'s server against the test dev server, a worker whose upgrade step fails. Driven as an
// operator would: find the tenant, run a migration, open the failed tables from their tile, start a
// data upgrade, watch it fail and restore, read its stack trace, reset with a typed confirmation.
// What the page says is checked against the databases. Screenshots in test-artifacts/ui-page/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { browserStep, launchBrowser, waitForText as waitForUiText, type Browser } from '../browser';
import { startUiServer, type UiServer } from '../../client/ui-server';
import { createTenant, getStatus, runResult } from '../../client/operations';
import { count, ensureUiBuilt, expectSameTable, testWorker, waitUntil } from '../helpers';
import { tenantFixture } from '../fixture';
import { firstDifference, lakeRows, readManifest, sourceRows } from '../lake';

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'ui-page');
let steps: string;
let lake = '';
const f = tenantFixture('uip', { worker: false, cleanup: async () => {
  await browser?.close();
  await ui?.close();
  if (steps) rmSync(steps, { recursive: true, force: true });
  if (lake) rmSync(lake, { recursive: true, force: true });
} });
let ui: UiServer;
let browser: Browser | undefined;
let page: Page;

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
const waitForText = (scope: Locator, text: string | RegExp, what: string, timeout?: number): Promise<void> => waitForUiText(page, scope, text, what, timeout);
const section = (name: string): Locator => page.getByRole('region', { name });
/** The status of a raw request (fetch cannot set Host). */
const statusOf = (o: { port: number; path: string; method?: string; headers?: Record<string, string> }): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: o.port, path: o.path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(o.method === 'POST' ? '{}' : undefined);
  });

beforeAll(async () => {
  ensureUiBuilt();
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const { src, pool } = f;
  await pool.query(`CREATE SCHEMA ${src}`);
  await pool.query(`CREATE TABLE ${src}.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${src}.item VALUES ?`, [Array.from({ length: 120 }, (_, i) => [i + 1, `item ${i + 1}`])]);
  // Every row a zero date the target refuses: none arrives, so the table is Failed, with the reason.
  await pool.query(`CREATE TABLE ${src}.posting (id INT PRIMARY KEY, d DATE NOT NULL) ENGINE=InnoDB`);
  const lax = await pool.getConnection();
  await lax.query("SET SESSION sql_mode = ''");
  await lax.query(`INSERT INTO ${src}.posting VALUES (1, '0000-00-00'), (2, '0000-00-00')`);
  lax.release();
  // The worker's upgrade 1.0 → 2.0 fails at its second statement: the restore puts everything back.
  steps = mkdtempSync(join(tmpdir(), 'cm-uip-upgrades-'));
  mkdirSync(join(steps, '1.0-2.0'));
  writeFileSync(join(steps, '1.0-2.0', '001_rename_items.sql'), "UPDATE item SET name = CONCAT(name, ' (upgraded)');\nSELECT missing_column FROM item;\n");
  // The lake destination the page names, as the worker (this process) knows it.
  lake = mkdtempSync(join(tmpdir(), 'cm-uip-lake-'));
  process.env.CM_LAKE_UIPAGE_URI = `file://${lake}`;
  f.worker = await testWorker(f.taskQueue, { upgradesRoot: steps });
  const { status } = await createTenant(f.client, f.taskQueue, { tenant: f.tenant, companies: [{ source: src }], requestedBy: 'jest' });
  expect(status.status).toBe('Ready');

  ui = await startUiServer(f.client, { port: 0, operator: 'jest-operator' });
  browser = await launchBrowser();
  ({ page } = browser);
});

const step = browserStep(ARTIFACTS, () => page);

step('finds the tenant in the list and opens its page', async () => {
  await page.goto(ui.url);
  await page.getByRole('heading', { name: 'Tenants' }).waitFor();
  await page.getByLabel('Find a tenant').fill(f.tenant.slice(0, 12));
  await page.getByRole('link', { name: f.tenant }).click();
  await page.getByRole('heading', { name: `Cloud Migration Management: ${f.tenant}` }).waitFor();
  await waitForText(page.getByTestId('tenant-status'), 'Ready', 'the status Ready');
  await shot('1-tenant');
});

step('runs a migration from its button and follows it to the Migration Log', async () => {
  await section('Actions').getByRole('button', { name: 'Run Migration Now' }).click();
  const form = page.getByRole('form', { name: 'Run Migration Now' });
  await form.getByLabel('Reason').fill('first copy, from the browser');
  await form.getByRole('button', { name: 'Run Migration Now' }).click();
  await waitForText(section('Actions'), /Run #1 started \(full copy\)/, 'the run started');
  await waitForText(section('Migration Log'), /first copy, from the browser/, 'the run in the Migration Log');
  await waitUntil('the run to end', async () => (await getStatus(f.client, f.tenant)).log[0]?.status !== 'In Progress', 120_000);
  await waitForText(page.getByRole('button', { name: /^Failed: 1$/ }), '1', 'the Failed tile at 1');
  await shot('2-run');
  // The page's figures are the databases': the copied table equals its source, the failed one is empty.
  await expectSameTable(f.pool, [f.src, 'item'], [f.dst, 'item']);
  expect(await count(f.pool, f.dst, 'posting')).toBe(0);
  const log = (await getStatus(f.client, f.tenant)).log[0];
  expect(log.requestedBy).toBe('jest-operator (browser)'); // identity and reason recorded, as from the CLI
  expect(log.reason).toBe('first copy, from the browser');
  // The Temporal UI tells the same: a run with a failed table is a failed workflow, its result in the failure.
  expect(log.status).toBe('Failed');
  expect((await f.client.workflow.getHandle(log.workflowId).describe()).status.name).toBe('FAILED');
  const result = await runResult(f.client, log.workflowId);
  expect(result.tables.find((t) => t.key === `${f.src}.posting`)?.status).toBe('Failed');
});

step('opens the failed tables from their tile, with the reason', async () => {
  await page.getByRole('button', { name: /^Failed: 1$/ }).click();
  const tables = section('Tables');
  await waitForText(tables, 'Tables: Failed', 'the Failed filter');
  await waitForText(tables, 'Page 1 of 1 (1 tables)', 'the failed tables only');
  await waitForText(tables, `${f.src}.posting`, 'the failed table');
  await waitForText(tables, /date/i, 'the reason it failed');
  expect(await tables.getByText(`${f.src}.item`).count()).toBe(0);
  await shot('3-failed-tables');
});

step('after the source is fixed, a second run completes and the Failed tile goes to 0', async () => {
  // An upgrade needs a completed run: the operator fixes the zero dates on the source and runs again.
  await f.pool.query(`UPDATE ${f.src}.posting SET d = '2024-01-31'`);
  await section('Actions').getByRole('button', { name: 'Run Migration Now' }).click();
  await page.getByRole('form', { name: 'Run Migration Now' }).getByRole('button', { name: 'Run Migration Now' }).click();
  await waitForText(section('Actions'), /Run #2 started \(changes only\)/, 'the second run started');
  await waitUntil('the second run to end', async () => (await getStatus(f.client, f.tenant)).log[1]?.status === 'Completed', 120_000);
  await waitForText(page.getByRole('button', { name: /^Failed: 0$/ }), '0', 'the Failed tile at 0');
  await expectSameTable(f.pool, [f.src, 'posting'], [f.dst, 'posting']);
  await shot('4-fixed');
});

step('starts a data upgrade, watches it fail and restore, and shows its stack trace', async () => {
  await section('Actions').getByRole('button', { name: 'Run Data Upgrade Now' }).click();
  const form = page.getByRole('form', { name: 'Run Data Upgrade Now' });
  await form.getByLabel('Reason').fill('upgrade from the browser');
  await form.getByRole('button', { name: 'Run Data Upgrade Now' }).click();
  await waitForText(section('Actions'), /Data upgrade #1 started/, 'the upgrade started');
  const ops = section('Environment Operations');
  await waitForText(ops, /restored to the point before the upgrade/, 'the upgrade failed and restored', 120_000);
  await waitForText(ops, /001_rename_items/, 'the failed step');
  await ops.getByText('Stack trace').click();
  await waitForText(ops.locator('pre.stack'), /missing_column/, 'the stack trace with the error');
  await shot('5-upgrade-restored');
  // Restored: the step's UPDATE is gone, the table equals its source again.
  await expectSameTable(f.pool, [f.src, 'item'], [f.dst, 'item']);
  await waitForText(page.getByTestId('tenant-status'), 'Upgrade Pending', 'the status back to Upgrade Pending');
});

step('resets the cloud data only with the tenant name typed', async () => {
  await section('Actions').getByRole('button', { name: 'Reset Cloud Data' }).click();
  const form = page.getByRole('form', { name: 'Reset Cloud Data' });
  const submit = form.getByRole('button', { name: 'Reset Cloud Data' });
  expect(await submit.isDisabled()).toBe(true);
  await form.getByLabel('Confirm tenant name').fill('not-the-tenant');
  expect(await submit.isDisabled()).toBe(true);
  expect(await count(f.pool, f.dst, 'item')).toBe(120); // nothing happened
  await form.getByLabel('Confirm tenant name').fill(f.tenant);
  await form.getByLabel('Reason').fill('start over');
  await shot('6-reset-form');
  await submit.click();
  await waitForText(section('Actions'), /Target emptied: 2 tables, 122 rows/, 'the reset done');
  expect(await count(f.pool, f.dst, 'item')).toBe(0);
  await shot('6-reset-done');
});

step('exports to the data lake from the page, and the lake reads back equal to the source', async () => {
  await section('Actions').getByRole('button', { name: 'Azure Data Lake' }).click();
  const form = page.getByRole('form', { name: 'Azure Data Lake' });
  await form.getByLabel(/^Destination/).fill('uipage'); // a name: the worker maps it to its folder
  await form.getByLabel('Reason').fill('keep a copy in the lake');
  await form.getByRole('button', { name: 'Azure Data Lake' }).click();
  await waitForText(section('Actions'), /Data lake export started: cloud-migration\//, 'the export started');
  await waitForText(section('Data lake exports'), /#1 migratedCompleted/, 'the export completed on the page', 120_000);
  await shot('8-lake-export');
  const manifest = await readManifest(lake, f.tenant, 'migrated');
  expect(Object.keys(manifest.tables).sort()).toEqual([`${f.src}.item`, `${f.src}.posting`]);
  for (const table of ['item', 'posting']) {
    const t = manifest.tables[`${f.src}.${table}`];
    expect({ table, difference: firstDifference((await lakeRows(lake, t)).rows, await sourceRows(f.pool, f.src, table)) }).toEqual({ table, difference: undefined });
  }
  expect((await getStatus(f.client, f.tenant)).lakeExports?.[0]).toMatchObject({ status: 'Completed', requestedBy: 'jest-operator (browser)', reason: 'keep a copy in the lake' });
});

step('refuses what the workflow refuses, with its reason, and a request from elsewhere', async () => {
  // A hotfix with a SQL error: the database's message, not "Activity task failed".
  await section('Actions').getByRole('button', { name: 'Apply Hotfix' }).click();
  const form = page.getByRole('form', { name: 'Apply Hotfix' });
  await form.getByRole('button', { name: 'Apply Hotfix' }).click();
  await waitForText(form, /Required: Name, SQL/, 'the form\'s own validation');
  await form.getByLabel('Name').fill('broken');
  await form.getByLabel('SQL').fill('UPDATE no_such_table SET x = 1');
  await form.getByRole('button', { name: 'Apply Hotfix' }).click();
  await waitForText(form, /hotfix refused: .*no_such_table/, 'the SQL error');
  await shot('7-hotfix-refused');
  // Another site's page cannot act through the operator's browser.
  const forged = await fetch(`${ui.url}api/tenants/${f.tenant}/reset`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: JSON.stringify({ confirm: f.tenant }),
  });
  expect(forged.status).toBe(403);
  const form2 = await fetch(`${ui.url}api/tenants/${f.tenant}/reset`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `confirm=${f.tenant}` });
  expect(form2.status).toBe(403);
  const sandboxed = await fetch(`${ui.url}api/tenants/${f.tenant}/reset`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'null' }, body: '{}' });
  expect(sandboxed.status).toBe(403);
  // A name rebound to this machine (DNS rebinding) is not one the server answers to.
  const { port } = new URL(ui.url);
  expect(await statusOf({ port: Number(port), path: '/api/tenants', headers: { host: `evil.example:${port}` } })).toBe(403);
  expect(await statusOf({ port: Number(port), path: `/api/tenants/${f.tenant}/constructor`, method: 'POST', headers: { 'content-type': 'application/json' } })).toBe(404);
  expect(await statusOf({ port: Number(port), path: '/api/tenants/%E0%A4%A' })).toBe(400);
});
