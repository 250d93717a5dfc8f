// Plumbing for the fault-injection suite (`npm run test:faults`): a seeded PRNG, worker processes
// with their own environment (another Temporal address, another MySQL account), a small source
// schema, and the checks every fault test ends with: target equals source, fence down. The source
// may live on the on-premises source server (binary log on) and the target on the machine server:
// the checks then compare across the two servers, and the change log is looked for where the
// tenant's capture mode keeps it.
import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { escapeId } from 'mysql2/promise';
import { getStatus, tenantHandle } from '../../client/operations';
import { controlParkingSchema, parkingSchema } from '../../activities/restore-point';
import { checksumTable, tableDigest } from '../../activities/verify';
import {
  count, dropCaptureFor, dropSchemas, dropTenantState, expectSameTable, spawnWorkerProcess, waitForWorkerProcess, type WorkerProcess, type WorkerProcessOptions,
} from '../helpers';

export { announceSeed, faultSeed, seededRng, type Rng } from './seed';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- worker processes ---------------------------------------------------------------------------

export interface SpawnOptions extends WorkerProcessOptions {
  taskQueue: string;
  /** More environment for the worker process (e.g. CM_CONN_ONPREM_URL with an account of its own); it inherits the rest. */
  env?: Record<string, string>;
}

