// Scenario 3: Verify Now on the ledger the full copy scenario copied (1,000,000 rows): cm's
// verification through the real workflow (the verification child workflow, table-diff.ts's
// 128-bit chunk checksums), beside the full copy of the same table and a pt-table-checksum-style
// chunk checksum done by hand in the same run, with the load each puts on the server.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { verifyNow, waitForVerification } from '../client/operations';
import { readTable } from '../activities/introspect';
import { id, qualified } from '../activities/sql';
import { diffTable } from '../activities/table-diff';
import { DEFAULT_VERIFY } from '../lib/constants';
import type { BenchContext } from './context';
import { activitySpan, elapsedMs, settle, workflowFigures } from './harness';
import { LEDGER, type CopiedLedger } from './full-copy';
import { ms, n, times, verdict, type Section } from './report';

/** What the server did during one pass: counter deltas (SHOW GLOBAL STATUS) and CPU seconds. */
export interface ServerLoad {
  /** Innodb_rows_read where the server has it (MySQL; MariaDB 10.11 dropped it), else MariaDB's Rows_read (temporary tables excluded). */
  rowsRead: number;
  rowsReadCounter: string;
  handlerReadNext: number;
  handlerReadRndNext: number;
  handlerTmpWrite: number;
  /** InnoDB page reads: logical (buffer pool read requests) and from disk. */
  pageRequests: number;
  pagesFromDisk: number;
  /** mariadbd's utime + stime, seconds; undefined when its process could not be told apart. */
  serverCpuS?: number;
  /** The process that drove the pass (the worker, or the bench itself), utime + stime, seconds. */
  clientCpuS?: number;
}

export interface Pass {
  ms: number;
  chunks: number;
  rows: number;
  equal: boolean;
  load: ServerLoad;
}

export interface VerifyFigures {
  /** Rows verified (the source's rows, as cm counted them). */
  rows: number;
  chunkRows: number;
  /** cm: Verify Now → the verification child workflow, start → close (server timestamps). */
  cm: Pass & { status: string; clientMs: number; activityMs: number; pauses: number };
  /** table-diff.ts's diffTable called in the bench process: the engine without Temporal or the worker. */
  engine: Pass;
  /** pt-table-checksum's row expression, same chunks, by hand. */
  hand: Pass;
  /** The full copy of the same ledger: its copy activities (first scheduled → last completed), and the whole run. */
  fullCopyMs: number;
  fullCopyRunMs: number;
  /** How mariadbd's pid was found, or why its CPU was not measured. */
  serverCpuNote: string;
}

const COUNTERS = [
  'Innodb_rows_read', 'Rows_read', 'Handler_read_next', 'Handler_read_rnd_next', 'Handler_tmp_write', 'Innodb_buffer_pool_read_requests', 'Innodb_pages_read',
] as const;
type Counters = Partial<Record<(typeof COUNTERS)[number], number>>;

async function counters(pool: Pool): Promise<Counters> {
  const [rows] = await pool.query<RowDataPacket[]>(`SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => '?').join(', ')})`, [...COUNTERS]);
  return Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
}

const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 (state) on
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** The mariadbd (or mysqld) listening on the bench's port, when it is on this machine and unambiguous. */
function serverPid(url: string): { pid?: number; note: string } {
  const u = new URL(url);
  const port = u.port || '3306';
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname)) return { note: `the server (${u.hostname}) is not on this machine: its CPU was not measured` };
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const pids = [...new Set([...out.matchAll(/"(?:mariadbd|mysqld)",pid=(\d+)/g)].map((m) => Number(m[1])))];
    if (pids.length === 1) return { pid: pids[0], note: `mariadbd pid ${pids[0]}, the one listening on port ${port} (ss -ltnp)` };
  } catch {
    // no ss, or no permission to see processes: try pidof
  }
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const pids = execFileSync('pidof', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split(/\s+/).filter(Boolean);
      if (pids.length === 1) return { pid: Number(pids[0]), note: `${name} pid ${pids[0]}, the only one running (pidof)` };
      if (pids.length > 1) return { note: `${pids.length} ${name} processes and none seen listening on port ${port}: server CPU not measured` };
    } catch {
      // not running under this name
    }
  }
  return { note: 'no mariadbd/mysqld process found: server CPU not measured' };
}

