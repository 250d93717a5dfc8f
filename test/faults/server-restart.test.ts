// The Temporal dev server SIGKILLed mid-copy and started again on the same SQLite file and port.
// This file cannot use the shared dev server: it starts its own (the pinned CLI, headless), with
// the project's search attributes, and a `cm worker` process against it. The worker rides out the
// outage; the run's history survives in the SQLite file; the run completes and target = source.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { portOpen } from '../../client/dev-server';
import { createTenant, getStatus, runMigrationNow, tenantHandle, waitForRun } from '../../client/operations';
import { ensureTemporalCli } from '../../lib/temporal-cli';
import { ensureSearchAttributes } from '../../lib/temporal-connection';
import { count, dropCaptureFor, dropSchemas, ensureBuilt, testPool, uniqueName, type WorkerProcess } from '../helpers';
import {
  activityAttempts, announceSeed, createSource, expectFenceDown, expectSameSchemas, FAULT_COPY, faultSeed, isRunning, pendingLog, seededRng,
  sleep, Workers,
} from './harness';
import { freePort } from '../../lib/free-port';

const BIG_ROWS = 40_000;
const seed = faultSeed();
const rng = seededRng(seed, 'server-restart');
const src = uniqueName('fs_src');
const tenant = uniqueName('fs');
const dst = `${tenant}_${src}`;
const taskQueue = uniqueName('tq_fs');
const dir = mkdtempSync(join(tmpdir(), 'cm-fault-temporal-'));
const dbFile = join(dir, 't.db');
let port = 0;
let server: { child: ChildProcess; output: () => string; exited: Promise<unknown> } | undefined;
let workers: Workers;
let pool: Pool;
let client: Client;
let worker: WorkerProcess;

/** `temporal server start-dev` on our port and SQLite file, headless; resolves once it answers. */
async function startServer(): Promise<void> {
  const child = spawn(ensureTemporalCli(), [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--db-filename', dbFile, '--log-level', 'warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  server = { child, output: () => out, exited };
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`the dev server exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`the dev server did not listen on ${port}:\n${out}`);
    await sleep(100);
  }
}

async function killServer(): Promise<void> {
  if (!server) return;
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
  server = undefined;
}

beforeAll(async () => {
  announceSeed('server-restart', seed);
  ensureBuilt();
  port = await freePort();
  await startServer();
  client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${port}` }), namespace: 'default' });
  await ensureSearchAttributes(client, 'default');
  pool = testPool();
  await createSource(pool, src, BIG_ROWS);
  workers = new Workers({ taskQueue, address: `127.0.0.1:${port}` });
  worker = await workers.start();
});

afterAll(async () => {
  await tenantHandle(client, tenant).terminate('test done').catch(() => undefined);
  await workers?.killAll();
  await client?.connection.close().catch(() => undefined);
  if (server) {
    server.child.kill('SIGTERM');
    await Promise.race([server.exited, sleep(10_000)]);
    await killServer();
  }
  await dropCaptureFor(pool, src);
  await dropSchemas(pool, src, dst);
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
});

it('the dev server killed mid-copy and restarted on the same state: the run completes and the target equals the source', async () => {
  try {
    const { status } = await createTenant(client, taskQueue, { tenant, companies: [{ source: src }], copy: FAULT_COPY });
    expect(status.status).toBe('Ready');
    const run = await runMigrationNow(client, tenant, { requestedBy: 'faults' });
    expect(run.kind).toBe('full');

    const mark = rng.between(0.1, 0.6);
    const downMs = rng.int(1000, 5000);
    for (const deadline = Date.now() + 120_000; (await count(pool, dst, 'big')) < mark * BIG_ROWS; await sleep(25)) {
      if (Date.now() > deadline) throw new Error(`the copy did not reach ${Math.round(mark * 100)}%`);
    }
    const atKill = await count(pool, dst, 'big');
    await killServer();
    expect(await portOpen(port)).toBe(false);
    await sleep(downMs);
    const whileDown = await count(pool, dst, 'big');
    console.log(`seed ${seed}: server killed with ${atKill}/${BIG_ROWS} big rows on the target, down ${downMs} ms (${whileDown} rows by then)`);
    await startServer();

    const entry = await waitForRun(client, tenant, run);
    if (entry.status !== 'Completed') console.error(entry, (await getStatus(client, tenant)).tables);
    expect(entry.status).toBe('Completed');
    expect(isRunning(worker)).toBe(true); // the worker process rode out the outage
    await expectSameSchemas(pool, src, dst);
    expect(await pendingLog(pool, src, 'big')).toBe(0);
    await expectFenceDown(pool, client, tenant, [dst]);
    // The same run, its history from before the kill kept: run 1 is in the log, one run only.
    const page = await getStatus(client, tenant);
    expect(page.log.map((e) => `${e.run}:${e.kind}:${e.status}`)).toEqual([`${run.run}:full:Completed`]);
    const attempts = await activityAttempts(client, run.workflowId);
    console.log(`seed ${seed}: activity attempts after the restart ${JSON.stringify(attempts.byType)}`);

    // And the restarted server keeps working: a delta run on it.
    await pool.query(`UPDATE ${src}.big SET qty = 0 WHERE id % 11 = ?`, [rng.int(0, 10)]);
    const next = await runMigrationNow(client, tenant, { requestedBy: 'faults' });
    expect(next.kind).toBe('delta');
    expect((await waitForRun(client, tenant, next)).status).toBe('Completed');
    await expectSameSchemas(pool, src, dst);
  } catch (err) {
    console.error(`${workers.failure(`seed ${seed}`, err)}\n--- server ---\n${server?.output() ?? ''}`);
    throw err;
  }
});