/** Starts a worker process; `env` is in process.env only while it is spawned (spawn copies it at once). */
export function spawnWorker(opts: SpawnOptions): WorkerProcess {
  const saved = Object.fromEntries(Object.keys(opts.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, opts.env);
  try {
    return spawnWorkerProcess(opts.taskQueue, opts);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export const isRunning = (w: WorkerProcess): boolean => w.child.exitCode === null && w.child.signalCode === null;

/** SIGKILL and wait until the process is gone. */
export async function hardKill(w: WorkerProcess): Promise<void> {
  if (isRunning(w)) w.child.kill('SIGKILL');
  const ended = await w.exited;
  if (ended.signal !== 'SIGKILL' && ended.code === null) throw new Error(`worker ended oddly: ${JSON.stringify(ended)}`);
}

/** Keeps track of spawned workers so afterAll can kill whatever is left. */
export class Workers {
  readonly all: WorkerProcess[] = [];
  constructor(private readonly defaults: SpawnOptions) {}

  async start(over: Partial<SpawnOptions> = {}): Promise<WorkerProcess> {
    const w = spawnWorker({ ...this.defaults, ...over });
    this.all.push(w);
    await waitForWorkerProcess(w);
    return w;
  }

  async killAll(): Promise<void> {
    for (const w of this.all) await hardKill(w).catch(() => undefined);
  }

  dump(): string {
    return this.all.map((w, i) => `--- worker ${i} (pid ${w.child.pid}) ---\n${w.output().slice(-8000)}`).join('\n');
  }

  /** What a failed fault test prints: the failure first (CI shows the head of long output), then the workers' logs. */
  failure(title: string, err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    return `${title} FAILED: ${message.slice(0, 1500)}\n${this.dump()}`;
  }
}

// --- source data --------------------------------------------------------------------------------

const q = (s: string) => escapeId(s, true);

/**
 * A source schema: `big` (integer key, copied in key ranges), `nokey` (no primary key: every row
 * twice, copied in full on every run) and `small`.
 */
export async function createSource(pool: Pool, src: string, bigRows: number, nokeyDistinct = 1_500): Promise<void> {
  await pool.query(`CREATE SCHEMA ${q(src)}`);
  await pool.query(`CREATE TABLE ${q(src)}.digits (d TINYINT PRIMARY KEY)`);
  await pool.query(`INSERT INTO ${q(src)}.digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)`);
  await pool.query(`CREATE TABLE ${q(src)}.big (id INT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(80) NOT NULL,
    amount DECIMAL(14,2) NOT NULL, posted DATETIME NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${q(src)}.big
    SELECT n, n % 977, CONCAT('row ', n, ' ', REPEAT(CHAR(97 + n % 26), 1 + n % 30)), n / 7, '2024-01-01' + INTERVAL n MINUTE
      FROM (SELECT 1 + d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d + 100000 * d5.d AS n
              FROM ${q(src)}.digits d0, ${q(src)}.digits d1, ${q(src)}.digits d2, ${q(src)}.digits d3, ${q(src)}.digits d4, ${q(src)}.digits d5) numbers
     WHERE n <= ${bigRows}`);
  await pool.query(`CREATE TABLE ${q(src)}.nokey (a INT NOT NULL, b VARCHAR(40) NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${q(src)}.nokey SELECT id % ${nokeyDistinct}, CONCAT('dup ', id % ${nokeyDistinct}) FROM ${q(src)}.big WHERE id <= ${2 * nokeyDistinct}`);
  await pool.query(`CREATE TABLE ${q(src)}.small (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB`);
  await pool.query(`INSERT INTO ${q(src)}.small SELECT id, CONCAT('small ', id) FROM ${q(src)}.big WHERE id <= 100`);
  await pool.query(`DROP TABLE ${q(src)}.digits`);
  await pool.query(`ANALYZE TABLE ${q(src)}.big, ${q(src)}.nokey, ${q(src)}.small`);
}

export const TABLES = ['big', 'nokey', 'small'] as const;

/** Copy settings that make a run slow enough to hit and quick to notice a dead worker. */
export const FAULT_COPY = { largeTableRows: 10_000, rangesPerTable: 2, writeBatchRows: 200, heartbeatTimeoutSeconds: 3 };

/**
 * Every table of `b` equals the one of `a` (digest and CHECKSUM TABLE), including the key-less one
 * (the digest counts rows, so a doubled row shows), and the same row count; no key on `big` twice.
 */
export async function expectSameSchemas(pool: Pool, a: string, b: string, tables: readonly string[] = TABLES): Promise<void> {
  for (const t of tables) {
    expect({ table: t, rows: await count(pool, b, t) }).toEqual({ table: t, rows: await count(pool, a, t) });
    await expectSameTable(pool, [a, t], [b, t]);
  }
  // The key-less table as a multiset: every distinct row exactly as often as on the other side.
  const [diff] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM (SELECT a, b, COUNT(*) AS c FROM ${q(a)}.nokey GROUP BY a, b) x
       LEFT JOIN (SELECT a, b, COUNT(*) AS c FROM ${q(b)}.nokey GROUP BY a, b) y ON x.a = y.a AND x.b = y.b AND x.c = y.c
      WHERE y.a IS NULL`,
  );
  expect(Number(diff[0].n)).toBe(0);
}

/**
 * Every table of `dst` on the target server equals the one of `src` on the source server: the same
 * row count, the content digest and CHECKSUM TABLE (each taken where its table lives), and the
 * key-less table as a multiset (every distinct row exactly as often on both sides: nothing doubled).
 */
export async function expectSameAcrossServers(
  source: Pool, src: string, target: Pool, dst: string, tables: readonly string[] = TABLES,
): Promise<void> {
  for (const t of tables) {
    const [want, got] = await Promise.all([
      Promise.all([count(source, src, t), tableDigest(source, src, t), checksumTable(source, src, t)]),
      Promise.all([count(target, dst, t), tableDigest(target, dst, t), checksumTable(target, dst, t)]),
    ]);
    expect({ table: t, rows: got[0], digest: got[1], checksum: got[2] }).toEqual({ table: t, rows: want[0], digest: want[1], checksum: want[2] });
  }
  if (!tables.includes('nokey')) return;
  const multiset = async (pool: Pool, schema: string): Promise<string[]> => {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT a, b, COUNT(*) AS c FROM ${q(schema)}.nokey GROUP BY a, b ORDER BY a, b`);
    return rows.map((r) => `${r.a}|${r.b}|${r.c}`);
  };
  const [want, got] = await Promise.all([multiset(source, src), multiset(target, dst)]);
  expect(got).toEqual(want);
}

/** The on-premises source server's URL (test/source-server.ts, started by the global setup; `sourcePool()` opens a pool on it). */
export function sourceUrl(): string {
  const url = process.env.CM_TEST_SOURCE_URL;
  if (!url) throw new Error('CM_TEST_SOURCE_URL is not set: run the fault tests through jest (global setup)');
  return url;
}

/** The capture modes the suite runs in (tenant `captureMode`). */
export const CAPTURE_MODES = ['binlog', 'triggers'] as const;
export type CaptureModeUnderTest = (typeof CAPTURE_MODES)[number];

/** Where a tenant's change logs live: on the source (triggers), or staged on the target (binlog, only between a run's stage and apply steps). */
export const logPool = (mode: CaptureModeUnderTest, source: Pool, target: Pool): Pool => (mode === 'triggers' ? source : target);

/**
 * Rows still waiting in the change log of a source table, in `pool`'s cm_capture (the source's in
 * triggers mode, the target's in binlog mode: see logPool); `tenant` picks that tenant's log when
 * several tenants capture the same table.
 */
export async function pendingLog(pool: Pool, src: string, table: string, tenant?: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT id FROM cm_capture.capture_table WHERE schema_name = ? AND table_name = ?${tenant === undefined ? '' : ' AND consumer = ?'}`,
    tenant === undefined ? [src, table] : [src, table, tenant],
  ).catch((err) => {
    if ((err as { errno?: number }).errno === 1146 || (err as { errno?: number }).errno === 1049) return [[]] as unknown as [RowDataPacket[]]; // no cm_capture here (yet)
    throw err;
  });
  if (rows.length === 0) return 0;
  const [n] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM cm_capture.${q(`log_${rows[0].id}`)}`);
  return Number(n[0].n);
}