/** Runs one pass, with the server's counters and CPU (and the driving process's CPU) around it. */
async function measured<T>(pool: Pool, server: number | undefined, client: number | undefined, fn: () => Promise<T>): Promise<{ ms: number; value: T; load: ServerLoad }> {
  const c0 = await counters(pool);
  const s0 = cpuSeconds(server);
  const p0 = cpuSeconds(client);
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const wall = elapsedMs(t0);
  const s1 = cpuSeconds(server);
  const p1 = cpuSeconds(client);
  const c1 = await counters(pool);
  const d = (c: (typeof COUNTERS)[number]): number => (c1[c] ?? 0) - (c0[c] ?? 0);
  const rowsReadCounter = c0.Innodb_rows_read !== undefined ? 'Innodb_rows_read' : 'Rows_read';
  return {
    ms: wall,
    value,
    load: {
      rowsRead: d(rowsReadCounter),
      rowsReadCounter,
      handlerReadNext: d('Handler_read_next'),
      handlerReadRndNext: d('Handler_read_rnd_next'),
      handlerTmpWrite: d('Handler_tmp_write'),
      pageRequests: d('Innodb_buffer_pool_read_requests'),
      pagesFromDisk: d('Innodb_pages_read'),
      serverCpuS: s0 !== undefined && s1 !== undefined ? s1 - s0 : undefined,
      clientCpuS: p0 !== undefined && p1 !== undefined ? p1 - p0 : undefined,
    },
  };
}

/**
 * pt-table-checksum's chunk checksum, by hand, one chunk at a time: bounds by keyset on the source
 * (the chunk's last key is the chunkRows-th key after the previous bound), then
 * COUNT(*) and BIT_XOR(CRC32(CONCAT_WS('#', columns…, CONCAT(ISNULL(nullable columns…))))) over the
 * key range on source and target, the two queries at the same time as cm's engine does.
 */
async function handChecksum(pool: Pool, chunkRows: number): Promise<{ chunks: number; rows: number; equal: boolean }> {
  const { source, target, table } = LEDGER;
  const meta = await readTable(pool, source, table);
  if (!meta || meta.primaryKey.length !== 1) throw new Error(`${source}.${table}: the by-hand checksum needs a one-column primary key`);
  const k = id(meta.primaryKey[0]);
  const cols = meta.columns.filter((c) => !c.generated);
  const nulls = cols.filter((c) => c.nullable).map((c) => `ISNULL(${id(c.name)})`);
  const row = `CONCAT_WS('#', ${[...cols.map((c) => id(c.name)), ...(nulls.length ? [`CONCAT(${nulls.join(', ')})`] : [])].join(', ')})`;
  const sum = `SELECT COUNT(*) AS cnt, COALESCE(LOWER(CONV(BIT_XOR(CAST(CRC32(${row}) AS UNSIGNED)), 10, 16)), 0) AS crc`;
  const src = qualified(source, table);
  const dst = qualified(target, table);
  let lo: unknown;
  let chunks = 0;
  let rows = 0;
  let equal = true;
  for (;;) {
    const [bound] = await pool.query<RowDataPacket[]>(
      `SELECT ${k} AS k FROM ${src}${lo === undefined ? '' : ` WHERE ${k} > ?`} ORDER BY ${k} LIMIT 1 OFFSET ${chunkRows - 1}`,
      lo === undefined ? [] : [lo],
    );
    const hi: unknown = bound.length ? bound[0].k : undefined;
    const where = [lo === undefined ? '' : `${k} > ?`, hi === undefined ? '' : `${k} <= ?`].filter(Boolean).join(' AND ') || '1 = 1';
    const params = [lo, hi].filter((v) => v !== undefined);
    const [[s], [t]] = await Promise.all([
      pool.query<RowDataPacket[]>(`${sum} FROM ${src} WHERE ${where}`, params),
      pool.query<RowDataPacket[]>(`${sum} FROM ${dst} WHERE ${where}`, params),
    ]);
    chunks++;
    rows += Number(s[0].cnt);
    if (Number(s[0].cnt) !== Number(t[0].cnt) || String(s[0].crc) !== String(t[0].crc)) equal = false;
    if (hi === undefined) return { chunks, rows, equal };
    lo = hi;
  }
}

