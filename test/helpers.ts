// Shared plumbing for integration tests: a client and worker on the global dev server, MySQL pools
// (the machine server, and the on-premises source server of the global setup), and table digests to
// compare source and target.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { CLIENT_CHANNEL_ARGS } from '../lib/temporal-connection';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { createMysqlPool, DEFAULT_MYSQL_URL } from '../activities/connections';
import { CONTROL_TABLE_NAMES } from '../activities/target-schema';
import { tenantAccountName } from '../activities/tenant-account';
import { CAPTURE_SCHEMA, CONTROL_SCHEMA, managementWorkflowId } from '../lib/constants';
import { checksumTable, hasStoredGenerated, tableDigest } from '../activities/verify';
import { escapeId } from 'mysql2/promise';
import type { TemporalSettings } from '../lib/env';
import { startWorker, type StartWorkerOptions, type WorkerHandle } from '../worker/main';
import { getAllTables, getSummary } from '../client/operations';
import { readTableStates } from '../activities/table-store';
import { pageRow } from '../lib/table-pages';
import type { StatusPage, TableState } from '../lib/types';

export const MYSQL_URL = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(3).toString('hex')}`;
}

export function settingsFor(taskQueue: string): TemporalSettings {
  const address = process.env.CM_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('CM_TEST_TEMPORAL_ADDRESS is not set: run integration tests through jest (global setup)');
  return { address, namespace: 'default', taskQueue };
}

export async function testClient(): Promise<Client> {
  const connection = await Connection.connect({ address: settingsFor('unused').address, channelArgs: CLIENT_CHANNEL_ARGS });
  return new Client({ connection, namespace: 'default' });
}

export function testWorker(taskQueue: string, opts: Pick<StartWorkerOptions, 'runtimeKeys' | 'identity' | 'upgradesRoot'> = {}): Promise<WorkerHandle> {
  return startWorker({ settings: settingsFor(taskQueue), workflowBundlePath: process.env.CM_TEST_WORKFLOW_BUNDLE, ...opts });
}

export function testPool(): Pool {
  return createMysqlPool(MYSQL_URL, { connectionLimit: 8 });
}

/** The on-premises source server (test/source-server.ts, started by the global setup): connection name `onprem`. */
export function sourcePool(): Pool {
  const url = process.env.CM_TEST_SOURCE_URL;
  if (!url) throw new Error('CM_TEST_SOURCE_URL is not set: run integration tests through jest (global setup)');
  return createMysqlPool(url, { connectionLimit: 8 });
}

export async function count(pool: Pool, schema: string, table: string, where = '1 = 1'): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${escapeId(schema, true)}.${escapeId(table, true)} WHERE ${where}`);
  return Number(rows[0].n);
}

export async function baseTables(pool: Pool, schema: string): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [schema],
  );
  return rows.map((r) => String(r.t));
}

export async function dropSchemas(pool: Pool, ...schemas: string[]): Promise<void> {
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${escapeId(s, true)}`);
}

/** Removes every tenant's capture of a schema: triggers, logs, registry rows (tests share cm_capture). */
export async function dropCaptureFor(pool: Pool, schema: string): Promise<void> {
  const capture = escapeId(CAPTURE_SCHEMA, true);
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT id FROM ${capture}.capture_table WHERE schema_name = ?`, [schema]).catch(() => [[]] as unknown as [RowDataPacket[]]);
  for (const r of rows) {
    for (const kind of ['ai', 'au', 'ad']) {
      await pool.query(`DROP TRIGGER IF EXISTS ${escapeId(schema, true)}.${escapeId(`cm_capture_${r.id}_${kind}`, true)}`).catch(() => undefined); // schema gone: so are they
    }
    await pool.query(`DROP TABLE IF EXISTS ${capture}.${escapeId(`log_${r.id}`)}`);
    await pool.query(`DELETE FROM ${capture}.capture_table WHERE id = ?`, [r.id]);
  }
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** CHECKSUM TABLE (where MariaDB computes it reliably) and the content digest both equal between two copies of a table. */
export async function expectSameTable(pool: Pool, a: [string, string], b: [string, string]): Promise<void> {
  expect(await tableDigest(pool, b[0], b[1])).toBe(await tableDigest(pool, a[0], a[1]));
  if (!(await hasStoredGenerated(pool, a[0], a[1]))) expect(await checksumTable(pool, b[0], b[1])).toBe(await checksumTable(pool, a[0], a[1]));
}

