// What the workflow scenarios share: a Temporal dev server of their own (fresh state in a temp dir,
// free ports), a prebuilt workflow bundle, `cm worker` processes (the real thing, so that their
// memory can be read), a client, and small measuring helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { CLIENT_CHANNEL_ARGS } from '../lib/temporal-connection';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ensureDevServer, type DevServer } from '../client/dev-server';
import { tenantHandle } from '../client/operations';
import { id } from '../activities/sql';
import { CAPTURE_SCHEMA, CONTROL_SCHEMA } from '../lib/constants';
import { CONTROL_TABLE_NAMES } from '../activities/target-schema';
import { freePort } from '../lib/free-port';

export const REPO = join(__dirname, '..', '..');

export const elapsedMs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/**
 * Waits (at most a minute) until InnoDB has written out the pages earlier steps dirtied and purged
 * their undo. A load larger than the buffer pool leaves the server flushing for tens of seconds;
 * whatever is timed next would otherwise pay for the step before it.
 */
export async function settle(pool: Pool, log: (s: string) => void = () => undefined): Promise<void> {
  const started = Date.now();
  for (;;) {
    const [rows] = await pool.query<RowDataPacket[]>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total', 'Innodb_history_list_length')",
    );
    const v = Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
    const quiet = v.Innodb_buffer_pool_pages_dirty <= v.Innodb_buffer_pool_pages_total * 0.02 && (v.Innodb_history_list_length ?? 0) < 1000;
    if (quiet || Date.now() - started > 60_000) {
      if (Date.now() - started > 1000) log(`    (waited ${((Date.now() - started) / 1000).toFixed(0)} s for the server to settle)`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { ms: elapsedMs(t0), value };
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Peak resident memory so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  /** CPU time used so far (user + system), in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface Harness {
  client: Client;
  address: string;
  /** Starts `cm worker` on its own task queue. */
  worker(taskQueue: string): Promise<WorkerProcess>;
  close(): Promise<void>;
}

export async function startHarness(mysqlUrl: string): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cm-bench-'));
  process.env.CM_DATA_DIR = dataDir; // the dev server's SQLite state: fresh, thrown away afterwards
  process.env.CM_RUNTIME_KEY_DIR = join(dataDir, 'keys'); // the bench workers' runtime keys, thrown away too
  const server: DevServer = await ensureDevServer({ port: await freePort(), uiPort: await freePort() });
  const address = `127.0.0.1:${server.port}`;
  const bundlePath = join(dataDir, 'workflow-bundle.js');
  // Bundled once here, so that worker processes start quickly and their memory is their own work.
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger });
  writeFileSync(bundlePath, code);
  const connection = await Connection.connect({ address, channelArgs: CLIENT_CHANNEL_ARGS });
  const client = new Client({ connection, namespace: 'default' });
  const workers: WorkerProcess[] = [];

  return {
    client,
    address,
    async worker(taskQueue) {
      const w = await spawnWorker(address, taskQueue, bundlePath, mysqlUrl);
      workers.push(w);
      return w;
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await connection.close();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const quietLogger = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

async function spawnWorker(address: string, taskQueue: string, bundlePath: string, mysqlUrl: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'cm.js'), 'worker'], {
    cwd: REPO,
    env: { ...process.env, TEMPORAL_ADDRESS: address, CM_TASK_QUEUE: taskQueue, CM_WORKFLOW_BUNDLE: bundlePath, MYSQL_URL: mysqlUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!/"msg":"worker running"/.test(out)) {
    if (child.exitCode !== null) throw new Error(`the worker exited before it was ready:\n${out}`);
    if (Date.now() > deadline) throw new Error(`the worker did not start within 120 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    peakRssMiB: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    },
    cpuMs: () => {
      // Fields 14 and 15 of /proc/<pid>/stat (after the command in parentheses): utime and stime, in clock ticks (100 a second).
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Seconds between two history event times. */
const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds ?? 0) * 1000 + Number(t?.nanos ?? 0) / 1e6;

export interface ActivitySpan {
  count: number;
  /** From the first one scheduled to the last one completed. */
  spanMs: number;
  /** Longest single activity, start to completion. */
  longestMs: number;
}

/** Activities of one type in a workflow's history: how many, and how long they took together. */
export async function activitySpan(client: Client, workflowId: string, type: string): Promise<ActivitySpan> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, number>();
  const started = new Map<string, number>();
  let first = Infinity;
  let last = 0;
  let longest = 0;
  for (const e of history.events ?? []) {
    const at = eventMs(e.eventTime);
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === type) {
      scheduled.set(String(e.eventId), at);
      first = Math.min(first, at);
    } else if (e.activityTaskStartedEventAttributes && scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId))) {
      started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
    } else if (e.activityTaskCompletedEventAttributes && scheduled.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId))) {
      const sid = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
      last = Math.max(last, at);
      longest = Math.max(longest, at - (started.get(sid) ?? scheduled.get(sid)!));
    }
  }
  return { count: scheduled.size, spanMs: scheduled.size ? last - first : 0, longestMs: longest };
}

/** Every activity type in a workflow's history, in the order first scheduled, with its span (activitySpan). */
export async function activityBreakdown(client: Client, workflowId: string): Promise<Array<{ type: string } & ActivitySpan>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const types = [...new Set((history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((t): t is string => !!t))];
  return Promise.all(types.map(async (type) => ({ type, ...(await activitySpan(client, workflowId, type)) })));
}

/** A closed workflow's wall time (start to close) and history length, from the server. */
export async function workflowFigures(client: Client, workflowId: string): Promise<{ wallMs: number; events: number }> {
  const d = await client.workflow.getHandle(workflowId).describe();
  return { wallMs: (d.closeTime?.getTime() ?? Date.now()) - d.startTime.getTime(), events: d.historyLength };
}

/**
 * `mysqldump --single-transaction <schema> [table] | mysql <target>`: the DBA's tool, timed. With
 * `targetUrl`, the dump is read from `mysqlUrl` and loaded into that other server.
 */
export async function dumpAndLoad(mysqlUrl: string, schema: string, target: string, table?: string, targetUrl = mysqlUrl): Promise<number> {
  const args = (url: string) => {
    const u = new URL(url);
    return {
      conn: ['-h', u.hostname, '-P', u.port || '3306', '-u', decodeURIComponent(u.username || 'root')],
      env: { ...process.env, MYSQL_PWD: decodeURIComponent(u.password) },
    };
  };
  const from = args(mysqlUrl);
  const to = args(targetUrl);
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const dump = spawn('mysqldump', [...from.conn, '--single-transaction', schema, ...(table ? [table] : [])], { env: from.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('mysql', [...to.conn, target], { env: to.env, stdio: ['pipe', 'ignore', 'pipe'] });
    dump.stdout!.pipe(load.stdin!);
    let err = '';
    dump.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    load.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    let open = 2;
    const done = (who: string) => (code: number | null) => {
      if (code !== 0) reject(new Error(`${who} exited with ${code}: ${err.trim()}`));
      else if (--open === 0) resolve();
    };
    dump.once('exit', done('mysqldump'));
    load.once('exit', done('mysql'));
  });
  return elapsedMs(t0);
}

/** mysqldump | mysql of each schema in turn into `anchor` (made and dropped for each): the total time. */
export async function dumpAndLoadEach(pool: Pool, mysqlUrl: string, schemas: string[], anchor: string, sourceUrl = mysqlUrl): Promise<number> {
  let total = 0;
  for (const schema of schemas) {
    await pool.query(`CREATE SCHEMA ${id(anchor)}`);
    total += await dumpAndLoad(sourceUrl, schema, anchor, undefined, mysqlUrl);
    await pool.query(`DROP SCHEMA ${id(anchor)}`);
  }
  return total;
}

/** Ends a bench tenant: its workflow, its change capture on the source, its schemas. */
export async function dropTenant(client: Client, pool: Pool, tenant: string, source: string, schemas: string[]): Promise<void> {
  await tenantHandle(client, tenant).terminate('bench done').catch(() => undefined);
  const [logs] = await pool.query<RowDataPacket[]>(`SELECT id FROM ${id(CAPTURE_SCHEMA)}.capture_table WHERE schema_name = ?`, [source]).catch(() => [[]] as unknown as [RowDataPacket[]]);
  for (const r of logs) {
    await pool.query(`DROP TABLE IF EXISTS ${id(CAPTURE_SCHEMA)}.${id(`log_${r.id}`)}`);
    await pool.query(`DELETE FROM ${id(CAPTURE_SCHEMA)}.capture_table WHERE id = ?`, [r.id]);
  }
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${id(s)}`);
  // The tenant's rows of the control tables too: a runtime key left there refuses the next bench's
  // setup (its key folder is new each run), and a target owner would refuse its target schema.
  for (const table of CONTROL_TABLE_NAMES) {
    await pool.query(`DELETE FROM ${id(CONTROL_SCHEMA)}.${id(table)} WHERE tenant = ?`, [tenant]).catch(() => undefined);
  }
}

/** The largest payload recorded in these workflows' histories (inputs, results, signals, updates, markers), in bytes, and where. */
export async function largestPayload(client: Client, workflowIds: string[], runId?: string): Promise<{ bytes: number; where: string }> {
  let best = { bytes: 0, where: 'none' };
  // Every `payloads` list anywhere in an event's attributes: the walk does not need to know each event type.
  const walk = (node: unknown, where: string): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item, where);
      return;
    }
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === 'payloads' && Array.isArray(value)) {
        const bytes = value.reduce((sum: number, p: { data?: Uint8Array | null; metadata?: Record<string, Uint8Array> | null }) =>
          sum + (p?.data?.length ?? 0) + Object.entries(p?.metadata ?? {}).reduce((m, [k, v]) => m + k.length + (v?.length ?? 0), 0), 0);
        if (bytes > best.bytes) best = { bytes, where };
      } else {
        walk(value, where);
      }
    }
  };
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id, runId).fetchHistory();
    for (const e of history.events ?? []) {
      const type = Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k]) ?? 'event';
      walk(e, `${id} event ${e.eventId} (${type.replace(/EventAttributes$/, '')})`);
    }
  }
  return best;
}

