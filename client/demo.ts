// `npm run demo`: the whole story on one machine, with every step printed. Re-running it reuses
// the server, the data and the tenant (its state lives in .data/), so the first run there is a
// changes-only run.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { checkReachable, createMysqlPool, resolveConnectionUrl } from '../activities/connections';
import { CONTROL_SCHEMA, managementWorkflowId } from '../lib/constants';
import { devServerSettings, temporalSettings } from '../lib/env';
import { UserFacingError } from '../lib/errors';
import { connectClient, ensureSearchAttributes } from '../lib/temporal-connection';
import type { RunLogEntry } from '../lib/types';
import { applySampleChanges } from '../seed/changes';
import { SAMPLE_COMPANIES, seedSourceData, sourceIsEmpty } from '../seed/generate';
import { startWorker } from '../worker/main';
import { progressQuery, type RunStarted } from '../workflows/messages';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { id, isMissingObject, qualified } from '../activities/sql';
import { removeCapture, tenantCaptures, triggerSite } from '../activities/capture';
import { fenceHolder, releaseFence } from '../activities/fence';
import { dropRestorePoint } from '../activities/restore-point';
import { scheduleId } from '../activities/schedule';
import { CONTROL_TABLE_NAMES } from '../activities/target-schema';
import { defaultTargetSchema } from '../lib/schemas';
import { ensureDevServer } from './dev-server';
import { createTenant, exportToDataLake, getStatus, getSummary, rejectionReasons, waitForLakeExport, runMigrationNow, tenantHandle, verifyNow, waitForRun, waitForVerification } from './operations';
import { ProgressView } from './progress';
import { startUiServer } from './ui-server';
import { renderSetup, renderStatus, renderVerification } from './render';

const TENANT = 'demo';
const step = (n: number, text: string): void => void process.stdout.write(`\n── ${n}. ${text}\n`);
const say = (text: string): void => void process.stdout.write(`   ${text}\n`);

async function runWithProgress(client: Client, reason: string): Promise<{ started: RunStarted; entry: RunLogEntry }> {
  const started = await runMigrationNow(client, TENANT, { requestedBy: 'demo', reason });
  say(`Run #${started.run} started (${started.kind === 'full' ? 'full copy' : 'changes only'}): ${started.workflowId}`);
  const view = new ProgressView(process.stdout);
  const entry = await waitForRun(client, TENANT, started, (p) => view.update(p)).finally(() => view.stop());
  say(`Run #${entry.run} ${entry.status}: ${entry.tablesDone} tables, ${entry.rows.toLocaleString('en-US')} rows`);
  return { started, entry };
}

/**
 * The tenant's own side of the target, so the upgrade's fence has something to fence: the
 * application account `demo_app` (its password is random and never shown) and the demo's
 * scheduled tasks in the job queue.
 */
