// The audit trail (`cm audit`), read back from history only, over one tenant's whole story: setup,
// a full run, a delta run, a runtime key reset, a failed and restored upgrade, a successful one, across a continue-as-new.
// Then the contract's item 5: no credential the worker holds ever reaches any of those histories.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createConnection, type Connection, type Pool } from 'mysql2/promise';
import { ConnectionRegistry } from '../../activities/connections';
import { keyId, RuntimeKeyFiles } from '../../activities/runtime-key';
import { buildAudit, renderAuditMarkdown, renderAuditText, type AuditEvent } from '../../client/audit';
import { createTenant, getStatus, resetRuntimeServiceKey, runDataUpgradeNow, runMigrationNow, tenantHandle, waitForRun, waitForUpgrade } from '../../client/operations';
import { managementWorkflowId } from '../../lib/constants';
import type { Requester, TableRunResult } from '../../lib/types';
import { startWorker, type WorkerHandle } from '../../worker/main';
import { runMigrationNowSignal } from '../../workflows/messages';
import { historyToJson } from '../histories/scenario';
import { dropCaptureFor, dropSchemas, settingsFor, testClient, testPool, uniqueName, waitUntil } from '../helpers';

const src = uniqueName('aud_src');
const tenant = uniqueName('aud');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_aud');
// Alphanumeric and long: no window of 12 characters turns up in a history by chance.
const secret = (): string => `Pw${randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 26)}`;
const appUser = uniqueName('app');
const appPassword = secret();
const workerUser = uniqueName('cm_audit');
const workerPassword = secret();
const workerUrl = `mysql://${workerUser}:${workerPassword}@127.0.0.1:3306`;

const who = {
  create: { requestedBy: 'alice', reason: 'TICKET-1 onboard the tenant' },
  full: { requestedBy: 'bob', reason: 'first copy' },
  delta: { requestedBy: 'carol', reason: 'nightly after a day of changes' },
  script: { requestedBy: 'nightly-script', reason: 'cron' },
  upgrade1: { requestedBy: 'dave', reason: 'CHG-7 upgrade to 2.0' },
  upgrade2: { requestedBy: 'erin', reason: 'CHG-8 retry with the fixed step' },
  keyReset: { requestedBy: 'frank', reason: 'SEC-3 key shown in a screen share' },
};
const keyDir = mkdtempSync(join(tmpdir(), 'cm-audit-keys-'));
const runtimeKeys = new RuntimeKeyFiles({ CM_RUNTIME_KEY_DIR: keyDir });
const keysSeen: string[] = [];

let pool: Pool;
let client: Client;
let worker: WorkerHandle | undefined;
let session: Connection | undefined;
let events: AuditEvent[];
/** The worker's own upgrades root: requests name a version, the steps are in its folder 1.0-2.0. */
const upgradesRoot = mkdtempSync(join(tmpdir(), 'cm-audit-upgrades-'));
const tempDirs: string[] = [keyDir, upgradesRoot];

/** Puts these steps, and only these, in the root's folder 1.0-2.0. */
function steps(files: Record<string, string>): void {
  const dir = join(upgradesRoot, '1.0-2.0');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
}

