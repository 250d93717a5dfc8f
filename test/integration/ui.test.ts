// The Temporal Web UI as the operator's console, in a real browser (Debian's chromium driven by
// playwright-core) against the test dev server's own UI: start a tenant from the Start Workflow
// form, find it with the TenantId search attribute, run the `status` query from the Queries tab,
// and send the `runMigrationNow` and `runDataUpgradeNow` updates from the Send an Update form.
// The outcomes are checked on the client side too. Screenshots of every step are kept in
// test-artifacts/ui/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Locator, Page } from 'playwright-core';
import { browserStep, launchBrowser, waitForText as waitForUiText, waitForUi, type Browser } from '../browser';
import { buildAudit, NO_IDENTITY } from '../../client/audit';
import { getStatus, tenantHandle, waitForRun, waitForUpgrade } from '../../client/operations';
import type { WorkerHandle } from '../../worker/main';
import type { RunStarted, UpgradeStarted } from '../../workflows/messages';
import { dropCaptureFor, dropSchemas, testClient, testPool, testWorker, uniqueName, waitUntil } from '../helpers';

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'ui');

const src = uniqueName('ui_src');
const tenant = uniqueName('ui');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_ui');
const workflowId = `cloud-migration/${tenant}`;
let uiUrl: string;
let pool: Pool;
let client: Client;
let worker: WorkerHandle;
let browser: Browser | undefined;
let page: Page;
let steps: string;

/** Full-page screenshot of the current step, kept as a test artifact. */
const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/**
 * Types JSON into one of the UI's CodeMirror editors. The UI pretty-prints the JSON when the editor
 * loses focus, which moves the buttons below it: blur first and wait for the reformatted lines, so
 * the next click lands where it was aimed (a click during that reflow is silently lost).
 */
async function typeJson(editor: Locator, json: string): Promise<void> {
  await editor.click();
  await page.keyboard.insertText(json);
  await editor.blur();
  await editor.locator('.cm-line').nth(1).waitFor();
}

const waitForText = (scope: Locator, text: string | RegExp, what: string, timeout?: number): Promise<void> =>
  waitForUiText(page, scope, text, what, timeout);

/** The workflow page of the management workflow. */
async function openWorkflowPage(): Promise<void> {
  await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  await page.getByRole('heading', { name: workflowId, level: 1 }).waitFor();
}

/** Sends an update from the workflow page's More Actions → Send an Update form, under the given update id. */
async function sendUpdateFromUi(name: string, input: object, updateId: string, screenshot: string): Promise<void> {
  await openWorkflowPage();
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send an Update' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send an Update' });
  await dialog.getByRole('button', { name: 'Select an Update' }).click();
  // The options carry the handlers' descriptions (workflows/messages.ts): the form lists them.
  await page.getByRole('option', { name: new RegExp(`^${name} `) }).click();
  await dialog.getByTestId('update-id').fill(updateId);
  await typeJson(dialog.locator('[role="textbox"][data-language="json"]'), JSON.stringify(input));
  await shot(`${screenshot}-form`);
  await dialog.getByRole('button', { name: 'Submit' }).click();
  // Accepted: the dialog closes and a toast says so. Refused: the dialog stays open with the reason.
  await waitForText(page.locator('body'), 'Update successful', `"Update successful" for ${name}`);
  await shot(`${screenshot}-sent`);
}

beforeAll(async () => {
  const url = process.env.CM_TEST_UI_URL;
  if (!url) throw new Error('CM_TEST_UI_URL is not set: run integration tests through jest (global setup starts the dev server with its Web UI)');
  uiUrl = url;
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });

  pool = testPool();
  await pool.query(`CREATE SCHEMA ${src}`);
  await pool.query(`CREATE TABLE ${src}.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,2) NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${src}.item VALUES ?`, [Array.from({ length: 200 }, (_, i) => [i + 1, `item ${i + 1}`, `${i}.50`])]);
  // A harmless upgrade step: it adds a marker table to each target schema.
  // The worker's own upgrades root: the update names a version, the steps are in its folder 1.0-2.0.
  steps = mkdtempSync(join(tmpdir(), 'cm-ui-upgrades-'));
  mkdirSync(join(steps, '1.0-2.0'));
  writeFileSync(join(steps, '1.0-2.0', '001_marker.sql'), "CREATE TABLE ui_upgrade_marker (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL);\nINSERT INTO ui_upgrade_marker VALUES (1, 'from the web ui');\n");

  client = await testClient();
  worker = await testWorker(taskQueue, { upgradesRoot: steps });

  // The UI server comes up beside the frontend; it may answer a moment after it.
  await waitForUi(uiUrl, waitUntil);
  browser = await launchBrowser();
  ({ page } = browser);
});