async function prepareTenantApplications(pool: Pool, schemas: string[]): Promise<void> {
  const [users] = await pool.query<RowDataPacket[]>("SELECT 1 FROM mysql.user WHERE User = 'demo_app'");
  if (users.length === 0) {
    await pool.query("CREATE USER IF NOT EXISTS 'demo_app'@'%' IDENTIFIED BY ?", [randomBytes(18).toString('base64url')]);
    for (const schema of schemas) await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${id(schema)}.* TO 'demo_app'@'%'`);
  }
  const [jobs] = await pool.query<RowDataPacket[]>('SELECT 1 FROM cm_control.job_queue WHERE tenant = ? LIMIT 1', [TENANT]);
  if (jobs.length === 0) {
    await pool.query("INSERT INTO cm_control.job_queue (tenant, name, status) VALUES (?, 'Post recurring invoices', 'Ready'), (?, 'Adjust cost of items', 'Ready'), (?, 'Archive 2015 documents', 'Finished')", [TENANT, TENANT, TENANT]);
  }
  say("application account 'demo_app' and 3 scheduled tasks in cm_control.job_queue: what a data upgrade fences");
}

/**
 * Why the demo tenant cannot simply go on (a run would be refused or the story would not hold), or
 * undefined when it can: then the demo reuses it and its first run is a changes-only run.
 */
async function whyStartOver(client: Client): Promise<string | undefined> {
  const handle = tenantHandle(client, TENANT);
  const running = await handle.describe().then((d) => d.status.name === 'RUNNING', (err: unknown) => {
    if (err instanceof WorkflowNotFoundError) return undefined; // never created here
    throw err;
  });
  if (running === undefined) return undefined;
  if (!running) return 'ended (disabled, or its workflow was stopped)';
  const s = await getSummary(client, TENANT);
  if (s.status === 'Upgrade completed successfully') return `was upgraded to data version ${s.dataVersion}: runs are over for it`;
  if (s.status === 'Setup Failed') return `failed setup (${s.setupError})`;
  if (s.status === 'Upgrade in Progress') return 'has a data upgrade in progress';
  const last = s.upgrades[s.upgrades.length - 1];
  if (last?.status === 'Failed' && last.restored === false) return 'has a failed upgrade whose restore could not be verified (its fence is up)';
  return undefined;
}

/**
 * A clean start for the demo tenant: its workflow (and so its runs and upgrades) ended, a fence it
 * left up released, its restore point, change capture, target schemas and control rows gone. Only
 * the demo's own tenant: the sample source data stays.
 */
async function startOver(client: Client, pool: Pool, why: string): Promise<void> {
  say(`the demo tenant ${why}: starting it over, clean`);
  await tenantHandle(client, TENANT).terminate(`npm run demo: a clean start (the tenant ${why})`).catch((err: unknown) => {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  });
  await client.schedule.getHandle(scheduleId(TENANT)).delete().catch(() => undefined); // none: fine
  const holder = await fenceHolder(pool, TENANT).catch(() => undefined);
  if (holder) await releaseFence(pool, TENANT, holder);
  const schemas = SAMPLE_COMPANIES.map((c) => defaultTargetSchema(TENANT, c));
  await dropRestorePoint(pool, { tenant: TENANT, schemas }).catch(() => undefined); // no control schema yet: nothing to drop
  for (const c of await tenantCaptures(pool, TENANT)) await removeCapture(triggerSite(pool), TENANT, c.schema, c.table);
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${id(schema)}`);
  for (const table of CONTROL_TABLE_NAMES) {
    await pool.query(`DELETE FROM ${qualified(CONTROL_SCHEMA, table)} WHERE tenant = ?`, [TENANT]).catch((err: unknown) => {
      if (!isMissingObject(err)) throw err;
    });
  }
}