export async function benchVerify(ctx: BenchContext, copied: CopiedLedger): Promise<VerifyFigures> {
  const { pool } = ctx;
  const h = await ctx.harness();
  const { source, target, table, tenant } = LEDGER;
  const chunkRows = DEFAULT_VERIFY.chunkRows;
  const server = serverPid(ctx.url);
  const worker = copied.worker.child.pid;

  ctx.log('verify: cm\'s Verify Now through the workflow…');
  await settle(pool, ctx.log);
  const cmRun = await measured(pool, server.pid, worker, async () => {
    const started = await verifyNow(h.client, tenant, { requestedBy: 'bench', reason: 'verification benchmark' });
    return { started, result: await waitForVerification(h.client, tenant, started, undefined, 250) };
  });
  const { started, result } = cmRun.value;
  const verified = result.tables.find((t) => t.key === `${source}.${table}`) ?? result.tables[0];
  if (!verified) throw new Error('the verification compared no table');
  const wf = await workflowFigures(h.client, started.workflowId);
  const activity = await activitySpan(h.client, started.workflowId, 'verifyTables');
  ctx.log(`    ${ms(wf.wallMs)} (client ${ms(cmRun.ms)}), ${result.status}, ${n(verified.rowsCompared)} rows in ${n(verified.chunks)} chunks`);
  if (result.status !== 'Equal') {
    const why = result.tables.map((t) => `${t.key} ${t.status}${t.error ? `: ${t.error}` : ''}${t.examples.length ? ` (${t.examples.join(', ')})` : ''}`).join('; ');
    throw new Error(`the verification ended ${result.status}, not Equal: ${why}`);
  }

  ctx.log('  the engine alone (diffTable in the bench process, no workflow)…');
  const meta = await readTable(pool, source, table);
  if (!meta) throw new Error(`${source}.${table} is missing`);
  await settle(pool, ctx.log);
  const engineRun = await measured(pool, server.pid, process.pid, () =>
    diffTable({ sourcePool: pool, sourceSchema: source, targetPool: pool, targetSchema: target, table, source: meta, chunkRows }),
  );
  const e = engineRun.value;
  const engineEqual = e.missing + e.extra + e.different === 0 && e.definition.length === 0;
  ctx.log(`    ${ms(engineRun.ms)}, ${engineEqual ? 'equal' : 'DIFFERS'}`);

  ctx.log('  anchor: pt-table-checksum-style chunk checksum by hand…');
  await settle(pool, ctx.log);
  const handRun = await measured(pool, server.pid, process.pid, () => handChecksum(pool, chunkRows));
  ctx.log(`    ${ms(handRun.ms)}, ${handRun.value.equal ? 'equal' : 'DIFFERS'} (${n(handRun.value.chunks)} chunks)`);
  if (!handRun.value.equal) throw new Error('the by-hand checksum found the copy different, while cm\'s verification found it equal');

  return {
    rows: verified.rowsCompared,
    chunkRows,
    cm: {
      ms: wf.wallMs, clientMs: cmRun.ms, activityMs: activity.spanMs, chunks: verified.chunks, rows: verified.rowsCompared,
      equal: true, status: result.status, pauses: verified.pauses, load: cmRun.load,
    },
    engine: { ms: engineRun.ms, chunks: e.chunks, rows: e.rowsCompared, equal: engineEqual, load: engineRun.load },
    hand: { ms: handRun.ms, ...handRun.value, load: handRun.load },
    fullCopyMs: copied.figures.copySpanMs,
    fullCopyRunMs: copied.figures.runWallMs,
    serverCpuNote: server.note,
  };
}

const perRow = (v: number, rows: number): string => (v / rows).toFixed(2);
const cpu = (s: number | undefined): string => (s === undefined ? 'n/a' : `${s.toFixed(1)} s`);

