// What change capture costs the customer's production server: a fixed OLTP-like write workload
// (sessions doing single-row INSERT / UPDATE / DELETE, each statement its own transaction, on a few
// keyed tables) run on a source server with no tenant capturing, with a triggers-mode tenant set up
// on those tables, and with a binlog-mode tenant set up; plus, as the pure baseline, the same
// workload on a second server with the binary log off. Throughput (transactions/s) and the source
// server's CPU per transaction are compared with capture off on the binlog server. The rounds are
// interleaved (each round runs every configuration, in a rotated order) and the median is reported,
// so that drift on the machine falls on all of them alike.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, type Pool } from 'mysql2/promise';
import { createTenant, runMigrationNow, waitForRun, runResult } from '../client/operations';
import { id, qualified } from '../activities/sql';
import type { RunResult } from '../lib/types';
import { type BenchContext } from './context';
import { activitySpan, dropTenant, workflowFigures } from './harness';
import { median, ms, n, times, type Section } from './report';
import { sameAcross, settleSource, withSourceServer, type AcrossCheck, type BenchSource } from './source';

const WL = {
  tenant: { triggers: 'bench_wl_triggers', binlog: 'bench_wl_binlog' },
  taskQueue: 'bench-write-load',
  connection: 'bench_wl_src',
  baselineConnection: 'bench_wl_nobinlog',
};
const TABLES = ['account', 'stock', 'orders', 'payment'];
const schemaOf = (config: Config): string => `bench_wl_${config === 'nobinlog' ? 'off' : config}`;
const targetOf = (config: 'triggers' | 'binlog'): string => `bench_wl_dst_${config}`;

type Config = 'nobinlog' | 'off' | 'triggers' | 'binlog';
const CONFIGS: Config[] = ['nobinlog', 'off', 'triggers', 'binlog'];

export interface WriteLoadSettings {
  sessions: number;
  /** Transactions per round and configuration, over all sessions. */
  operations: number;
  rounds: number;
  rowsPerTable: number;
}

export interface ConfigFigures {
  /** Median of the rounds. */
  tps: number;
  /** Every round's transactions/s, in round order. */
  rounds: number[];
  /** The source server's CPU (user + system) per transaction, median of the rounds, in µs. */
  cpuUsPerTx: number;
}

export interface CatchUp {
  /** The run after the workload: whole run, and (binlog mode) the binary log read apart from the apply. */
  runMs: number;
  stageMs?: number;
  applyMs: number;
  keys?: number;
  rowEvents?: number;
  check: AcrossCheck;
}

export interface WriteLoadFigures {
  settings: WriteLoadSettings;
  configs: Partial<Record<Config, ConfigFigures>>;
  /** Why the binlog-off baseline is missing, if it is. */
  baselineError?: string;
  catchUp: Partial<Record<'triggers' | 'binlog', CatchUp>>;
}

/** The four keyed tables of a configuration's schema, `rows` rows each. */
async function createTables(pool: Pool, schema: string, rows: number): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${id(schema)}`);
  await pool.query(`CREATE SCHEMA ${id(schema)}`);
  for (const t of TABLES) {
    await pool.query(`CREATE TABLE ${qualified(schema, t)} (
      id INT NOT NULL PRIMARY KEY,
      code VARCHAR(20) NOT NULL,
      amount DECIMAL(18,4) NOT NULL,
      note VARCHAR(100) NULL,
      changed_at DATETIME(6) NOT NULL,
      KEY by_code (code)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    for (let from = 1; from <= rows; from += 5000) {
      const values = Array.from({ length: Math.min(5000, rows - from + 1) }, (_, i) => [from + i, `C${(from + i) % 997}`, ((from + i) * 1.25).toFixed(4), (from + i) % 4 ? `row ${from + i}` : null, '2024-01-01 00:00:00']);
      await pool.query(`INSERT INTO ${qualified(schema, t)} VALUES ?`, [values]);
    }
  }
}

/** mariadbd's CPU time so far (user + system), in ms, from /proc. */
function serverCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100/s)
}

/** The source server's pid: test/source-server.ts writes it to owner.json beside the data folder. */
function serverPid(source: BenchSource): number {
  return Number(JSON.parse(readFileSync(join(source.server.dataDir, '..', 'owner.json'), 'utf8')).server);
}