afterAll(async () => {
  await browser?.close();
  if (steps) rmSync(steps, { recursive: true, force: true });
  if (client) await tenantHandle(client, tenant).terminate('test done').catch(() => undefined);
  await worker?.stop();
  if (pool) {
    await pool.query('DELETE FROM cm_control.schema_history WHERE tenant = ?', [tenant]).catch(() => undefined);
    await dropCaptureFor(pool, src);
    await dropSchemas(pool, src, dst);
    await pool.end();
  }
  await client?.connection.close();
});

const step = browserStep(ARTIFACTS, () => page);

step('starts the tenant from the Start Workflow form', async () => {
  await page.goto(`${uiUrl}/namespaces/default/workflows`);
  await page.getByRole('button', { name: 'Start Workflow' }).click();
  await page.getByRole('heading', { name: 'Start a Workflow' }).waitFor();
  // The form takes a field's value on its change event, as a person's Tab does.
  for (const [field, value] of [['Workflow ID', workflowId], ['Task Queue', taskQueue], ['Workflow Type', 'cloudMigration']] as const) {
    await page.getByRole('textbox', { name: field }).fill(value);
    await page.getByRole('textbox', { name: field }).press('Tab');
  }
  // The form checks the task queue: the test worker polls it.
  await waitForText(page.locator('main'), 'Task Queue is Active', '"Task Queue is Active" for the test task queue');
  await typeJson(page.locator('main [role="textbox"][data-language="json"]'), JSON.stringify({ tenant, companies: [{ source: src }] }));
  await shot('01-start-form');
  await page.getByRole('button', { name: 'Start Workflow' }).click();
  await waitForText(page.locator('body'), 'Workflow started successfully', '"Workflow started successfully"');
  await shot('02-started');

  const { type, taskQueue: queue } = await tenantHandle(client, tenant).describe();
  expect({ type, queue }).toEqual({ type: 'cloudMigration', queue: taskQueue });
  await waitUntil('setup to finish', async () => {
    const status = await getStatus(client, tenant).catch(() => undefined);
    return !!status && status.status !== 'Setup In Progress';
  }, 60_000);
  const status = await getStatus(client, tenant);
  expect(status.status).toBe('Ready');
  expect(status.companies).toEqual([{ source: src, target: dst }]);
});

step('finds the tenant in the list with the TenantId search attribute and opens it', async () => {
  await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`TenantId="${tenant}"`)}`);
  await page.getByRole('button', { name: `TenantId = "${tenant}"` }).waitFor(); // the filter is applied
  const table = page.getByRole('table', { name: 'Workflows' });
  // The management workflow and its setup child both carry the TenantId; nothing else does.
  const link = table.getByRole('link', { name: workflowId, exact: true });
  await link.waitFor();
  await table.getByRole('link', { name: `${workflowId}/setup`, exact: true }).waitFor();
  expect(await table.getByRole('row').count()).toBe(3); // header + the two
  await shot('03-list-filtered-by-tenant');
  await link.click();
  await page.getByRole('heading', { name: workflowId, level: 1 }).waitFor();
  await page.getByRole('tab', { name: /^History/ }).waitFor();
  await shot('04-workflow-page');
});

/** Runs the status query from the Queries tab and waits for the rendered tenant status. */
async function queryStatusFromUi(expected: string, screenshot: string): Promise<void> {
  await page.getByRole('tab', { name: 'Queries' }).click();
  await page.getByRole('button').filter({ has: page.getByRole('textbox', { name: 'Query Type' }) }).click();
  await page.getByRole('option', { name: /^status Refresh Status/ }).click();
  await page.getByRole('button', { name: /^(Run|Refresh) Query$/ }).click();
  const result = page.locator('main [role="textbox"]').filter({ hasText: `"tenant": "${tenant}"` });
  await waitForText(result, `"status": "${expected}"`, `the status query's result with "status": "${expected}"`);
  await shot(screenshot);
}