beforeAll(async () => {
  pool = testPool();
  await pool.query(`CREATE SCHEMA ${src}`);
  await pool.query(`CREATE TABLE ${src}.customer (code VARCHAR(20) PRIMARY KEY, name VARCHAR(100) NOT NULL)`);
  await pool.query(`CREATE TABLE ${src}.orders (id INT PRIMARY KEY, customer_code VARCHAR(20) NOT NULL, amount DECIMAL(12,2) NOT NULL)`);
  await pool.query(`CREATE TABLE ${src}.notes (txt VARCHAR(40) NOT NULL)`); // no key: Warning every run
  await pool.query(`CREATE TABLE ${src}.user (id INT PRIMARY KEY, login VARCHAR(40) NOT NULL)`); // Not Migrated by design
  await pool.query(`INSERT INTO ${src}.customer VALUES ?`, [Array.from({ length: 20 }, (_, i) => [`C${i}`, `Customer ${i}`])]);
  await pool.query(`INSERT INTO ${src}.orders VALUES ?`, [Array.from({ length: 100 }, (_, i) => [i + 1, `C${i % 20}`, `${i}.25`])]);
  await pool.query(`INSERT INTO ${src}.notes VALUES ('a'), ('b')`);
  await pool.query(`INSERT INTO ${src}.user VALUES (1, 'admin')`);

  // The worker reaches MySQL as its own account with a password, as a real runtime would.
  await pool.query('CREATE USER ?@? IDENTIFIED BY ?', [workerUser, '%', workerPassword]);
  await pool.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [workerUser, '%']);
  await pool.query('CREATE USER ?@? IDENTIFIED BY ?', [appUser, '%', appPassword]);
  const env: NodeJS.ProcessEnv = { ...process.env, MYSQL_URL: workerUrl };
  delete env.CM_CONN_LOCAL_URL;
  client = await testClient();
  worker = await startWorker({ settings: settingsFor(taskQueue), workflowBundlePath: process.env.CM_TEST_WORKFLOW_BUNDLE, registry: new ConnectionRegistry(env), runtimeKeys, upgradesRoot });
});

afterAll(async () => {
  await session?.end().catch(() => undefined);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  await tenantHandle(client, tenant).terminate('test done').catch(() => undefined);
  await worker?.stop();
  await pool.query('DROP USER IF EXISTS ?@?', [appUser, '%']);
  await pool.query('DROP USER IF EXISTS ?@?', [workerUser, '%']);
  for (const t of ['environment', 'schema_history', 'fence_change', 'runtime_key']) await pool.query(`DELETE FROM cm_control.${t} WHERE tenant = ?`, [tenant]).catch(() => undefined);
  await dropCaptureFor(pool, src);
  await dropSchemas(pool, src, dst);
  await pool.end();
  await client.connection.close();
});