/**
 * `mydumper | myloader` with `threads` threads (the Debian package; `npm run bench` installs it when
 * it can): the parallel dump-and-load a DBA reaches for, timed end to end, one table split in chunks of
 * `chunkRows` so that every thread has work. Undefined when mydumper is not installed.
 */
export async function mydumperAndLoad(mysqlUrl: string, schema: string, target: string, table: string, threads: number, chunkRows = 100_000): Promise<number | undefined> {
  const u = new URL(mysqlUrl);
  const conn = ['-h', u.hostname, '-P', u.port || '3306', '-u', decodeURIComponent(u.username || 'root'), ...(u.password ? ['-p', decodeURIComponent(u.password)] : [])];
  const dir = mkdtempSync(join(tmpdir(), 'cm-bench-mydumper-'));
  const run = (cmd: string, args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      p.once('error', reject);
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${err.trim().split('\n').pop()}`))));
    });
  try {
    const t0 = process.hrtime.bigint();
    // mydumper 0.10 (Debian 12) takes bare table names in -T: `schema.table` silently dumps nothing.
    await run('mydumper', [...conn, '-B', schema, '-T', table, '-t', String(threads), '-r', String(chunkRows), '-o', dir]);
    await run('myloader', [...conn, '-d', dir, '-B', target, '-t', String(threads), '-o']);
    return elapsedMs(t0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