/** The fence is down: environment Active (page and control table), no lock row, no restore point left. */
export async function expectFenceDown(pool: Pool, client: Client, tenant: string, targets: string[]): Promise<void> {
  expect((await getStatus(client, tenant)).environmentState).toBe('Active');
  const [env] = await pool.query<RowDataPacket[]>('SELECT state FROM cm_control.environment WHERE tenant = ?', [tenant]);
  expect(env.map((e) => e.state)).toEqual(['Active']);
  const [fence] = await pool.query<RowDataPacket[]>('SELECT * FROM cm_control.fence WHERE tenant = ?', [tenant]);
  expect(fence).toHaveLength(0);
  const [parked] = await pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?)', [
    [...targets.map((t) => parkingSchema(tenant, t)), controlParkingSchema(tenant)],
  ]);
  expect(parked).toHaveLength(0);
}

/** Attempts of each activity type in a workflow's history (started events), and how many timed out or failed. */
export async function activityAttempts(client: Client, workflowId: string): Promise<{ retried: number; timedOut: number; failed: number; byType: Record<string, number[]> }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const byType: Record<string, number[]> = {};
  let timedOut = 0;
  let failed = 0;
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    const a = e.activityTaskStartedEventAttributes;
    if (a) (byType[scheduled.get(String(a.scheduledEventId)) ?? '?'] ??= []).push(a.attempt ?? 1);
    if (e.activityTaskTimedOutEventAttributes) timedOut++;
    if (e.activityTaskFailedEventAttributes) failed++;
  }
  const retried = Object.values(byType).flat().filter((n) => n >= 2).length;
  return { retried, timedOut, failed, byType };
}

/**
 * The end of a fault file: the tenant's workflow and workers stopped, its capture, state and schemas
 * gone from both servers, the connections closed.
 */
export async function cleanUpTenant(o: {
  client: Client; workers: Workers; pool: Pool; source: Pool; tenant: string; src: string; targetSchemas: string[]; before?: () => Promise<void>;
}): Promise<void> {
  await tenantHandle(o.client, o.tenant).terminate('test done').catch(() => undefined);
  await o.workers.killAll();
  await o.before?.();
  await dropCaptureFor(o.pool, o.src);
  await dropCaptureFor(o.source, o.src);
  await dropTenantState(o.pool, o.tenant);
  await dropSchemas(o.source, o.src);
  await dropSchemas(o.pool, ...o.targetSchemas);
  await o.source.end();
  await o.pool.end();
  await o.client.connection.close();
}