/** Two copies of a table, each on its own server (pool), hold the same rows: content digests, each taken where its table lives. */
export async function expectSameAcross(source: Pool, a: [string, string], target: Pool, b: [string, string]): Promise<void> {
  const [want, got] = await Promise.all([tableDigest(source, a[0], a[1]), tableDigest(target, b[0], b[1])]);
  expect({ table: `${b[0]}.${b[1]}`, digest: got }).toEqual({ table: `${b[0]}.${b[1]}`, digest: want });
}

// --- worker processes (for tests that kill a worker the hard way) ----------------------------------

const REPO = join(__dirname, '..');
const BUILT_CLI = join(REPO, 'dist', 'client', 'cli.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * `cm worker` runs the compiled dist/: compiles it (`npm run build`'s tsc) when it is missing or older
 * than the sources a worker runs, so a worker process never runs stale code.
 */
export function ensureBuilt(): void {
  const sources = Math.max(...['activities', 'client', 'lib', 'seed', 'worker', 'workflows'].map((d) => newestSource(join(REPO, d))));
  if (existsSync(BUILT_CLI) && statSync(BUILT_CLI).mtimeMs >= sources) return;
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: REPO, stdio: 'pipe' });
  } catch (err) {
    // tsc still writes its output on type errors; only a missing or stale build is fatal.
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    if (!existsSync(BUILT_CLI) || statSync(BUILT_CLI).mtimeMs < sources) throw new Error(`npm run build failed:\n${out}`);
    process.stderr.write(`warning: the build reported type errors (the test runs the emitted code):\n${out}\n`);
  }
}