/**
 * The workload: `sessions` connections, `operations` transactions in all. Every block of 10 on a
 * session goes to one table (in turn): 5 UPDATEs of a random existing row, 3 INSERTs of new keys,
 * 2 DELETEs of rows this session inserted earlier, so the tables keep their size. Keys inserted are
 * unique to the round and the session. Returns the wall time.
 */
async function workload(url: string, schema: string, s: WriteLoadSettings, round: number): Promise<number> {
  const conns = await Promise.all(Array.from({ length: s.sessions }, () => createConnection({ uri: url })));
  try {
    const perSession = Math.ceil(s.operations / s.sessions);
    const t0 = process.hrtime.bigint();
    await Promise.all(
      conns.map(async (conn, session) => {
        let seed = (round * 7919 + session * 104729 + 1) >>> 0;
        const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
        const inserted: number[][] = TABLES.map(() => []);
        let next = 1_000_000 * (round + 1) + session * 100_000;
        const todo = Math.min(perSession, s.operations - session * perSession);
        for (let k = 0; k < todo; k++) {
          const ti = Math.floor(k / 10) % TABLES.length;
          const table = qualified(schema, TABLES[ti]);
          const kind = k % 10;
          if (kind < 5) {
            await conn.query(`UPDATE ${table} SET amount = amount + ?, note = ?, changed_at = NOW(6) WHERE id = ?`, [
              (random() * 100).toFixed(2), `updated in round ${round}`, 1 + Math.floor(random() * s.rowsPerTable),
            ]);
          } else if (kind < 8) {
            const key = ++next;
            await conn.query(`INSERT INTO ${table} (id, code, amount, note, changed_at) VALUES (?, ?, ?, ?, NOW(6))`, [key, `N${key % 997}`, (random() * 1000).toFixed(4), `inserted in round ${round}`]);
            inserted[ti].push(key);
          } else {
            await conn.query(`DELETE FROM ${table} WHERE id = ?`, [inserted[ti].shift()]);
          }
        }
      }),
    );
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
  }
}