export function verifySection(f: VerifyFigures): Section {
  const vsCopy = f.cm.ms / f.fullCopyMs;
  const vsHand = f.cm.ms / f.hand.ms;
  const engineVsHand = f.engine.ms / f.hand.ms;
  const workflowMs = f.cm.ms - f.engine.ms;
  const counter = f.cm.load.rowsReadCounter;
  const loadRow = (what: string, p: Pass): string =>
    `| ${what} | ${n(p.load.rowsRead)} rows read (${perRow(p.load.rowsRead, f.rows)} per row verified); mariadbd CPU ${cpu(p.load.serverCpuS)} | ` +
    `Handler_read_next ${n(p.load.handlerReadNext)} (${perRow(p.load.handlerReadNext, f.rows)}/row), Handler_read_rnd_next ${n(p.load.handlerReadRndNext)} (${perRow(p.load.handlerReadRndNext, f.rows)}/row), ` +
    `Handler_tmp_write ${n(p.load.handlerTmpWrite)}; InnoDB pages ${n(p.load.pageRequests)} requested, ${n(p.load.pagesFromDisk)} from disk | (context) | |`;
  const serverCpuRatio = f.cm.load.serverCpuS !== undefined && f.hand.load.serverCpuS ? f.cm.load.serverCpuS / f.hand.load.serverCpuS : undefined;
  const engineServerCpuRatio = f.engine.load.serverCpuS !== undefined && f.hand.load.serverCpuS ? f.engine.load.serverCpuS / f.hand.load.serverCpuS : undefined;
  const workflowText = Math.abs(workflowMs) < 0.1 * f.engine.ms
    ? `the workflow around it (the activity, a heartbeat and a Threads_running probe per chunk) costs nothing measurable (${workflowMs >= 0 ? '+' : ''}${ms(workflowMs)} against the engine alone, within this machine's noise)`
    : workflowMs > 0
      ? `the workflow around it (the activity, a heartbeat and a Threads_running probe per chunk) adds ${ms(workflowMs)}`
      : `the engine alone took ${ms(-workflowMs)} longer than the workflow here: run-to-run noise on a shared machine, the workflow adds nothing measurable`;
  return {
    heading: `Verify Now: the ${n(f.rows)}-row ledger compared with its copy`,
    rows: [
      `| cm's verification (Verify Now → verification child workflow, start → close): ${n(f.cm.rows)} rows in ${n(f.cm.chunks)} chunks of ${n(f.chunkRows)}, result **${f.cm.status}** | ${ms(f.cm.ms)} | full copy activities ${ms(f.fullCopyMs)}: ${times(vsCopy)} | ≤ 1× the full copy | ${verdict(vsCopy <= 1, times(vsCopy - 1))} |`,
      `| same, against the pt-table-checksum-style chunk checksum by hand | ${ms(f.cm.ms)} | by hand ${ms(f.hand.ms)}: ${times(vsHand)} | ≤ 1.5× | ${verdict(vsHand <= 1.5, times(vsHand - 1.5))} |`,
      `| by hand: the same 1,000-row keyset chunks, \`COUNT(*), BIT_XOR(CRC32(CONCAT_WS('#', …)))\` on source and target, one chunk at a time | ${ms(f.hand.ms)} | ${n(f.hand.chunks)} chunks, ${n(f.hand.rows)} rows, every chunk equal: ${f.hand.equal ? 'yes' : '**no**'} | (anchor) | |`,
      `| the engine alone (table-diff.ts \`diffTable\` called in the bench process: no workflow, no worker, no throttle probe) | ${ms(f.engine.ms)} | ${times(engineVsHand)} by hand; the workflow's ${ms(f.cm.ms)} is ${times(f.cm.ms / f.engine.ms)} this | (context) | |`,
      `| the verification as the operator sees it (verifyNow → waitForVerification returned; the verifyTables activity ${ms(f.cm.activityMs)}, ${f.cm.pauses} throttle pauses) | ${ms(f.cm.clientMs)} | the whole full copy run ${ms(f.fullCopyRunMs)}: ${times(f.cm.clientMs / f.fullCopyRunMs)} | (context) | |`,
      loadRow('server load during cm\'s verification', f.cm),
      loadRow('server load during the engine alone', f.engine),
      loadRow('server load during the by-hand checksum', f.hand),
      '| server load during the full copy | not sampled | the copy scenario does not read the counters around its workflow run alone (its anchors run on the same server just before) | (context) | |',
      `| CPU of the process driving the pass | worker ${cpu(f.cm.load.clientCpuS)} (cm) | bench process: engine alone ${cpu(f.engine.load.clientCpuS)}, by hand ${cpu(f.hand.load.clientCpuS)} | (context) | |`,
    ],
    notes: [
      'Source and target schemas are on the same MariaDB server here, so every counter and CPU figure covers both sides of the comparison at once: ' +
        'a comparison reads each row twice (once per side) and the chunk bounds walk the source\'s keys once more (`LIMIT 1 OFFSET 999`), so 3 index rows per row verified (Handler_read_next) is what this method costs, whoever runs it. ' +
        `Rows read is \`${counter}\`${counter === 'Rows_read' ? ' (MariaDB 10.11 has no Innodb_rows_read; Rows_read counts the rows read from tables, temporary tables excluded)' : ''}. ` +
        `Counters are \`SHOW GLOBAL STATUS\` deltas around each pass (anything else the server did meanwhile counts too); CPU is utime + stime from /proc/<pid>/stat (${f.serverCpuNote}).`,
      'The by-hand anchor is pt-table-checksum\'s own row expression (`CONCAT_WS(\'#\', every column, CONCAT(ISNULL(each nullable column)))`, CRC32, BIT_XOR) over the same keyset chunks, run as SQL from the bench; ' +
        'pt-table-checksum itself is not used: it checksums on the source only and needs replication to carry its statements to the target. ' +
        'Like cm\'s engine, each chunk\'s two checksums run at the same time on two sessions, and the chunks run one after another.',
      vsCopy <= 1
        ? `Against the full copy: the verification took ${times(vsCopy)} the copy activities' time, so the target is met.`
        : `Against the full copy: the verification took ${times(vsCopy)} the copy activities' time, so the target is missed. ` +
          (f.hand.ms < f.fullCopyMs
            ? `The same chunks with pt-table-checksum's cheap expression took ${times(f.hand.ms / f.fullCopyMs)} the copy, so reading both sides fits well within it: the gap is cm's per-row hash (next paragraph). `
            : `Even the by-hand checksum took ${times(f.hand.ms / f.fullCopyMs)} the copy here. `) +
          'The copy also splits the table into key ranges copied in parallel, while a verification compares one table in one activity, a chunk at a time (its concurrency is across tables).',
      vsHand <= 1.5
        ? `Against the by-hand checksum: ${times(vsHand)}, within the 1.5× target.`
        : `Against the by-hand checksum: ${times(vsHand)}, so the 1.5× target is missed. Both read the same rows with the same chunks and round trips (the Handler_read_next rows above agree), and ${workflowText}; ` +
          `the engine alone already takes ${times(engineVsHand)} the by-hand time${engineServerCpuRatio !== undefined ? ` and ${times(engineServerCpuRatio)} its mariadbd CPU` : ''}, so the gap is the SQL each chunk runs on the server. ` +
          'Per row, cm builds a length-prefixed encoding of all 14 columns, evaluating each column\'s conversion twice (once for LENGTH, once for the bytes: CAST … AS CHAR, CONVERT … USING utf8mb4 AS BINARY, and for the three DECIMAL(38,20) and the DATETIME(3) columns a double TRIM of fraction zeros), takes its MD5, ' +
          `then cuts the hex digest into two 64-bit halves with SUBSTRING and CONV for two BIT_XORs, and materialises each chunk's hashes in a temporary table so the MD5 is computed once (Handler_tmp_write ${n(f.cm.load.handlerTmpWrite)}, one per row per side, read back as Handler_read_rnd_next); ` +
          'pt-table-checksum\'s CRC32 of a plain CONCAT_WS does none of that. ' +
          (serverCpuRatio !== undefined ? `mariadbd spent ${times(serverCpuRatio)} the CPU on cm's verification that it spent on the by-hand pass. ` : '') +
          'What the engine buys with it: a 128-bit hash of an unambiguous, collation-independent encoding that is equal for equal values on MariaDB and MySQL (widened DECIMAL/DATETIME compare by value), where a 32-bit CRC of a \'#\'-joined string can collide and follows each server\'s text.',
      `Rows read per row verified (${counter}): cm ${perRow(f.cm.load.rowsRead, f.rows)}, the engine alone ${perRow(f.engine.load.rowsRead, f.rows)}, by hand ${perRow(f.hand.load.rowsRead, f.rows)}.`,
    ],
  };
}