/** The management page (ui/) bundled into dist/ui (scripts/build-ui.mjs) when missing or older than its sources. */
export function ensureUiBuilt(): void {
  const built = join(REPO, 'dist', 'ui', 'app.js');
  const sources = Math.max(...readdirSync(join(REPO, 'ui')).map((f) => statSync(join(REPO, 'ui', f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build-ui.mjs')], { cwd: REPO, stdio: 'pipe' });
}

/** `cm` as a process (bin/cm.js, which runs the built dist/) with exactly `env`: its exit code and output. */
export function runCm(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'cm.js'), ...args], { cwd: REPO, env });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  /** stdout and stderr so far, for diagnostics. */
  output(): string;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Where a worker process points: the global dev server and the test's MySQL unless told otherwise. */
export interface WorkerProcessOptions {
  /** Temporal address (a test's own server). */
  address?: string;
  /** MySQL URL of the worker's `local` connection (e.g. a dedicated account). */
  mysqlUrl?: string;
  /** The worker's upgrades root (CM_UPGRADES_DIR); default the shipped upgrades/. */
  upgradesRoot?: string;
  /** More environment for the process (CM_MAX_ACTIVITIES, CM_RUNTIME_KEY_DIR…). */
  env?: Record<string, string>;
}

/** Starts `cm worker` (bin/cm.js) as a separate process on the test server and task queue. */
export function spawnWorkerProcess(taskQueue: string, opts: WorkerProcessOptions = {}): WorkerProcess {
  const mysqlUrl = opts.mysqlUrl ?? MYSQL_URL;
  const child = spawn(process.execPath, [join(REPO, 'bin', 'cm.js'), 'worker'], {
    cwd: REPO,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.address ?? settingsFor(taskQueue).address,
      CM_TASK_QUEUE: taskQueue,
      CM_WORKFLOW_BUNDLE: process.env.CM_TEST_WORKFLOW_BUNDLE,
      MYSQL_URL: mysqlUrl,
      CM_CONN_LOCAL_URL: mysqlUrl,
      ...(opts.upgradesRoot ? { CM_UPGRADES_DIR: opts.upgradesRoot } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // The tail is enough for diagnostics; a long-lived worker's log would otherwise grow unbounded.
  const keep = (b: Buffer): void => {
    out = (out + b.toString()).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => out, exited };
}

/** Waits for the worker's "worker running" log line; fails early if it exits instead. */
export async function waitForWorkerProcess(w: WorkerProcess, timeoutMs = 60_000): Promise<void> {
  let exited = false;
  void w.exited.then(() => (exited = true));
  await waitUntil('the worker process to start polling', async () => {
    if (exited) throw new Error(`worker process exited before it was ready:\n${w.output()}`);
    return /"msg":"worker running"/.test(w.output());
  }, timeoutMs);
}

/** True while a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a test tenant leaves on the target: its rows in every control table, and cm's account for it (a hotfix or step made it). */
export async function dropTenantState(pool: Pool, tenant: string): Promise<void> {
  for (const table of CONTROL_TABLE_NAMES) {
    await pool.query(`DELETE FROM ${escapeId(CONTROL_SCHEMA, true)}.${escapeId(table, true)} WHERE tenant = ?`, [tenant]).catch(() => undefined);
  }
  const [accounts] = await pool.query<RowDataPacket[]>('SELECT Host AS h FROM mysql.user WHERE User = ?', [tenantAccountName(tenant)]);
  for (const a of accounts) await pool.query('DROP USER IF EXISTS ?@?', [tenantAccountName(tenant), String(a.h)]);
}

/** One part of a full-load copy at a kill: rows committed on the target, and how many lie beyond its durable checkpoint. */
export interface CopyPartAtKill {
  part: string;
  committed: number;
  checkpointRows?: number;
  /** Committed rows a retry writes again (beyond the checkpoint it resumes from). */
  beyond: number;
}

/**
 * Where the full-load copies of `table` (single integer key `id`) by the run `runWorkflowId` stand on
 * the target right after a kill: per key range (or the whole table), the committed rows beyond the
 * durable checkpoint the retry resumes from (copy-checkpoint.ts). Exact resume means at most one batch.
 */
export async function copyPartsAtKill(client: Client, pool: Pool, tenant: string, schema: string, table: string, runWorkflowId: string): Promise<CopyPartAtKill[]> {
  const history = await client.workflow.getHandle(runWorkflowId).fetchHistory();
  const ranges = (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'copyKeyRange')
    .map((e) => defaultPayloadConverter.fromPayload<{ table: { table: string }; range: { index: number; after?: string; upTo?: string } }>(e.activityTaskScheduledEventAttributes!.input!.payloads![0]))
    .filter((i) => i.table.table === table)
    .map((i) => ({ part: `range-${i.range.index}`, after: i.range.after, upTo: i.range.upTo }));
  const parts = ranges.length > 0 ? ranges : [{ part: 'table', after: undefined, upTo: undefined }];
  // One consistent snapshot: copies still running elsewhere move on meanwhile, and a live copy has at
  // most its latest batch committed ahead of its checkpoint at any instant.
  const conn = await pool.getConnection();
  const rows = async (where: string): Promise<number> => {
    const [r] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${escapeId(schema, true)}.${escapeId(table, true)} WHERE ${where}`);
    return Number(r[0].n);
  };
  await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  try {
    const [checkpoints] = await conn.query<RowDataPacket[]>(
      'SELECT part, copy_rows, last_key FROM cm_control.copy_checkpoint WHERE tenant = ? AND target_schema = ? AND table_name = ? AND copy_id LIKE ?',
      [tenant, schema, table, `${runWorkflowId.replace(/[\\%_]/g, '\\$&')}/%`],
    );
    const out: CopyPartAtKill[] = [];
    for (const p of parts) {
      const cp = checkpoints.find((c) => c.part === p.part);
      const bounds = [p.after !== undefined && `id > ${Number(p.after)}`, p.upTo !== undefined && `id <= ${Number(p.upTo)}`].filter(Boolean);
      const where = bounds.join(' AND ') || '1 = 1';
      const resumeAfter = cp?.last_key ? Number(JSON.parse(cp.last_key)[0]) : undefined;
      out.push({
        part: p.part,
        committed: await rows(where),
        checkpointRows: cp ? Number(cp.copy_rows) : undefined,
        beyond: await rows(resumeAfter !== undefined ? `${where} AND id > ${resumeAfter}` : where),
      });
    }
    return out;
  } finally {
    await conn.query('COMMIT').catch(() => undefined);
    conn.release();
  }
}

/**
 * `schema.table` with `rows` rows, ids 1..rows (at most 1,000,000), made on the server from a cross
 * join of digits: a key-ordered table large enough to be copied in key ranges.
 */
export async function createNumberedTable(pool: Pool, schema: string, table: string, rows: number): Promise<void> {
  const t = `${escapeId(schema, true)}.${escapeId(table, true)}`;
  const digits = `${escapeId(schema, true)}.${escapeId(`${table}_digits`, true)}`;
  await pool.query(`CREATE TABLE ${digits} (d TINYINT PRIMARY KEY)`);
  await pool.query(`INSERT INTO ${digits} VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)`);
  await pool.query(`CREATE TABLE ${t} (id BIGINT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(80) NOT NULL, amount DECIMAL(14,2) NOT NULL,
    posted DATETIME NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${t}
    SELECT n, n % 977, CONCAT('row ', n, ' ', REPEAT(CHAR(97 + n % 26), 1 + n % 40)), n / 7, '2024-01-01' + INTERVAL n MINUTE
      FROM (SELECT 1 + d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d + 100000 * d5.d AS n
              FROM ${digits} d0, ${digits} d1, ${digits} d2, ${digits} d3, ${digits} d4, ${digits} d5 WHERE d5.d <= ?) numbers
     WHERE n <= ?`, [Math.floor((rows - 1) / 100_000), rows]);
  await pool.query(`DROP TABLE ${digits}`);
}

/** SIGKILLs the worker processes still running, and waits until each has exited. */
export async function killWorkerProcesses(workers: WorkerProcess[]): Promise<void> {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.exited;
  }
}

/**
 * The end of a test with `cm worker` processes: its tenant workflow terminated, the processes killed,
 * the source's capture, the schemas and the tenant's control rows dropped, the connections closed.
 */
export async function endProcessTest(t: { client: Client; pool: Pool; tenant: string; workers: WorkerProcess[]; source: string; schemas: string[] }): Promise<void> {
  await t.client.workflow.getHandle(managementWorkflowId(t.tenant)).terminate('test done').catch(() => undefined);
  await killWorkerProcesses(t.workers);
  await dropCaptureFor(t.pool, t.source);
  await dropSchemas(t.pool, ...t.schemas);
  await dropTenantState(t.pool, t.tenant);
  await t.pool.end();
  await t.client.connection.close();
}

/**
 * Issue 12: every table's row the activities keep on the target (cm_control.table_state) says what
 * the page says, once nothing is running. Checked after the steps of the suites that change tables.
 */
export async function expectTableRowsMatchPage(pool: Pool, client: Client, tenant: string): Promise<void> {
  const busy = (s: StatusPage): boolean =>
    /In Progress/i.test(s.status) || s.log.some((e) => e.status === 'In Progress') || s.verifications.some((v) => v.status === 'In Progress');
  const summary = await getSummary(client, tenant).catch(() => undefined);
  if (!summary) return; // no tenant (yet): no page to compare with
  for (let i = 0; i < 600 && busy(await getSummary(client, tenant)); i++) await new Promise((r) => setTimeout(r, 100));
  const page = await getAllTables(client, tenant);
  const rows = [...(await readTableStates(pool, tenant)).values()].map(pageRow);
  const byKey = (a: TableState, b: TableState): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  expect(JSON.parse(JSON.stringify(rows.sort(byKey)))).toEqual(JSON.parse(JSON.stringify([...page].sort(byKey))));
}

/** Every string of the workflow's history, payloads decoded: what an operator or the Web UI can read. */
export function historyText(value: unknown): string {
  const seen: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) seen.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'string') seen.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return seen.join('\n');
}