step('runs the status query from the Queries tab', async () => {
  await queryStatusFromUi('Ready', '05-query-status-ready');
});

step('sends runMigrationNow from the Send an Update form; the run completes', async () => {
  await sendUpdateFromUi('runMigrationNow', { requestedBy: 'ui-test' }, `ui-run-${tenant}`, '06-update-runMigrationNow');
  // The update's answer, fetched by the update id the form was given.
  const started = await tenantHandle(client, tenant).getUpdateHandle<RunStarted>(`ui-run-${tenant}`).result();
  expect(started).toMatchObject({ run: 1, kind: 'full', workflowId: `${workflowId}/run-1` });
  const entry = await waitForRun(client, tenant, started);
  expect(entry).toMatchObject({ status: 'Completed', requestedBy: 'ui-test' });
  expect((await getStatus(client, tenant)).status).toBe('Upgrade Pending');
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${dst}.item`);
  expect(Number(rows[0].n)).toBe(200);
});

step('sends runDataUpgradeNow from the Send an Update form; the upgrade completes', async () => {
  await sendUpdateFromUi('runDataUpgradeNow', { requestedBy: 'ui-test', to: '2.0' }, `ui-upgrade-${tenant}`, '07-update-runDataUpgradeNow');
  const started = await tenantHandle(client, tenant).getUpdateHandle<UpgradeStarted>(`ui-upgrade-${tenant}`).result();
  expect(started).toMatchObject({ number: 1, workflowId: `${workflowId}/upgrade-1` });
  const entry = await waitForUpgrade(client, tenant, started);
  if (entry.status !== 'Complete') console.error(entry);
  expect(entry).toMatchObject({ status: 'Complete', requestedBy: 'ui-test', from: '1.0', to: '2.0' });
  const status = await getStatus(client, tenant);
  expect(status.status).toBe('Upgrade completed successfully');
  expect(status.environmentState).toBe('Active');
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT note FROM ${dst}.ui_upgrade_marker`);
  expect(rows.map((r) => r.note)).toEqual(['from the web ui']);

  // The operator sees it too: the status query in the UI, and both updates in the history.
  await openWorkflowPage();
  await queryStatusFromUi('Upgrade completed successfully', '08-query-status-upgraded');
  await page.getByRole('tab', { name: /^History/ }).click();
  for (const name of ['runMigrationNow', 'runDataUpgradeNow']) {
    await page.getByRole('row', { name: new RegExp(`Workflow Execution Update Accepted Name ${name}$`) }).waitFor();
  }
  // Each update's answer, as the history shows it (the row's name cuts the payload short).
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const answer of ['{"run":1,"workflowId":"cloud-migration/', '{"number":1,"workflowId":"cloud-migration/']) {
    await page.getByRole('row', { name: new RegExp(`Workflow Execution Update Completed Outcome Success ${escape(answer)}`) }).waitFor();
  }
  await page.getByRole('row', { name: /Workflow Execution Update Accepted Name runDataUpgradeNow$/ }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(ARTIFACTS, '09-history-with-updates.png') });
});

step('the audit records the client identity the Web UI sent with its updates, and says when it sent none', async () => {
  const events = await buildAudit(client, tenant);
  const fromUi = events.filter((e) => e.kind === 'update.runMigrationNow' || e.kind === 'update.runDataUpgradeNow');
  expect(fromUi.map((e) => e.kind)).toEqual(['update.runMigrationNow', 'update.runDataUpgradeNow']);
  const created = events.find((e) => e.kind === 'tenant.created')!;
  for (const e of [created, ...fromUi]) {
    // The identity is recorded exactly as sent: the dev server's UI (no sign-in) sends an empty one.
    const identity = (e.details as { identity?: string }).identity;
    expect(identity).toBe('');
    expect(e.summary).toContain(`(${NO_IDENTITY})`);
  }
  for (const e of fromUi) expect(e.actor).toBe('ui-test'); // who, from the requestedBy the operator typed
});