export async function benchWriteLoad(ctx: BenchContext, settings: Partial<WriteLoadSettings> = {}): Promise<WriteLoadFigures> {
  const s: WriteLoadSettings = { sessions: 8, operations: 20_000, rounds: 5, rowsPerTable: 10_000, ...settings };
  const h = await ctx.harness();
  const figures: WriteLoadFigures = { settings: s, configs: {}, catchUp: {} };
  const drop = async () => {
    for (const mode of ['triggers', 'binlog'] as const) await dropTenant(h.client, ctx.pool, WL.tenant[mode], schemaOf(mode), [targetOf(mode)]);
  };
  ctx.log(`write load: ${s.sessions} sessions, ${n(s.operations)} single-row transactions × ${s.rounds} rounds per configuration, ${TABLES.length} tables of ${n(s.rowsPerTable)} rows…`);
  await withSourceServer(WL.connection, ctx.log, async (src) => {
    // The binlog-off baseline is a server of its own; if it cannot start, the other three still run.
    const baseline = async (fn: (b?: BenchSource) => Promise<void>) => {
      let started = false;
      try {
        await withSourceServer(WL.baselineConnection, ctx.log, (b) => ((started = true), fn(b)), { binlog: false });
      } catch (err) {
        if (started) throw err; // it failed while measuring, not while starting
        figures.baselineError = err instanceof Error ? err.message.split('\n')[0] : String(err);
        ctx.log(`  the binlog-off baseline server did not start: ${figures.baselineError}`);
        await fn(undefined);
      }
    };
    await baseline(async (nobinlog) => {
      await drop();
      const worker = await h.worker(WL.taskQueue); // inherits CM_CONN_BENCH_WL_SRC_URL
      try {
        if (nobinlog) await createTables(nobinlog.pool, schemaOf('nobinlog'), s.rowsPerTable);
        for (const c of ['off', 'triggers', 'binlog'] as const) await createTables(src.pool, schemaOf(c), s.rowsPerTable);

        // Both tenants set up and through their first run (the full copy) before anything is timed.
        for (const mode of ['triggers', 'binlog'] as const) {
          const { status } = await createTenant(h.client, WL.taskQueue, {
            tenant: WL.tenant[mode],
            sourceConnection: WL.connection,
            captureMode: mode,
            companies: [{ source: schemaOf(mode), target: targetOf(mode) }],
            requestedBy: 'bench',
          });
          if (status.status !== 'Ready') throw new Error(`${mode} tenant setup ended ${status.status}: ${status.setupError ?? ''}`);
          if (status.capture?.mode !== mode) throw new Error(`the ${mode} tenant captures by ${status.capture?.mode ?? 'triggers'}`);
          const run = await runMigrationNow(h.client, WL.tenant[mode], { requestedBy: 'bench' });
          const entry = await waitForRun(h.client, WL.tenant[mode], run);
          if (entry.status !== 'Completed') throw new Error(`the ${mode} tenant's first run ended ${entry.status}: ${entry.failure ?? ''}`);
        }
        ctx.log('  tenants set up (triggers, binlog) and copied; the rounds…');

        const configs = CONFIGS.filter((c) => c !== 'nobinlog' || nobinlog);
        const tps: Record<string, number[]> = {};
        const cpu: Record<string, number[]> = {};
        const pids = { src: serverPid(src), nobinlog: nobinlog ? serverPid(nobinlog) : 0 };
        for (let round = 0; round < s.rounds; round++) {
          const order = configs.map((_, i) => configs[(i + round) % configs.length]);
          for (const c of order) {
            const server = c === 'nobinlog' ? nobinlog! : src;
            const pid = c === 'nobinlog' ? pids.nobinlog : pids.src;
            await settleSource(server);
            const cpu0 = serverCpuMs(pid);
            const wall = await workload(server.server.url, schemaOf(c), s, round);
            const cpuMs = serverCpuMs(pid) - cpu0;
            (tps[c] ??= []).push((s.operations / wall) * 1000);
            (cpu[c] ??= []).push((cpuMs * 1000) / s.operations);
            ctx.log(`    round ${round + 1} ${c.padEnd(8)} ${((s.operations / wall) * 1000).toFixed(0)} tx/s (${ms(wall)}; server CPU ${((cpuMs * 1000) / s.operations).toFixed(0)} µs/tx)`);
          }
        }
        for (const c of configs) figures.configs[c] = { tps: median(tps[c]), rounds: tps[c], cpuUsPerTx: median(cpu[c]) };

        // What the tenants captured arrives with their next run, whole.
        for (const mode of ['triggers', 'binlog'] as const) {
          const run = await runMigrationNow(h.client, WL.tenant[mode], { requestedBy: 'bench', reason: 'after the write load' });
          const entry = await waitForRun(h.client, WL.tenant[mode], run);
          if (entry.status !== 'Completed') throw new Error(`the ${mode} tenant's run after the load ended ${entry.status}: ${entry.failure ?? ''}`);
          const result = await runResult(h.client, run.workflowId);
          figures.catchUp[mode] = {
            runMs: (await workflowFigures(h.client, run.workflowId)).wallMs,
            stageMs: mode === 'binlog' ? (await activitySpan(h.client, run.workflowId, 'stageChanges')).longestMs : undefined,
            applyMs: (await activitySpan(h.client, run.workflowId, 'migrateTables')).spanMs,
            keys: result.capture?.keys,
            rowEvents: result.capture?.rowEvents,
            check: await sameAcross(src.pool, schemaOf(mode), ctx.pool, targetOf(mode), TABLES, true),
          };
          const cu = figures.catchUp[mode]!;
          ctx.log(`  ${mode} tenant's run after the load: ${ms(cu.runMs)}${cu.stageMs !== undefined ? ` (binlog read ${ms(cu.stageMs)}, ${cu.keys ?? '?'} keys)` : ''}; target equals source: ${cu.check.equal ? 'yes' : `NO (${cu.check.differing.join(', ')})`}`);
        }
      } finally {
        await worker.stop();
        await drop();
      }
    });
  });
  return figures;
}