it('tells the whole story from history: who, why, what each run and upgrade did', async () => {
  const created = await createTenant(client, taskQueue, { tenant, companies: [{ source: src }], appUsers: [appUser], continueAsNewAfterEvents: 100,
    // The machine's root is the test harness's account: the fence leaves it alone, as a tenant would a DBA's.
    fenceExemptAccounts: ['root'], ...who.create });
  expect(created.status.status).toBe('Ready');
  const firstRunId = (await tenantHandle(client, tenant).describe()).runId;
  keysSeen.push(runtimeKeys.read(tenant)!);

  const full = await runMigrationNow(client, tenant, who.full);
  expect((await waitForRun(client, tenant, full)).status).toBe('Completed');
  await pool.query(`UPDATE ${src}.customer SET name = 'Renamed' WHERE code IN ('C1', 'C2')`);
  await pool.query(`INSERT INTO ${src}.orders VALUES (1000, 'C3', 9.99)`);
  await pool.query(`DELETE FROM ${src}.orders WHERE id <= 3`);
  const delta = await runMigrationNow(client, tenant, who.delta);
  expect(delta.kind).toBe('delta');
  expect((await waitForRun(client, tenant, delta)).status).toBe('Completed');
  const rotated = await resetRuntimeServiceKey(client, tenant, who.keyReset);
  keysSeen.push(runtimeKeys.read(tenant)!);
  expect(rotated.keyId).toBe(keyId(keysSeen[1]));

  // A script sends malformed signals (an unknown field): each is refused and recorded on the page.
  // They also grow the history past 100 events, so the rest happens in a continued-as-new run.
  for (let i = 0; (await tenantHandle(client, tenant).describe()).runId === firstRunId; i++) {
    if (i > 80) throw new Error('no continue-as-new after 80 signals');
    await tenantHandle(client, tenant).signal(runMigrationNowSignal, { ...who.script, bogus: i } as Requester);
  }

  await pool.query(`GRANT SELECT ON \`${dst}\`.* TO ?@?`, [appUser, '%']);
  session = await createConnection({ host: '127.0.0.1', port: 3306, user: appUser, password: appPassword, database: dst });
  steps({ '001_add_note.sql': 'ALTER TABLE customer ADD COLUMN note VARCHAR(20) NULL;', '002_broken.sql': 'UPDATE no_such_table SET x = 1;' });
  const failed = await runDataUpgradeNow(client, tenant, who.upgrade1);
  expect(await waitForUpgrade(client, tenant, failed)).toMatchObject({ status: 'Failed', restored: true, failedStep: '002_broken' });
  steps({ '001_add_note.sql': 'ALTER TABLE customer ADD COLUMN note VARCHAR(20) NULL;', '002_fill_note.sql': "UPDATE customer SET note = 'ok';" });
  const fixed = await runDataUpgradeNow(client, tenant, { ...who.upgrade2, to: '2.0' });
  expect(await waitForUpgrade(client, tenant, fixed)).toMatchObject({ status: 'Complete', from: '1.0', to: '2.0' });
  // A refused update: the caller hears why, and by design history keeps nothing of it.
  await expect(runMigrationNow(client, tenant, { requestedBy: 'mallory', reason: 'refused-on-purpose' })).rejects.toThrow(/run refused/);

  events = await buildAudit(client, tenant);
  const text = renderAuditText(tenant, events);
  if (process.env.CM_AUDIT_PRINT) process.stdout.write(`${text}\n${renderAuditMarkdown(tenant, events)}\n`);

  // In time order, the milestones an auditor asks about.
  const at = (kind: string, match: (e: AuditEvent) => boolean = () => true, from = 0): number => {
    const i = events.findIndex((e, n) => n >= from && e.kind === kind && match(e));
    if (i < 0) throw new Error(`no ${kind} event after #${from} in:\n${text}`);
    return i;
  };
  const sorted = [...events].sort((a, b) => a.at.localeCompare(b.at));
  expect(events.map((e) => e.at)).toEqual(sorted.map((e) => e.at));
  const mgmt = managementWorkflowId(tenant);
  const iCreated = at('tenant.created');
  expect(events[iCreated]).toMatchObject({ actor: who.create.requestedBy, reason: who.create.reason, workflowId: mgmt, runId: firstRunId });
  expect((events[iCreated].details as { identity?: string }).identity).toMatch(/\S/); // the client that started it
  const iSetup = at('setup.completed', () => true, iCreated);
  expect(events[iSetup].summary).toMatch(/4 tables assessed, 3 created on the target.*1 not migrated: .*\.user \(/);

  const iAsk1 = at('update.runMigrationNow', (e) => e.actor === who.full.requestedBy, iSetup);
  expect(events[iAsk1]).toMatchObject({ reason: who.full.reason, runId: firstRunId });
  expect(events[iAsk1].summary).toContain(full.workflowId);
  expect((events[iAsk1].details as { identity?: string }).identity).toMatch(/\S/);
  const iRun1 = at('run.completed', (e) => e.workflowId === full.workflowId, at('run.started', (e) => /full/.test(e.summary), iAsk1));
  const tables1 = (events[iRun1].details as { tables: TableRunResult[] }).tables;
  expect(Object.fromEntries(tables1.map((t) => [t.key.split('.')[1], [t.status, t.fullLoadRows, t.errors]]))).toEqual({
    customer: ['Successful', 20, 0], orders: ['Successful', 100, 0], notes: ['Warning', 2, 0],
  });
  expect(text).toMatch(new RegExp(`${src}\\.orders: Successful, 100 rows \\(full load 100`));

  const iAsk2 = at('update.runMigrationNow', (e) => e.actor === who.delta.requestedBy, iRun1);
  expect(events[iAsk2].reason).toBe(who.delta.reason);
  const iRun2 = at('run.completed', (e) => e.workflowId === delta.workflowId, at('run.started', (e) => /delta/.test(e.summary), iAsk2));
  const orders2 = (events[iRun2].details as { tables: TableRunResult[] }).tables.find((t) => t.key.endsWith('.orders'))!;
  expect(orders2).toMatchObject({ status: 'Successful', fullLoadRows: 0, deletes: 3, errors: 0 });
  expect(orders2.inserts + orders2.updates).toBe(1);

  const iKey = at('update.resetRuntimeServiceKey', (e) => e.actor === who.keyReset.requestedBy, iRun2);
  expect(events[iKey].reason).toBe(who.keyReset.reason);
  expect(events[iKey].summary).toContain(`runtime service key ${keyId(keysSeen[1])}`);

  // The refused signals: in history as received, and from the page as refused.
  const iSignal = at('signal.runMigrationNow', () => true, iRun2);
  expect(events[iSignal]).toMatchObject({ actor: who.script.requestedBy, reason: who.script.reason });
  expect(at('refusal', (e) => e.actor === who.script.requestedBy && /invalid request/.test(e.summary), iRun2)).toBeGreaterThan(iRun2);
  const iContinued = at('tenant.continued-as-new', () => true, iSignal);

  const iAskU1 = at('update.runDataUpgradeNow', (e) => e.actor === who.upgrade1.requestedBy, iContinued);
  expect(events[iAskU1].reason).toBe(who.upgrade1.reason);
  expect(events[iAskU1].runId).not.toBe(firstRunId);
  const u1 = (e: AuditEvent): boolean => e.workflowId === failed.workflowId;
  const iStarted1 = at('upgrade.started', u1, iAskU1);
  expect(events[iStarted1].summary).toMatch(/^Data upgrade #1 started from version 1\.0 to the next version on /);
  // The steps are read and checked before the fence goes up.
  const iPlan1 = at('upgrade.plan', u1, iStarted1);
  expect(events[iPlan1].summary).toBe('Upgrade 1.0-2.0 (1.0 → 2.0): 2 steps: 001_add_note, 002_broken');
  const iFence1 = at('upgrade.fence-up', u1, iPlan1);
  // Every account that can write is locked (the machine's own admin accounts too), never cm's own
  // (the worker's) nor an exempt one.
  const locked1 = (events[iFence1].details as { lockedAccounts: string[] }).lockedAccounts;
  expect(locked1).toContain(`'${appUser}'@'%'`);
  expect(locked1.filter((a) => a.startsWith("'root'@") || a.includes(workerUser))).toEqual([]);
  expect((events[iFence1].details as { killedSessions: number }).killedSessions).toBeGreaterThanOrEqual(1); // the open session
  const iPoint1 = at('upgrade.restore-point', u1, iFence1);
  expect(events[iPoint1].summary).toContain(`${dst} (3 tables)`);
  const iStepFailed = at('upgrade.step-failed', u1, at('upgrade.step', (e) => u1(e) && /001_add_note: applied/.test(e.summary), iPoint1));
  const failure = new RegExp(`upgrade step 002_broken failed on ${dst}: Table '${dst}.no_such_table' doesn't exist`);
  expect(events[iStepFailed].summary).toMatch(failure);
  const iRestored = at('upgrade.restored', u1, iStepFailed);
  expect(events[iRestored].summary).toMatch(/3 tables swapped back, 3 tables verified/);
  const iDown1 = at('upgrade.fence-down', u1, iRestored);
  expect(events[iDown1].details).toMatchObject({ unlockedAccounts: expect.arrayContaining(locked1), environmentState: 'Active' });
  expect((events[iDown1].details as { unlockedAccounts: string[] }).unlockedAccounts).toHaveLength(locked1.length);
  expect(events[at('upgrade.failed', u1, iDown1)].summary).toMatch(failure);

  const iAskU2 = at('update.runDataUpgradeNow', (e) => e.actor === who.upgrade2.requestedBy, iDown1);
  expect(events[iAskU2].reason).toBe(who.upgrade2.reason);
  const u2 = (e: AuditEvent): boolean => e.workflowId === fixed.workflowId;
  expect(events[at('upgrade.started', u2, iAskU2)].summary).toMatch(/^Data upgrade #2 started from version 1\.0 to 2\.0 on /);
  const iFence2 = at('upgrade.fence-up', u2, at('upgrade.plan', u2, iAskU2));
  const iSteps2 = at('upgrade.step', (e) => u2(e) && /002_fill_note: applied/.test(e.summary), at('upgrade.restore-point', u2, iFence2));
  const iDone2 = at('upgrade.completed', u2, at('upgrade.fence-down', u2, iSteps2));
  expect(events[iDone2].summary).toMatch(/1\.0 → 2\.0, 001_add_note applied, 002_fill_note applied/);
  expect(events.some((e) => e.kind === 'upgrade.restored' && u2(e))).toBe(false);

  // Every operator action carries who and why; the refused update is nowhere, and the text says so.
  for (const e of events.filter((x) => /^(update|signal)\./.test(x.kind))) {
    expect(Object.values(who)).toContainEqual({ requestedBy: e.actor, reason: e.reason });
  }
  expect(JSON.stringify(events)).not.toContain('refused-on-purpose');
  expect(text).toMatch(/Refused updates leave no trace in workflow history by design/);
  const md = renderAuditMarkdown(tenant, events);
  expect(md).toMatch(/^# Audit of tenant/);
  expect(md).toMatch(/\| .*orders \| Successful \| 100 \| 100 \|/);
  expect(md).toMatch(/Refused updates leave no trace/);
});

/** A history with every payload's bytes (inputs, results, failures, memos, headers…) decoded as UTF-8. */
function decodedText(history: unknown): string {
  const plain = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === 'object') {
      if (typeof (v as { toNumber?: unknown }).toNumber === 'function') return String(v); // Long
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    }
    return v;
  };
  return JSON.stringify(plain(history));
}

it('no password or credential URL appears in any history of the tenant', async () => {
  // Every execution of the tenant, found through visibility, not through the audit code under test.
  const executions: { workflowId: string; runId: string }[] = [];
  await waitUntil('every execution of the tenant to be visible', async () => {
    executions.length = 0;
    for await (const w of client.workflow.list({ query: `TenantId = "${tenant}"` })) executions.push({ workflowId: w.workflowId, runId: w.runId });
    return executions.length >= 7;
  }, 30_000);
  const ids = executions.map((e) => e.workflowId);
  expect(ids.filter((id) => id === managementWorkflowId(tenant)).length).toBeGreaterThanOrEqual(2); // both sides of continue-as-new
  for (const part of ['setup', 'run-1', 'run-2', 'upgrade-1', 'upgrade-2']) expect(ids).toContain(`${managementWorkflowId(tenant)}/${part}`);
  // …and the audit read every one of them.
  expect(new Set(events.map((e) => `${e.workflowId} ${e.runId}`))).toEqual(new Set([...executions.map((e) => `${e.workflowId} ${e.runId}`), `${managementWorkflowId(tenant)} undefined`]));

  const texts: string[] = [];
  for (const { workflowId, runId } of executions) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    texts.push(JSON.stringify(history), historyToJson(history), decodedText(history));
  }
  const all = texts.join('\n');
  // The decoding works: values that are in the inputs and results are found.
  for (const known of [appUser, who.upgrade1.reason, `${src}.orders`, "doesn't exist"]) expect(all).toContain(known);

  expect(keysSeen).toHaveLength(2);
  expect(all).toContain(keyId(keysSeen[1])); // the key's public id is on the record…
  const forbidden = [appPassword, workerPassword, `${workerUser}:`, workerUrl, 'mysql://', 'IDENTIFIED BY', ...keysSeen];
  for (const pw of [appPassword, workerPassword, ...keysSeen.map((k) => k.slice(13))]) for (let i = 0; i + 12 <= pw.length; i++) forbidden.push(pw.slice(i, i + 12));
  for (const s of forbidden) expect({ secret: s, found: all.includes(s) }).toEqual({ secret: s, found: false });
  expect(all).not.toMatch(/password/i);
});