export async function runDemo(opts: { scale: number; keepRunning: boolean }): Promise<void> {
  const settings = temporalSettings();
  await checkReachable('local');
  const [host, port] = settings.address.split(':');
  if (!['127.0.0.1', 'localhost'].includes(host)) throw new UserFacingError(`the demo runs its own dev server: unset TEMPORAL_ADDRESS (now ${settings.address})`);

  step(1, 'Temporal dev server');
  const server = await ensureDevServer({ port: Number(port) });
  say(server.process ? `started on ${settings.address} (state in .data/temporal.db)` : `reusing the server on ${settings.address}`);

  step(2, 'Worker (the integration runtime that reaches the databases)');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const client = await connectClient(settings, 'cm-demo');
  await ensureSearchAttributes(client, settings.namespace);
  // The lake goes beside the server's state (.data/lake), under the name `demo`: the worker is this
  // process, so the name is set here, as an operator sets it on each worker host.
  const lake = (process.env.CM_LAKE_DEMO_URI ||= `file://${devServerSettings().dataDir.replace(/\/+$/, '')}/lake`);
  const worker = await startWorker({ settings, identity: 'cm-demo-worker' });
  say(`polling task queue ${settings.taskQueue}`);

  const pool = createMysqlPool(resolveConnectionUrl('local'));
  try {
    step(3, 'Sample on-premises data');
    if (await sourceIsEmpty(pool, {})) {
      const summary = await seedSourceData(pool, { scale: opts.scale, seed: 42 });
      for (const c of summary.companies) say(`${c.schema}: ${c.tables.length} tables, ${c.tables.reduce((n, t) => n + t.rows, 0).toLocaleString('en-US')} rows`);
    } else {
      say(`already loaded: ${SAMPLE_COMPANIES.join(', ')}`);
    }

    step(4, `Tenant "${TENANT}": assessment, target tables, change capture`);
    const why = await whyStartOver(client);
    if (why) await startOver(client, pool, why);
    const { created, status } = await createTenant(client, settings.taskQueue, {
      tenant: TENANT,
      companies: SAMPLE_COMPANIES.map((source) => ({ source })),
      appUsers: ['demo_app'],
      requestedBy: 'demo',
      reason: 'npm run demo',
    });
    say(created ? 'created' : 'exists already (its state survives in .data/)');
    process.stdout.write(renderSetup(status).replace(/^/gm, '   '));
    if (status.status === 'Setup Failed') throw new UserFacingError(`setup failed: ${status.setupError}`);
    if (status.currentRun) await waitForRun(client, TENANT, { run: status.currentRun.run, workflowId: status.currentRun.workflowId, kind: status.currentRun.kind });
    await prepareTenantApplications(pool, status.companies.map((c) => c.target));

    step(5, 'Run Migration Now');
    await runWithProgress(client, 'demo: first run');

    step(6, 'A day of on-premises activity');
    const day = (await getStatus(client, TENANT)).log.length;
    let made = 0;
    for (const company of SAMPLE_COMPANIES) {
      const c = await applySampleChanges(pool, { schema: company, seed: day });
      made += c.inserts + c.updates + c.deletes;
      say(`${company}: ${c.inserts} inserts, ${c.updates} updates, ${c.deletes} deletes`);
    }

    step(7, 'Run Migration Now again: only the changes travel');
    const delta = await runWithProgress(client, 'demo: after on-premises changes');
    const progress = await client.workflow.getHandle(delta.started.workflowId).query(progressQuery);
    const keyless = new Set((await getStatus(client, TENANT)).tables.filter((t) => !t.hasPrimaryKey).map((t) => t.key));
    const captured = progress.tables.filter((t) => t.rows > 0 && !keyless.has(t.key));
    const recopied = progress.tables.filter((t) => keyless.has(t.key));
    const sum = (ts: { rows: number }[]): number => ts.reduce((n, t) => n + t.rows, 0);
    say(`${made} row changes made on-premises; run #${delta.entry.run} applied ${sum(captured)} captured changes in ${captured.length} tables:`);
    for (const t of captured) say(`  ${t.key}: ${t.rows}`);
    say(`and copied ${recopied.length} tables without a primary key in full again (${sum(recopied)} rows): they cannot be change-tracked`);

    step(8, 'Verify Now (`cm verify demo`): every migrated table against its source, in checksummed chunks');
    const before = await getStatus(client, TENANT);
    if (before.status === 'Upgrade completed successfully') {
      say(`skipped: the target was upgraded to data version ${before.dataVersion}, so it is meant to differ from the source now`);
    } else {
      const started = await verifyNow(client, TENANT, { requestedBy: 'cm-demo', reason: 'demo: after the changes-only run' });
      const result = await waitForVerification(client, TENANT, started);
      const reasons = await rejectionReasons(client, TENANT);
      process.stdout.write(renderVerification(result, reasons, { notableOnly: true }).replace(/^/gm, '   '));
    }

    step(9, `Azure Data Lake (\`cm lake export demo --to demo\`, CM_LAKE_DEMO_URI=${lake} on the worker): the migrated tables as Parquet, with a manifest`);
    const exported = await waitForLakeExport(client, TENANT, await exportToDataLake(client, TENANT, { requestedBy: 'cm-demo', reason: 'demo: keep a copy in the lake', to: 'demo' }));
    if (exported.status !== 'Completed') throw new UserFacingError(`the data lake export failed: ${exported.failure}`);
    say(`export #${exported.number}: ${exported.tables} tables, ${exported.rowsWritten} rows and ${exported.deletesWritten} deletes written` +
      `${exported.number! > 1 ? ' (only what changed since the last export)' : ''}; the lake holds ${exported.rows} rows`);
    say(`manifest: ${lake}/${TENANT}/migrated/manifest.json (each table's files, checksums, source position, and a DuckDB query of its current state)`);
    const final = await getStatus(client, TENANT);

    step(10, 'The Cloud Migration Management page (`cm status demo`)');
    process.stdout.write(`\n${renderStatus(final, { rows: final.tables })}\n`);
  } finally {
    await pool.end();
  }

  const link = `${server.uiUrl}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(managementWorkflowId(TENANT))}`;
  process.stdout.write(`\nTemporal Web UI: ${server.uiUrl}\nThis tenant:     ${link}\n`);
  process.stdout.write(
    'Next: the data upgrade 1.0 → 2.0 under the fence: `cm upgrade demo --wait` in another terminal, or in the UI\n' +
      'the Update `runDataUpgradeNow` with {"requestedBy":"you"}. `cm status demo` shows it under Environment Operations.\n',
  );
  if (opts.keepRunning) {
    // The management page, served from here while the demo runs (port 8080, else any free one).
    const page = await startUiServer(client, { port: 8080, operator: 'demo' }).catch(() => startUiServer(client, { port: 0, operator: 'demo' }));
    process.stdout.write('Server, worker and the management page keep running (use `cm` in another terminal). Ctrl-C stops them.\n');
    process.stdout.write(`Management page: ${page.url}#/tenant/${TENANT}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await page.close();
  } else {
    process.stdout.write(`Management page: \`cm ui\`, then http://127.0.0.1:8080/#/tenant/${TENANT}\n`);
  }
  await worker.stop();
  await client.connection.close();
  await server.stop();
}