export function writeLoadSection(f: WriteLoadFigures): Section {
  const s = f.settings;
  const off = f.configs.off;
  const label: Record<Config, string> = {
    nobinlog: 'binary log **off**, no capture (pure baseline, a second server)',
    off: 'binary log on, capture off (no tenant)',
    triggers: 'binary log on, a triggers-mode tenant set up (3 triggers + a log table per table)',
    binlog: 'binary log on, a binlog-mode tenant set up (between runs)',
  };
  const rows = CONFIGS.filter((c) => f.configs[c]).map((c) => {
    const v = f.configs[c]!;
    const ratio = off ? v.tps / off.tps : NaN;
    const cpuRatio = off ? v.cpuUsPerTx / off.cpuUsPerTx : NaN;
    return `| ${label[c]} | ${n(Math.round(v.tps))} tx/s | ${c === 'off' ? 'the reference' : `${times(ratio)} capture off's throughput`}; source server CPU ${v.cpuUsPerTx.toFixed(0)} µs/tx${c === 'off' ? '' : ` (${times(cpuRatio)})`}; rounds ${v.rounds.map((r) => r.toFixed(0)).join(', ')} | (cost to production) | |`;
  });
  const catchUp = (['triggers', 'binlog'] as const).filter((m) => f.catchUp[m]).map((m) => {
    const c = f.catchUp[m]!;
    return `| ${m}-mode tenant's run after the load (${n(s.operations * s.rounds)} transactions on its tables) | ${ms(c.runMs)} | ${c.stageMs !== undefined ? `reading the binary log ${ms(c.stageMs)} (the log of every configuration's rounds; ${c.rowEvents !== undefined ? `${n(c.rowEvents)} row events on its tables, ` : ''}${c.keys !== undefined ? `${n(c.keys)} distinct keys staged` : ''}), ` : ''}applying ${ms(c.applyMs)}; target equals source (CHECKSUM TABLE and row digest, each server): ${c.check.equal ? 'yes' : `**no** (${c.check.differing.join(', ')})`} | equal | ${c.check.equal ? 'met' : '**missed**'} |`;
  });
  const trig = f.configs.triggers && off ? f.configs.triggers.tps / off.tps : undefined;
  const bin = f.configs.binlog && off ? f.configs.binlog.tps / off.tps : undefined;
  const nob = f.configs.nobinlog && off ? off.tps / f.configs.nobinlog.tps : undefined;
  return {
    heading: `Write load on the source: capture off, triggers, binlog (${s.sessions} sessions, ${n(s.operations)} transactions)`,
    rows: [...rows, ...catchUp],
    notes: [
      `The workload: ${s.sessions} sessions on the source server, ${n(s.operations)} single-row transactions per round (autocommit: each statement its own transaction), ` +
        `on ${TABLES.length} tables of ${n(s.rowsPerTable)} rows keyed by an INT primary key with one secondary index: per 10 statements on a session, 5 UPDATEs of a random row, 3 INSERTs of new keys and 2 DELETEs of rows it inserted. ` +
        `Each configuration has a schema of its own on the source server; the ${s.rounds} rounds each run every configuration, in a rotated order, and the table gives the median round (every round listed). ` +
        'The bench process drives the sessions on the same 2 cores as the server, so throughput is what the pair manages; the source server\'s CPU per transaction (mariadbd utime + stime from /proc during the round, divided by the transactions) is the cost on the server alone.',
      'The binary log is on in the three main configurations (ROW format, full row images and metadata, sync_binlog=0, innodb_flush_log_at_trx_commit=2): binlog mode needs it, and a server that replicates already writes it. ' +
        (nob !== undefined
          ? `What the binary log itself costs shows against the binlog-off baseline, a second server started the same way without --log-bin: with the log on, ${times(nob)} its throughput and ` +
            `${times(off!.cpuUsPerTx / f.configs.nobinlog!.cpuUsPerTx)} its server CPU per transaction` +
            (nob >= 1 ? ' (a throughput at or above the baseline\'s is the noise of this machine: the CPU per transaction is the steadier measure).' : '.')
          : `The binlog-off baseline is missing${f.baselineError ? ` (${f.baselineError})` : ''}.`),
      (trig !== undefined ? `Triggers mode: ${times(trig)} capture off's throughput; every row change also writes a row into the tenant's log table on the source, inside the same transaction. ` : '') +
        (bin !== undefined
          ? `Binlog mode: ${times(bin)} (server CPU per transaction ${times(f.configs.binlog!.cpuUsPerTx / off!.cpuUsPerTx)}). Between runs a binlog-mode tenant has nothing on the source (no trigger, no table, no session): ` +
            'its workload runs exactly as with capture off, so the difference between those two rows is the noise of this machine (other work on its 2 cores, the bench process itself), the yardstick for the other ratios; ' +
            'its cost to the source is the binary log itself (above) and, while a run reads, one replication session reading the log files (not measured here: the runs happen after the rounds, so the worker\'s CPU stays out of them).'
          : ''),
      'After the rounds each tenant ran once: the triggers tenant drained its log tables, the binlog tenant read the binary log written during all the rounds; both targets were then compared with the source. ' +
        'The binlog tenant\'s read is the longer one because the binary log holds every write on the server: the other configurations\' schemas, and the triggers\' log rows too, about four times its own tables\' changes here. ' +
        'On a production server the read grows with all its writes, not only the migrated schemas\'.',
    ],
  };
}
