// Contract item 7 in the Web UI (Debian's chromium driven by playwright-core, as in ui.test.ts):
// malformed JSON typed into the Start Workflow form is refused by the form itself, with the text it
// shows, and starts nothing; well-formed JSON with a bad tenant name starts the workflow, which
// fails at once with a message naming the field and the rule; an input that is JSON but not an
// object (null, or no input at all) must fail the same clear way, not leave a workflow stuck.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { Locator, Page } from 'playwright-core';
import { browserStep, launchBrowser, waitForText as waitForUiText, waitForUi, type Browser } from '../browser';
import { managementWorkflowId } from '../../lib/constants';
import { uniqueName, waitUntil } from '../helpers';
import { tenantFixture } from '../fixture';

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'bad-input-ui');
const f = tenantFixture('biui', {
  cleanup: async (f) => {
    for (const wf of started) await f.client.workflow.getHandle(wf).terminate('test done').catch(() => undefined);
  },
});
const started: string[] = [];
let uiUrl: string;
let browser: Browser | undefined;
let page: Page;

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

const waitForText = (scope: Locator, text: string | RegExp, what: string, timeout?: number): Promise<void> =>
  waitForUiText(page, scope, text, what, timeout);

/** Opens Start Workflow and fills the three fields; waits until the form sees the test worker. */
async function openStartForm(workflowId: string): Promise<Locator> {
  await page.goto(`${uiUrl}/namespaces/default/workflows`);
  await page.getByRole('button', { name: 'Start Workflow' }).click();
  await page.getByRole('heading', { name: 'Start a Workflow' }).waitFor();
  for (const [field, value] of [['Workflow ID', workflowId], ['Task Queue', f.taskQueue], ['Workflow Type', 'cloudMigration']] as const) {
    await page.getByRole('textbox', { name: field }).fill(value);
    await page.getByRole('textbox', { name: field }).press('Tab');
  }
  await waitForText(page.locator('main'), 'Task Queue is Active', '"Task Queue is Active" for the test task queue');
  return page.locator('main [role="textbox"][data-language="json"]');
}

/** Replaces the editor's text the way a person pastes, then leaves the field. */
async function replaceInput(editor: Locator, text: string): Promise<void> {
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  await editor.blur();
}

beforeAll(async () => {
  const url = process.env.CM_TEST_UI_URL;
  if (!url) throw new Error('CM_TEST_UI_URL is not set: run integration tests through jest (global setup)');
  uiUrl = url;
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  await waitForUi(uiUrl, waitUntil);
  browser = await launchBrowser();
  ({ page } = browser);
});

afterAll(async () => {
  await browser?.close();
});

const step = browserStep(ARTIFACTS, () => page);

step('item 7: malformed JSON in Start Workflow: the form says "Input must be valid JSON", cannot be submitted, and starts nothing', async () => {
  const workflowId = managementWorkflowId(f.tenant);
  started.push(workflowId);
  const editor = await openStartForm(workflowId);
  const submit = page.getByRole('button', { name: 'Start Workflow' });
  // A quote forgotten around a key, a bracket never closed: what a hand-typed input looks like.
  await replaceInput(editor, `{"tenant": "${f.tenant}", companies: [{"source": "x"}}`);
  await waitForText(page.locator('main'), 'Input must be valid JSON', 'the form\'s JSON error');
  await shot('01-malformed-json');
  expect(await submit.isDisabled()).toBe(true);
  await submit.click({ force: true, timeout: 2_000 }).catch(() => undefined); // a click anyway does nothing
  await expect(f.client.workflow.getHandle(workflowId).describe()).rejects.toThrow(/not found/i);

  // The same form with the JSON fixed can be submitted: it was the JSON, not something else.
  await replaceInput(editor, JSON.stringify({ tenant: f.tenant, companies: [{ source: 'x' }] }));
  await page.getByText('Input must be valid JSON').waitFor({ state: 'detached' });
  expect(await submit.isEnabled()).toBe(true);
  await shot('02-fixed-json');
});

step('item 3: a tenant name with a space, typed in the UI: the workflow fails at once naming the field and the rule, visible on its page', async () => {
  const badTenant = `${uniqueName('acme')} corp`;
  const workflowId = managementWorkflowId(badTenant);
  started.push(workflowId);
  const editor = await openStartForm(workflowId);
  await replaceInput(editor, JSON.stringify({ tenant: badTenant, companies: [{ source: 'x' }] }));
  await page.getByRole('button', { name: 'Start Workflow' }).click();
  await waitForText(page.locator('body'), 'Workflow started successfully', '"Workflow started successfully"');
  const handle = f.client.workflow.getHandle(workflowId);
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause?.message).toBe('invalid tenant input: tenant: use letters, digits, _ . - (at most 64)');
  await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  await waitForText(page.locator('main'), 'invalid tenant input: tenant: use letters, digits, _ . - (at most 64)', 'the failure message on the workflow page');
  await shot('03-bad-tenant-failed');
});

for (const [what, args] of [['null', [null]], ['no input at all', []], ['a string', ['acme']]] as const) {
  it(`item 7: Start Workflow with ${what} as input fails the workflow with a clear message, instead of leaving it stuck`, async () => {
    const workflowId = `${managementWorkflowId(f.tenant)}-${what.replace(/\W+/g, '-')}`;
    started.push(workflowId);
    const handle = await f.client.workflow.start('cloudMigration', { workflowId, taskQueue: f.taskQueue, args: [...args] });
    let closed = false;
    await waitUntil(`${workflowId} to close`, async () => (closed = (await handle.describe()).status.name !== 'RUNNING'), 20_000).catch(() => undefined);
    if (!closed) {
      // What the operator sees instead: a workflow that stays Running with a failing workflow task.
      const { events } = await handle.fetchHistory();
      const wft = (events ?? []).map((e) => e.workflowTaskFailedEventAttributes?.failure?.message).filter(Boolean);
      throw new Error(`${workflowId} is still Running after 20 s; its workflow task fails with: ${wft[wft.length - 1] ?? '(nothing recorded)'}`);
    }
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    // It says what was expected: an object (not a list of fields that are "missing" from a string's characters).
    expect((err as WorkflowFailedError).cause?.message).toMatch(/^invalid tenant input: .*\bobject\b/);
    expect((err as WorkflowFailedError).cause?.message).not.toMatch(/Unrecognized key/);
  });
}
